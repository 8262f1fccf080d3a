// detect-local-mode NodeCIDR as kube-proxy runs it: the start waits for the Node's podCIDRs
// (through the real watch client against the local API server, or a manifest source), fails
// after the timeout, and a later change of the podCIDRs ends the agent.
#include "agent/pod_cidr_gate.h"

#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/file_source.h"
#include "agent/node_context_builder.h"
#include "agent/sync_reporter.h"
#include "ipvs/memory_dataplane.h"
#include "k8swatch/watcher.h"
#include "reconcile/change_queue.h"
#include "reconcile/host_rules.h"
#include "reconcile/sync_loop.h"
#include "tests/apiserver/server.h"

using namespace std::chrono_literals;
using agent::PodCidrGate;

namespace {

constexpr char kNodeName[] = "node-a";

// A liveness bound only, never asserted as a duration.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 3000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// A wait's stop predicate that gives up after a liveness bound (about 30 s of 5 ms polls), so
// that a gate that never opens fails the test (kStopped) instead of hanging it.
std::function<bool()> giveUpLater() {
  return [calls = 0]() mutable { return ++calls > 6000; };
}

std::string nodeJson(const std::string& podCIDRs) {
  return R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"node-a"},"spec":{)" +
         (podCIDRs.empty() ? std::string() : R"("podCIDRs":)" + podCIDRs) +
         R"(},"status":{"addresses":[{"type":"InternalIP","address":"192.168.1.10"}]}})";
}

void applyNode(fakeapi::FakeApiServer& server, const std::string& podCIDRs) {
  server.apply(boost::json::parse(nodeJson(podCIDRs)).as_object());
}

void applyService(fakeapi::FakeApiServer& server) {
  server.apply(boost::json::parse(R"({"apiVersion":"v1","kind":"Service",
    "metadata":{"name":"web","namespace":"ns"},
    "spec":{"type":"ClusterIP","clusterIP":"10.96.0.10","clusterIPs":["10.96.0.10"],
            "ipFamilies":["IPv4"],"ports":[{"name":"http","protocol":"TCP","port":80}]}})")
                   .as_object());
}

struct LogLines {
  std::mutex mutex;
  std::vector<std::string> lines;
  agent::Logger log{agent::Logger::Options{0,
                                           [this](std::string_view line) {
                                             std::lock_guard lock(mutex);
                                             lines.emplace_back(line);
                                           },
                                           {}}};
  // The one line containing `text`, or "" (none, or more than one).
  std::string only(const std::string& text) {
    std::lock_guard lock(mutex);
    std::string found;
    int count = 0;
    for (const auto& l : lines) {
      if (l.find(text) != std::string::npos) {
        found = l;
        ++count;
      }
    }
    return count == 1 ? found : "";
  }
};

// The iptables inputs of each restore, per family.
struct RecordingIptables final : ipvs::IptablesPort {
  std::vector<ipvs::IptablesRuleInputs> restores;
  ipvs::Result<void> sync(const ipvs::IptablesRuleInputs& in) override {
    restores.push_back(in);
    return {};
  }
  ipvs::Result<void> cleanup(ipvs::Family, ipvs::CleanupScope) override { return {}; }
  ipvs::Result<bool> supportsRandomFully() override { return true; }
};

// The watch client against the local API server, feeding the queue through the gate.
struct ApiHarness {
  fakeapi::FakeApiServer server{{}};
  ipvs::ManualClock clock;
  LogLines log;
  reconcile::ChangeQueue queue;
  std::atomic<int> restarts{0};
  PodCidrGate gate{queue, {kNodeName, 5min, false}, clock, log.log, [this] { ++restarts; }};
  std::unique_ptr<k8swatch::Watcher> watcher;

  ApiHarness() { server.start(); }
  void startWatcher() {
    k8swatch::ClusterConfig config;
    config.server = server.url();
    k8swatch::WatcherOptions options;
    options.nodeName = kNodeName;
    options.backoff.initial = 1ms;
    options.log = [](k8swatch::LogLevel, const std::string&) {};
    watcher = std::make_unique<k8swatch::Watcher>(config, options, gate);
    watcher->start();
  }
  ~ApiHarness() {
    if (watcher) watcher->stop();
  }
};

