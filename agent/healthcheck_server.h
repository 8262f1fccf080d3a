#pragma once
// Service health check node ports (kube-proxy's ServiceHealthServer): for each Service with
// externalTrafficPolicy Local and a healthCheckNodePort, an HTTP listener on that port answers
// every path with
//   {"service": {"namespace": "ns", "name": "svc"}, "localEndpoints": N, "serviceProxyHealthy": B}
// (kube-proxy's tab-indented layout), header X-Load-Balancing-Endpoint-Weight: N, and status 200
// when N > 0 and the proxy is healthy, else 503. N counts local ready endpoints only.
//
// Threading: sync() may be called from any one thread (the reconciler's); requests are answered
// on the HttpService thread and read the counts under a mutex. Ownership: owns its listeners;
// `health` and `metrics` must outlive it. Errors: a port that cannot be bound is logged once per
// sync (component healthcheck), counted in ipvs_agent_http_bind_errors_total{server=
// "healthcheck"}, returned, and retried at the next sync, as kube-proxy does.
// Metrics: ipvs_agent_health_check_requests_total{code}, and refused requests and connections
// (see http_server.h) in ipvs_agent_http_rejected_total{server="healthcheck",reason}.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

#include "agent/health.h"
#include "agent/http_server.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "ipvs/address.h"
#include "ipvs/model.h"

namespace agent {

// The metric HealthCheckServer counts (registered in agent/metrics.cpp).
inline constexpr char kMetricHealthCheckRequests[] = "ipvs_agent_health_check_requests_total";

struct HealthCheckService {
  ipvs::ObjectKey service;
  int localEndpoints = 0;  // local, ready endpoints (terminating ones do not count)
  bool operator==(const HealthCheckService&) const = default;
};

struct HealthCheckBindError {
  std::uint16_t port = 0;
  ipvs::ObjectKey service;
  std::error_code error;
};

class HealthCheckServer {
 public:
  // `bindIps`: node IPs matching nodePortAddresses; empty means all addresses (0.0.0.0).
  HealthCheckServer(HttpService& http, std::vector<ipvs::IpAddress> bindIps,
                    const HealthState& health, AgentMetrics& metrics, Logger log);
  ~HealthCheckServer();
  HealthCheckServer(const HealthCheckServer&) = delete;
  HealthCheckServer& operator=(const HealthCheckServer&) = delete;

  // The complete desired set, keyed by node port. Opens new ports, closes ports no longer
  // present, and updates names and counts of the others in place (no reopen).
  std::vector<HealthCheckBindError> sync(const std::map<std::uint16_t, HealthCheckService>& ports);

  std::vector<std::uint16_t> openPorts() const;

 private:
  struct Shared;

  HttpRoutes routesFor(std::uint16_t port) const;

  HttpService& http_;
  std::vector<ipvs::IpAddress> bindIps_;
  Logger log_;
  AgentMetrics& metrics_;
  std::shared_ptr<Shared> shared_;  // read by the handlers
  std::map<std::uint16_t, std::vector<std::unique_ptr<HttpServer>>> listeners_;  // sync thread
};

// kube-proxy's body for one answer (exposed for tests and for the lead's debugging output).
std::string healthCheckBody(const ipvs::ObjectKey& service, int localEndpoints, bool proxyHealthy);

}  // namespace agent
