#pragma once
// The start-up error of the whole agent: bad flag, unreadable or invalid configuration or
// kubeconfig. Whoever catches it prints what() and exits 1. It lives here, at the bottom of the
// dependency graph that agent/ builds on, so that there is one such type.

#include <stdexcept>

namespace k8swatch {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace k8swatch
