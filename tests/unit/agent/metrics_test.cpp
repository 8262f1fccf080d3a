#include "agent/metrics.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/metrics_process.h"
#include "agent/metrics_registry.h"

using namespace agent;

TEST_CASE("Values print as Go's FormatFloat(v, 'g', -1, 64)", "[metrics]") {
  CHECK(formatMetricValue(0) == "0");
  CHECK(formatMetricValue(5) == "5");
  CHECK(formatMetricValue(-3) == "-3");
  CHECK(formatMetricValue(0.25) == "0.25");
  CHECK(formatMetricValue(0.001) == "0.001");
  CHECK(formatMetricValue(0.0001) == "0.0001");
  CHECK(formatMetricValue(0.00001) == "1e-05");
  CHECK(formatMetricValue(100000) == "100000");
  CHECK(formatMetricValue(1e6) == "1e+06");
  CHECK(formatMetricValue(1234567) == "1.234567e+06");
  CHECK(formatMetricValue(1714557630.5) == "1.7145576305e+09");
  CHECK(formatMetricValue(16.384) == "16.384");
  CHECK(formatMetricValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(formatMetricValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(formatMetricValue(std::nan("")) == "NaN");
}

TEST_CASE("Text exposition: sorted families, sorted series, escaping", "[metrics]") {
  MetricsRegistry r;
  auto& requests =
      r.counterFamily("z_requests_total", "Requests.\nSecond line \\ end", {"path", "code"});
  requests.labels({"/b", "200"}).inc();
  requests.labels({"/a", "503"}).inc(2);
  requests.labels({"/a", "200"}).inc();
  requests.labels({"say \"hi\"\n", "200"}).inc();
  r.gauge("a_gauge", "A gauge.").set(-1.5);
  r.counter("m_counter_total", "Unlabelled counter.");
  r.gaugeFamily("b_unused", "Never used.", {"x"});

  CHECK(r.render() ==
        "# HELP a_gauge A gauge.\n"
        "# TYPE a_gauge gauge\n"
        "a_gauge -1.5\n"
        "# HELP m_counter_total Unlabelled counter.\n"
        "# TYPE m_counter_total counter\n"
        "m_counter_total 0\n"
        "# HELP z_requests_total Requests.\\nSecond line \\\\ end\n"
        "# TYPE z_requests_total counter\n"
        "z_requests_total{code=\"200\",path=\"/a\"} 1\n"
        "z_requests_total{code=\"200\",path=\"/b\"} 1\n"
        "z_requests_total{code=\"200\",path=\"say \\\"hi\\\"\\n\"} 1\n"
        "z_requests_total{code=\"503\",path=\"/a\"} 2\n");
}

TEST_CASE("Histograms print cumulative buckets, +Inf, sum and count", "[metrics]") {
  MetricsRegistry r;
  auto& h = r.histogram("op_seconds", "Op latency.", {0.1, 1, 10});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(3);
  h.observe(100);
  auto& byKind = r.histogramFamily("kind_seconds", "By kind.", {"kind"}, {1});
  byKind.labels({"x"}).observe(0.5);

  CHECK(r.render() ==
        "# HELP kind_seconds By kind.\n"
        "# TYPE kind_seconds histogram\n"
        "kind_seconds_bucket{kind=\"x\",le=\"1\"} 1\n"
        "kind_seconds_bucket{kind=\"x\",le=\"+Inf\"} 1\n"
        "kind_seconds_sum{kind=\"x\"} 0.5\n"
        "kind_seconds_count{kind=\"x\"} 1\n"
        "# HELP op_seconds Op latency.\n"
        "# TYPE op_seconds histogram\n"
        "op_seconds_bucket{le=\"0.1\"} 2\n"
        "op_seconds_bucket{le=\"1\"} 2\n"
        "op_seconds_bucket{le=\"10\"} 3\n"
        "op_seconds_bucket{le=\"+Inf\"} 4\n"
        "op_seconds_sum 103.15\n"
        "op_seconds_count 4\n");
}

TEST_CASE("Counters only go up, and registering twice returns the same metric", "[metrics]") {
  MetricsRegistry r;
  Counter& c = r.counter("c_total", "c");
  c.inc(3);
  c.inc(-1);
  CHECK(c.value() == 3);
  CHECK(&r.counter("c_total", "c") == &c);
  CHECK_THROWS_AS(r.gauge("c_total", "c"), std::logic_error);
  auto& fam = r.counterFamily("f_total", "f", {"a", "b"});
  CHECK(&fam.labels({"1", "2"}) == &fam.labels({"1", "2"}));
  CHECK(&fam.labels({"1"}) == &fam.labels({"1", ""}));  // padded, never a crash
}

TEST_CASE("Concurrent updates are not lost", "[metrics]") {
  MetricsRegistry r;
  auto& fam = r.counterFamily("hits_total", "hits", {"t"});
  auto& h = r.histogram("h", "h", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        fam.labels({std::to_string(t % 2)}).inc();
        h.observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(fam.labels({"0"}).value() == 20000);
  CHECK(fam.labels({"1"}).value() == 20000);
  CHECK(h.snapshot().count == 40000);
}

TEST_CASE("kube-proxy's metric names and buckets are registered", "[metrics]") {
  MetricsRegistry r;
  AgentMetrics m(r);
  m.syncProxyRulesDuration.observe(0.003);
  m.noLocalEndpoints.labels({"external"}).set(2);
  m.netlinkOperations.labels({"add_service", "ok"}).inc();
  m.rejectedObjects.labels({"Service", "bad_port"}).inc();
  m.virtualServers.labels({"rr"}).set(7);
  const std::string text = r.render();

  const auto sync = m.syncProxyRulesDuration.snapshot();
  REQUIRE(sync.upperBounds.size() == 15);
  CHECK(sync.upperBounds.front() == 0.001);
  CHECK(sync.upperBounds.back() == Approx(16.384));
  CHECK(text.find("kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.002\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.004\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"16.384\"} 1\n") !=
        std::string::npos);

  const auto np = m.networkProgrammingDuration.snapshot().upperBounds;
  // component-base's MergeBuckets starts with a 0 bucket, so kube-proxy prints le="0" first.
  REQUIRE(np.size() == 1 + 2 + 59 + 12 + 7);
  CHECK(np[0] == 0);
  CHECK(np[1] == 0.25);
  CHECK(np[2] == 0.5);
  CHECK(np[3] == 1);
  CHECK(np[61] == 59);
  CHECK(np[62] == 60);
  CHECK(np[73] == 115);
  CHECK(np[74] == 120);
  CHECK(np.back() == 300);
  CHECK(text.find("kubeproxy_network_programming_duration_seconds_bucket{le=\"0\"} 0\n"
                  "kubeproxy_network_programming_duration_seconds_bucket{le=\"0.25\"} 0\n") !=
        std::string::npos);

  for (const char* line :
       {"# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n",
        "# HELP kubeproxy_sync_proxy_rules_duration_seconds [ALPHA] SyncProxyRules latency in "
        "seconds\n",
        "# TYPE kubeproxy_network_programming_duration_seconds histogram\n",
        "kubeproxy_sync_proxy_rules_last_timestamp_seconds 0\n",
        "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds 0\n",
        "kubeproxy_sync_proxy_rules_endpoint_changes_pending 0\n",
        "kubeproxy_sync_proxy_rules_endpoint_changes_total 0\n",
        "kubeproxy_sync_proxy_rules_service_changes_pending 0\n",
        "kubeproxy_sync_proxy_rules_service_changes_total 0\n",
        "# TYPE kubeproxy_sync_proxy_rules_no_local_endpoints_total gauge\n",
        "kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"external\"} 2\n",
        "kubeproxy_sync_proxy_rules_iptables_restore_failures_total 0\n",
        "ipvs_agent_netlink_operations_total{kind=\"add_service\",result=\"ok\"} 1\n",
        "ipvs_agent_rejected_objects_total{reason=\"bad_port\",resource=\"Service\"} 1\n",
        "ipvs_agent_graceful_termination_queue_length 0\n",
        "ipvs_agent_virtual_servers{scheduler=\"rr\"} 7\n"}) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
}

TEST_CASE("The log hook counts warn and error lines by component", "[metrics]") {
  MetricsRegistry r;
  AgentMetrics m(r);
  Logger log(Logger::Options{0, [](std::string_view) {}, {}});
  log.setErrorHook(logErrorHook(m));
  log.withComponent("reconciler").error("sync failed");
  log.withComponent("reconciler").error("sync failed again");
  log.withComponent("watch").warn("stream dropped");
  log.info("fine");
  CHECK(m.logErrors.labels({"reconciler", "error"}).value() == 2);
  CHECK(m.logErrors.labels({"watch", "warn"}).value() == 1);
  CHECK(r.render().find(
            "ipvs_agent_log_errors_total{component=\"reconciler\",level=\"error\"} 2\n") !=
        std::string::npos);
}

TEST_CASE("process metrics: /proc/self/stat is parsed after the last ')' of the command",
          "[metrics]") {
  // pid (comm) state ppid ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24) ...
  const std::string stat =
      "4242 (ipvs) (agent x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 150 0 0 20 0 3 0 "
      "123400 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  const auto p = agent::parseProcStat(stat, 100, 4096);
  REQUIRE(p);
  CHECK(p->cpuSeconds == 4.0);
  CHECK(p->virtualBytes == 104857600.0);
  CHECK(p->residentBytes == 2560.0 * 4096);
  CHECK(p->startTicks == 123400.0);
  CHECK_FALSE(agent::parseProcStat("4242 (truncated) S 1 2 3", 100, 4096));
  CHECK_FALSE(agent::parseProcStat("no parenthesis", 100, 4096));
  CHECK(agent::parseBootTime("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n") == 1700000000.0);
  CHECK_FALSE(agent::parseBootTime("cpu  1 2 3\n"));
}

namespace {

// The value of the sample line that starts with `series ` in a rendered text; -1 if absent.
double sampleValue(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("process metrics: read from /proc/self at each scrape", "[metrics]") {
  MetricsRegistry r;
  AgentMetrics m(r);
  const std::string before = r.render();
  for (const char* family :
       {"process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
        "process_virtual_memory_bytes gauge", "process_open_fds gauge", "process_max_fds gauge",
        "process_start_time_seconds gauge"}) {
    INFO(family);
    CHECK(before.find(std::string("# TYPE ") + family + "\n") != std::string::npos);
  }
  CHECK(sampleValue(before, "process_resident_memory_bytes") > 0);
  CHECK(sampleValue(before, "process_virtual_memory_bytes") >=
        sampleValue(before, "process_resident_memory_bytes"));
  CHECK(sampleValue(before, "process_max_fds") > 0);
  CHECK(sampleValue(before, "process_start_time_seconds") > 1e9);  // after 2001
  CHECK(sampleValue(before, "process_cpu_seconds_total") >= 0);

  // Five more descriptors show up in the next scrape (this test runs on one thread).
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) fds.push_back(dup(0));
  const double opened = sampleValue(r.render(), "process_open_fds");
  for (int fd : fds) close(fd);
  CHECK(opened == sampleValue(before, "process_open_fds") + 5);
}

TEST_CASE("kubernetes_build_info is 1 with upstream's nine labels", "[metrics]") {
  MetricsRegistry r;
  AgentMetrics m(r);
  const std::string text = r.render();
  const auto at = text.find("\nkubernetes_build_info{build_date=\"unknown\",compiler=\"");
  REQUIRE(at != std::string::npos);
  const std::string line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  for (const char* part :
       {"git_commit=\"unknown\"", "git_tree_state=\"unknown\"", "git_version=\"v0.1.0\"",
        "go_version=\"none\"", "major=\"0\"", "minor=\"1\"", "platform=\"linux/"}) {
    INFO(part);
    CHECK(line.find(part) != std::string::npos);
  }
  CHECK(line.ends_with("} 1"));
}

TEST_CASE("RestClientMetrics counts by code, method and host, and times by verb and host",
          "[metrics]") {
  MetricsRegistry r;
  AgentMetrics m(r);
  agent::RestClientMetrics client(m);
  client.requestDone("GET", "10.96.0.1:443", "200", std::chrono::milliseconds(30));
  client.requestDone("GET", "10.96.0.1:443", "200", std::chrono::milliseconds(3));
  client.requestDone("GET", "10.96.0.1:443", "<error>", std::chrono::seconds(2));
  const std::string text = r.render();
  const std::string total = "rest_client_requests_total";
  CHECK(sampleValue(text, total + R"({code="200",host="10.96.0.1:443",method="GET"})") == 2);
  CHECK(sampleValue(text, total + R"({code="<error>",host="10.96.0.1:443",method="GET"})") == 1);
  const std::string bucket = "rest_client_request_duration_seconds_bucket";
  CHECK(sampleValue(text, bucket + R"({host="10.96.0.1:443",verb="GET",le="0.005"})") == 1);
  CHECK(sampleValue(text, bucket + R"({host="10.96.0.1:443",verb="GET",le="0.1"})") == 2);
  CHECK(sampleValue(text, bucket + R"({host="10.96.0.1:443",verb="GET",le="2"})") == 3);
  CHECK(sampleValue(text, bucket + R"({host="10.96.0.1:443",verb="GET",le="60"})") == 3);
}

TEST_CASE("the kube-prometheus family list matches what the agent exports", "[metrics]") {
  MetricsRegistry r;
  AgentMetrics m(r);
  agent::RestClientMetrics(m).requestDone("GET", "h:443", "200", std::chrono::milliseconds(1));
  const std::string text = r.render();
  std::ifstream in(IPVS_AGENT_MONITORING_FAMILIES);
  REQUIRE(in);
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("#")) continue;
    std::istringstream fields(line);
    std::string family, where;
    fields >> family >> where;
    INFO(family << " " << where);
    const bool exported = text.find("# TYPE " + family + " ") != std::string::npos;
    if (where == "agent" || where == "api") {
      CHECK(exported);
      ++checked;
    } else {
      CHECK((where == "prometheus" || where == "other" || where == "absent"));
      CHECK_FALSE(exported);  // a family the agent gained must move to "agent" or "api"
    }
  }
  CHECK(checked == 6);
}