// The Node changes the queue holds.
std::vector<ipvs::Node> queuedNodes(reconcile::ChangeQueue& queue) {
  std::vector<ipvs::Node> nodes;
  for (auto& change : queue.take().changes) {
    if (auto* n = std::get_if<ipvs::Node>(&change)) nodes.push_back(*n);
  }
  return nodes;
}

}  // namespace

TEST_CASE(
    "NodeCIDR: the start waits for the Node's podCIDRs, unhealthy, then the detector uses "
    "the first podCIDR of each family",
    "[pod_cidr_gate]") {
  ApiHarness h;
  applyNode(h.server, "");
  applyService(h.server);
  h.startWatcher();
  agent::MetricsRegistry registry;
  agent::AgentMetrics metrics(registry);
  agent::HealthState health(60s, h.clock);  // 2 x syncPeriod

  std::atomic<bool> waited{false};
  std::atomic<PodCidrGate::Outcome> outcome{PodCidrGate::Outcome::kStopped};
  std::thread waiter([&] {
    outcome = h.gate.wait(giveUpLater(), &health, 5ms);
    waited = true;
  });
  REQUIRE(eventually([&] { return h.queue.allSynced(); }));  // the Node is listed, without CIDRs
  CHECK_FALSE(waited);
  CHECK(health.isHealthy());  // as before any first sync, until the owed sync is late
  h.clock.advance(61s);
  CHECK_FALSE(health.isHealthy());
  CHECK_FALSE(health.status().lastUpdated);
  CHECK_FALSE(waited);

  applyNode(h.server, R"(["10.244.1.0/24","fd00:10:244:1::/64","10.99.0.0/24"])");
  REQUIRE(eventually([&] { return waited.load(); }));
  waiter.join();
  CHECK(outcome == PodCidrGate::Outcome::kReady);
  CHECK(h.log.only("waiting for the Node's spec.podCIDRs") != "");
  CHECK(h.log.only("the Node has podCIDRs")
            .find("podCIDRs=10.244.1.0/24,fd00:10:244:1::/64,10.99.0.0/24") != std::string::npos);
  CHECK(h.restarts == 0);

  // What the agent does next: its first sync, with the node context built from the Node.
  agent::Config config;
  config.detectLocalMode = "NodeCIDR";
  const auto nodeContext = [&config](const ipvs::Node* node) {
    agent::NodeInputs in;
    in.nodeName = kNodeName;
    in.node = node;
    in.families = {ipvs::Family::kV4, ipvs::Family::kV6};
    return agent::buildNodeContext(config, in).context;
  };
  ipvs::MemoryDataplane kernel;
  reconcile::Reconciler reconciler(kernel, {nodeContext(nullptr), std::nullopt, {}});
  RecordingIptables iptables;
  reconcile::HostRules hostRules(iptables, {{ipvs::Family::kV4, ipvs::Family::kV6}});
  agent::SyncReporter reporter(h.log.log, metrics, health, nullptr);
  reconcile::SyncLoop loop(reconciler, h.queue, reporter, &hostRules, h.clock,
                           {30s, 0ms, kNodeName, nodeContext, std::nullopt, std::nullopt});
  loop.syncOnce(true);

  CHECK(kernel.state().virtualServers.size() == 1);
  REQUIRE(iptables.restores.size() == 2);
  for (const auto& in : iptables.restores) {
    CHECK(in.localDetector.ifNotLocal(in.family) ==
          (in.family == ipvs::Family::kV4 ? "! -s 10.244.1.0/24" : "! -s fd00:10:244:1::/64"));
  }
  CHECK(health.isHealthy());
  CHECK(health.status().lastUpdated);
}

