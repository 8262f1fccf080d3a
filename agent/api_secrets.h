#pragma once
// Keeps the API client's bearer tokens out of the agent's logs, as log.h promises: every token
// the client loads (the kubeconfig's static token at once, each new token-file value before it is
// sent) is registered with the logger's masking. Thread-safe: the hook runs on the watcher's
// threads and Logger::addSecret takes the logger's lock.

#include <string>

#include "agent/log.h"
#include "k8swatch/kubeconfig.h"

namespace agent {

inline k8swatch::ClusterConfig withMaskedTokens(k8swatch::ClusterConfig config, Logger log) {
  config.onToken = [log](const std::string& token) mutable { log.addSecret(token); };
  return config;
}

}  // namespace agent
