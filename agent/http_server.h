#pragma once
// A small HTTP/1.1 server (Boost.Beast) for the healthz, metrics and Service health check ports.
//
// Threading: an HttpService owns one io_context and the one thread that runs it; every server
// created on it accepts, parses and calls its handlers on that thread. Handlers therefore must be
// quick and thread-safe with respect to the rest of the agent (they read atomics, mutex-guarded
// state or the metrics registry). listen() binds on the caller's thread, so bind errors come
// back synchronously; close() may be called from any thread and returns once the listener and
// its connections are closed.
// Ownership: servers hold the service's internals alive, but must be closed or destroyed before
// the HttpService itself is destroyed (its destructor stops the thread).
// Errors: listen() returns the bind error (EADDRINUSE, EACCES...). Bad requests never reach a
// handler: malformed -> 400, headers too large -> 431, body too large -> 413, each followed by
// closing the connection; a handler that throws gives 500. Idle connections time out.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/config.h"
#include "ipvs/result.h"

namespace agent {

struct HttpRequest {
  std::string method;  // "GET", ...
  std::string target;  // as sent: "/healthz?verbose"
  std::string path;    // target without the query: "/healthz"
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpRoutes {
  std::map<std::string, HttpHandler> exact;  // path -> handler
  HttpHandler fallback;                      // any other path; unset: 404
};

struct HttpLimits {
  std::uint32_t headerBytes = 8 * 1024;
  std::uint64_t bodyBytes = 64 * 1024;
  std::chrono::seconds idleTimeout{30};
  std::size_t maxConnections = 128;  // further connections are closed at once
};

class HttpService {
 public:
  HttpService();   // starts the thread
  ~HttpService();  // stops the thread; close servers first
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  struct Impl;

 private:
  friend class HttpServer;
  std::shared_ptr<Impl> impl_;
};

class HttpServer {
 public:
  // Binds `address` (port 0: an ephemeral port) and starts accepting.
  [[nodiscard]] static ipvs::Result<std::unique_ptr<HttpServer>> listen(HttpService& service,
                                                                        const BindAddress& address,
                                                                        HttpRoutes routes,
                                                                        HttpLimits limits = {});

  // Like listen(), but a bind failure is reported to `onBindError` and retried every
  // `retryEvery` on the service thread until it succeeds or the server is closed: kube-proxy's
  // behaviour for its healthz and metrics servers when bindAddressHardFail is false.
  static std::unique_ptr<HttpServer> listenWithRetry(
      HttpService& service, const BindAddress& address, HttpRoutes routes,
      std::chrono::milliseconds retryEvery, std::function<void(std::error_code)> onBindError,
      HttpLimits limits = {});

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;  // the bound port; 0 while a retrying server is not bound yet
  bool bound() const { return port() != 0; }
  void close();  // idempotent

  struct Core;

 private:
  explicit HttpServer(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace agent