TEST_CASE("NodeCIDR: no podCIDRs within the timeout fails the start with kube-proxy's message",
          "[pod_cidr_gate]") {
  ApiHarness h;
  applyNode(h.server, "");
  h.startWatcher();
  REQUIRE(eventually([&] { return h.queue.allSynced(); }));
  h.clock.advance(5min);

  CHECK(h.gate.wait(giveUpLater(), nullptr, 5ms) == PodCidrGate::Outcome::kTimedOut);
  const std::string line =
      h.log.only("timeout waiting for PodCIDR allocation to configure detect-local-mode NodeCIDR");
  CHECK(line.find("level=error") != std::string::npos);
  CHECK(line.find("node=node-a") != std::string::npos);
  CHECK(line.find("does not have any PodCIDR allocated") != std::string::npos);
  CHECK(h.gate.podCIDRs().empty());
}

TEST_CASE("NodeCIDR: a signal during the wait stops it without an error", "[pod_cidr_gate]") {
  ApiHarness h;
  CHECK(h.gate.wait([] { return true; }, nullptr) == PodCidrGate::Outcome::kStopped);
  CHECK(h.log.only("level=error") == "");
}

TEST_CASE("NodeCIDR: changed podCIDRs after the start end the agent, other Node changes do not",
          "[pod_cidr_gate]") {
  ApiHarness h;
  applyNode(h.server, R"(["10.244.1.0/24"])");
  h.startWatcher();
  REQUIRE(h.gate.wait(giveUpLater(), nullptr, 5ms) == PodCidrGate::Outcome::kReady);
  REQUIRE(eventually([&] { return h.queue.allSynced(); }));
  CHECK(queuedNodes(h.queue).size() == 1);

  // The same podCIDRs with another address: forwarded, no restart.
  h.server.apply(boost::json::parse(R"({"apiVersion":"v1","kind":"Node",
    "metadata":{"name":"node-a"},"spec":{"podCIDRs":["10.244.1.0/24"]},
    "status":{"addresses":[{"type":"InternalIP","address":"192.168.1.11"}]}})")
                     .as_object());
  REQUIRE(eventually([&] { return h.queue.pending() > 0; }));
  CHECK(queuedNodes(h.queue).size() == 1);
  CHECK(h.restarts == 0);

  applyNode(h.server, R"(["10.244.7.0/24"])");
  REQUIRE(eventually([&] { return h.restarts > 0; }));
  CHECK(h.gate.changed());
  const std::string line = h.log.only("current Node PodCIDRs are different than previous PodCIDRs");
  CHECK(line.find("level=error") != std::string::npos);
  CHECK(line.find("restarting") != std::string::npos);
  CHECK(line.find("newPodCIDRs=10.244.7.0/24") != std::string::npos);
  CHECK(line.find("oldPodCIDRs=10.244.1.0/24") != std::string::npos);
  CHECK(queuedNodes(h.queue).empty());  // the new CIDRs are never programmed

  h.watcher->stop();
  ipvs::Node again;  // a further change: neither logged nor reported again
  again.name = kNodeName;
  h.gate.nodeUpdated(again);
  CHECK(h.restarts == 1);
  CHECK(queuedNodes(h.queue).empty());
}

TEST_CASE("NodeCIDR with --source: a manifest Node without podCIDRs is an error at once",
          "[pod_cidr_gate]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("pod-cidr-gate-" + std::to_string(getpid()));
  fs::create_directories(dir);
  ipvs::ManualClock clock;
  LogLines log;
  reconcile::ChangeQueue queue;
  const auto run = [&](const std::string& podCIDRs) {
    std::ofstream(dir / "node.json") << nodeJson(podCIDRs);
    PodCidrGate gate(queue, {kNodeName, 5min, true}, clock, log.log, {});
    agent::FileSource source(dir, gate, log.log);
    source.start();
    const auto outcome = gate.wait(giveUpLater(), nullptr, 5ms);
    source.stop();
    return outcome;
  };

  CHECK(run("") == PodCidrGate::Outcome::kNotListed);
  const std::string line = log.only("detect-local-mode NodeCIDR needs the Node's spec.podCIDRs");
  CHECK(line.find("level=error") != std::string::npos);
  CHECK(line.find("node=node-a") != std::string::npos);

  CHECK(run(R"(["10.244.1.0/24"])") == PodCidrGate::Outcome::kReady);
  fs::remove_all(dir);
}
