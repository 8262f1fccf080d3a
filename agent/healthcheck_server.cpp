#include "agent/healthcheck_server.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace agent {

struct HealthCheckServer::Shared {
  Shared(const HealthState& h, AgentMetrics& m) : health(h), metrics(m) {}
  const HealthState& health;
  AgentMetrics& metrics;
  mutable std::mutex mutex;
  std::map<std::uint16_t, HealthCheckService> ports;
};

HealthCheckServer::HealthCheckServer(HttpService& http, std::vector<ipvs::IpAddress> bindIps,
                                     const HealthState& health, AgentMetrics& metrics, Logger log)
    : http_(http),
      bindIps_(std::move(bindIps)),
      log_(log.withComponent("healthcheck")),
      metrics_(metrics),
      shared_(std::make_shared<Shared>(health, metrics)) {
  if (bindIps_.empty()) bindIps_.push_back(*ipvs::IpAddress::parse("0.0.0.0"));
}

HealthCheckServer::~HealthCheckServer() { listeners_.clear(); }

std::string healthCheckBody(const ipvs::ObjectKey& service, int localEndpoints, bool proxyHealthy) {
  const auto q = [](const std::string& s) {
    return boost::json::serialize(boost::json::string(s));
  };
  return "{\n\t\"service\": {\n\t\t\"namespace\": " + q(service.ns) +
         ",\n\t\t\"name\": " + q(service.name) +
         "\n\t},\n\t\"localEndpoints\": " + std::to_string(localEndpoints) +
         ",\n\t\"serviceProxyHealthy\": " + (proxyHealthy ? "true" : "false") + "\n}";
}

HttpRoutes HealthCheckServer::routesFor(std::uint16_t port) const {
  HttpRoutes routes;
  routes.fallback = [shared = shared_, port](const HttpRequest&) {
    HealthCheckService svc;
    {
      std::lock_guard lock(shared->mutex);
      const auto it = shared->ports.find(port);
      if (it == shared->ports.end()) {  // closing: kube-proxy answers nothing useful either
        return HttpResponse{404, "text/plain; charset=utf-8", {}, "health check closed\n"};
      }
      svc = it->second;
    }
    const bool proxyHealthy = shared->health.isHealthy();
    const bool ok = svc.localEndpoints > 0 && proxyHealthy;
    shared->metrics.healthCheckRequests.labels({ok ? "200" : "503"}).inc();
    HttpResponse r;
    r.status = ok ? 200 : 503;
    r.contentType = "application/json";
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("X-Load-Balancing-Endpoint-Weight", std::to_string(svc.localEndpoints));
    r.body = healthCheckBody(svc.service, svc.localEndpoints, proxyHealthy);
    return r;
  };
  return routes;
}

std::vector<HealthCheckBindError> HealthCheckServer::sync(
    const std::map<std::uint16_t, HealthCheckService>& ports) {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->ports = ports;
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (ports.count(it->first)) {
      ++it;
      continue;
    }
    log_.v(2, "closing health check port", {{"port", it->first}});
    it = listeners_.erase(it);  // HttpServer destructors close the listeners
  }
  std::vector<HealthCheckBindError> errors;
  for (const auto& [port, svc] : ports) {
    if (listeners_.count(port)) continue;
    std::vector<std::unique_ptr<HttpServer>> servers;
    std::error_code failure;
    for (const auto& ip : bindIps_) {
      HttpLimits limits;
      limits.onRejected = httpRejectHook(metrics_, "healthcheck");
      auto server = HttpServer::listen(http_, BindAddress{ip, port}, routesFor(port), limits);
      if (!server) {
        failure = server.error();
        break;  // the ones already opened close with `servers`
      }
      servers.push_back(std::move(*server));
    }
    if (failure) {
      log_.error("failed to start health check",
                 {{"service", svc.service.str()}, {"port", port}, {"err", failure}});
      metrics_.httpBindErrors.labels({"healthcheck"}).inc();
      errors.push_back({port, svc.service, failure});
      continue;
    }
    log_.v(2, "opened health check port", {{"service", svc.service.str()}, {"port", port}});
    listeners_[port] = std::move(servers);
  }
  return errors;
}

std::vector<std::uint16_t> HealthCheckServer::openPorts() const {
  std::vector<std::uint16_t> out;
  for (const auto& [port, servers] : listeners_) out.push_back(port);
  return out;
}

}  // namespace agent
