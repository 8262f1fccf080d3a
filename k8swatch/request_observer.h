#pragma once
// RequestObserver: how the HTTP client reports each API request it makes, so that the agent can
// count them as client-go's rest_client_* metrics without k8swatch depending on agent/.
// Threading: called on the connection's executor (the Watcher's thread); implementations must
// be thread-safe if shared. Ownership: ApiEndpoint borrows the observer.

#include <chrono>
#include <string_view>

namespace k8swatch {

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // One request, when its response headers arrived or it failed. `code` is the HTTP status
  // ("200") or "<error>" when no response arrived, as client-go labels it; `host` is the URL's
  // host[:port]; `latency` runs from sending (after the rate limiter) to the headers or error.
  virtual void requestDone(std::string_view method, std::string_view host, std::string_view code,
                           std::chrono::duration<double> latency) = 0;
};

}  // namespace k8swatch
