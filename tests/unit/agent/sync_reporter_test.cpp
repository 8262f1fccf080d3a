// SyncReporter publishes kube-proxy's sync timestamps and /healthz state from the injected clock:
// the wall times are the ManualClock's, never the machine's.

#include "agent/sync_reporter.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "ipvs/clock.h"
#include "ipvs/desired_state.h"
#include "reconcile/cluster_cache.h"

using namespace agent;
using namespace std::chrono_literals;

namespace {

constexpr double kWallStart = 1714558830.0;  // ipvs::ManualClock::kDefaultWall in unix seconds

struct Harness {
  ipvs::ManualClock clock;
  MetricsRegistry registry;
  AgentMetrics metrics{registry};
  HealthState health{60s, clock};
  SyncReporter reporter{Logger(Logger::Options{0, [](std::string_view) {}, &clock}), metrics,
                        health, nullptr};
  ipvs::DesiredState desired;
  reconcile::ClusterCache cluster;

  void sync(bool observeFailed = false) {
    reconcile::SyncReport report(desired, cluster);
    report.started = clock.now();
    report.finished = clock.now();
    report.result.observeFailed = observeFailed;
    reporter.synced(report);
  }
};

}  // namespace

TEST_CASE("the queued and last-sync timestamps are the injected clock's wall time",
          "[sync_reporter]") {
  Harness h;
  h.reporter.changesQueued();
  CHECK(h.metrics.syncProxyRulesLastQueuedTimestamp.value() == kWallStart);
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == 0);

  h.clock.advance(2s);
  h.sync();
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == kWallStart + 2);
  CHECK(h.metrics.syncProxyRulesLastQueuedTimestamp.value() == kWallStart);
  CHECK(h.health.status().lastUpdated == ipvs::ManualClock::kDefaultWall + 2s);
}

TEST_CASE("a sync that could not read the kernel leaves the timestamp and health pending",
          "[sync_reporter]") {
  Harness h;
  h.sync();
  h.reporter.changesQueued();
  h.clock.advance(61s);
  h.sync(true);
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == kWallStart);
  CHECK_FALSE(h.health.isHealthy());  // queued 61 s ago, past the 60 s timeout
  h.sync();
  CHECK(h.health.isHealthy());
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == kWallStart + 61);
}
