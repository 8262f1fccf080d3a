// rest_client_* through the real watch client against the local API server: the requests the
// Watcher makes show up in /metrics with their status codes.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "agent/metrics.h"
#include "k8swatch/watcher.h"
#include "reconcile/change_queue.h"
#include "tests/apiserver/server.h"

namespace {

double sampleValue(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// Polls `pred` on fresh renders: a liveness bound only, never asserted as a duration.
template <class Pred>
bool waitForText(const agent::MetricsRegistry& registry, Pred pred) {
  for (int i = 0; i < 3000; ++i) {
    if (pred(registry.render())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("rest_client metrics count the watch client's requests by status code",
          "[metrics][rest_client]") {
  fakeapi::FakeApiServer server({});
  server.start();
  server.fault(fakeapi::Fault::kStatus, 1, 500);  // the first LIST fails, then it is retried

  agent::MetricsRegistry registry;
  agent::AgentMetrics metrics(registry);
  agent::RestClientMetrics observer(metrics);
  reconcile::ChangeQueue queue;
  k8swatch::ClusterConfig config;
  config.server = server.url();
  k8swatch::WatcherOptions options;
  options.observer = &observer;
  options.backoff.initial = std::chrono::milliseconds(1);
  options.backoff.jitter = 0;
  options.log = [](k8swatch::LogLevel, const std::string&) {};
  k8swatch::Watcher watcher(config, options, queue);
  watcher.start();

  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  const std::string ok =
      R"(rest_client_requests_total{code="200",host=")" + host + R"(",method="GET"})";
  const std::string failed =
      R"(rest_client_requests_total{code="500",host=")" + host + R"(",method="GET"})";
  // Two LISTs (Services, EndpointSlices) and their two WATCHes answer 200.
  REQUIRE(waitForText(registry, [&](const std::string& t) { return sampleValue(t, ok) >= 4; }));
  watcher.stop();
  const std::string text = registry.render();
  CHECK(sampleValue(text, failed) == 1);
  const std::string count =
      R"(rest_client_request_duration_seconds_count{host=")" + host + R"(",verb="GET"})";
  CHECK(sampleValue(text, count) == sampleValue(text, ok) + 1);
}
