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
// handler: malformed -> 400, chunked body -> 411, headers too large -> 431, body too large
// (any body, by default: these endpoints are GET-only) -> 413, each followed by closing the
// connection; a handler that throws gives 500. Each such refusal, a header deadline missed and a
// connection closed to make room is reported to HttpLimits::onRejected.
// Memory: every connection holds at most headerBytes + a few KiB of unparsed input and
// bodyBytes of body, and there are at most maxConnections of them.
// Abuse: a connection must deliver a complete header within headerTimeout of being accepted (or
// of its previous answer); at the connection cap the connection that has waited longest for a
// header is closed to admit the new one, so idle sockets cannot lock probes out.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/config.h"
#include "ipvs/result.h"

namespace agent {

// The metrics of the HTTP listeners (registered in agent/metrics.cpp): bind failures, counted by
// whoever listens (run.cpp's status servers, HealthCheckServer), and HttpLimits::onRejected
// refusals, counted through httpRejectHook().
inline constexpr char kMetricHttpBindErrors[] = "ipvs_agent_http_bind_errors_total";
inline constexpr char kMetricHttpRejected[] = "ipvs_agent_http_rejected_total";

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
  std::uint64_t bodyBytes = 0;                    // the agent's endpoints are GET-only
  std::chrono::milliseconds headerTimeout{5000};  // accept (or last answer) -> complete header
  std::chrono::milliseconds ioTimeout{30000};     // reading a body, writing an answer
  std::size_t maxConnections = 128;
  // Called on the service thread with a reason: "malformed", "chunked", "header_too_large",
  // "body_too_large", "header_timeout", "evicted" (closed at the cap), "over_capacity" (refused:
  // every connection was busy with a request). Must be quick and not throw.
  std::function<void(std::string_view reason)> onRejected;
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
