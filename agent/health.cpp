#include "agent/health.h"

#include <cstdio>
#include <ctime>

namespace agent {
namespace {

HttpResponse json(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.contentType = "application/json";
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.body = std::move(body);
  return r;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

HealthState::HealthState(Duration healthTimeout, const ipvs::Clock& clock)
    : timeout_(healthTimeout), clock_(clock) {}

void HealthState::queuedUpdate() {
  const auto at = clock_.now();
  std::lock_guard lock(mutex_);
  if (!oldestPending_) oldestPending_ = at;
}

void HealthState::updated() {
  const auto at = clock_.wallNow();
  std::lock_guard lock(mutex_);
  oldestPending_.reset();
  lastUpdated_ = at;
}

void HealthState::setNodeEligible(bool eligible) {
  std::lock_guard lock(mutex_);
  nodeEligible_ = eligible;
}

HealthState::Status HealthState::status() const {
  Status s;
  s.now = clock_.wallNow();
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  s.nodeEligible = nodeEligible_;
  s.lastUpdated = lastUpdated_;
  // Healthy while starting up or fully synced, or while the pending update is not late yet.
  s.healthy = !oldestPending_ || now - *oldestPending_ < timeout_;
  return s;
}

std::string formatGoTime(std::optional<std::chrono::system_clock::time_point> t) {
  if (!t) return "0001-01-01 00:00:00 +0000 UTC";
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count();
  std::int64_t secs = ns / 1'000'000'000;
  std::int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const auto tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (frac != 0) {  // ".999999999": trailing zeros dropped
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + " +0000 UTC";
}

HttpRoutes healthzRoutes(const HealthState& health, AgentMetrics& metrics) {
  HttpRoutes routes;
  routes.exact["/healthz"] = [&health, &metrics](const HttpRequest&) {
    const auto s = health.status();
    const bool healthy = s.healthy && s.nodeEligible;
    metrics.proxyHealthzTotal.labels({healthy ? "200" : "503"}).inc();
    // As upstream: a healthy answer reports lastUpdated = now, for older clients.
    const auto lastUpdated = healthy ? std::optional(s.now) : s.lastUpdated;
    return json(healthy ? 200 : 503,
                "{\"lastUpdated\": " + quoted(formatGoTime(lastUpdated)) +
                    ",\"currentTime\": " + quoted(formatGoTime(s.now)) +
                    ", \"nodeEligible\": " + (s.nodeEligible ? "true" : "false") + "}");
  };
  routes.exact["/livez"] = [&health, &metrics](const HttpRequest&) {
    const auto s = health.status();
    metrics.proxyLivezTotal.labels({s.healthy ? "200" : "503"}).inc();
    const auto lastUpdated = s.healthy ? std::optional(s.now) : s.lastUpdated;
    return json(s.healthy ? 200 : 503, "{\"lastUpdated\": " + quoted(formatGoTime(lastUpdated)) +
                                           ",\"currentTime\": " + quoted(formatGoTime(s.now)) +
                                           "}");
  };
  return routes;
}

HttpRoutes metricsRoutes(const MetricsRegistry& registry, std::string configz) {
  HttpRoutes routes;
  routes.exact["/metrics"] = [&registry](const HttpRequest&) {
    HttpResponse r;
    r.contentType = std::string(MetricsRegistry::kContentType);
    r.body = registry.render();
    return r;
  };
  routes.exact["/healthz"] = [](const HttpRequest&) {
    HttpResponse r;
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.body = "ok";
    return r;
  };
  routes.exact["/proxyMode"] = [](const HttpRequest&) {
    HttpResponse r;
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.body = "ipvs";
    return r;
  };
  routes.exact["/configz"] = [body = std::move(configz)](const HttpRequest&) {
    return json(200, body);
  };
  return routes;
}

}  // namespace agent
