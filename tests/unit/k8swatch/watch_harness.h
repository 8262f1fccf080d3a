#pragma once
// The watcher tests' fixture: object builders for the local API server and a Harness that wires
// a Watcher to it with test-friendly options (recorded sleeps, no jitter, short watches).

#include <boost/json/parse.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "k8swatch/watcher.h"
#include "tests/apiserver/server.h"
#include "tests/unit/k8swatch/watch_test_util.h"

namespace k8stest {

namespace json = boost::json;
using namespace std::chrono_literals;

inline json::object service(const std::string& name, const std::string& ip, int port = 80,
                            const std::string& labels = "{}") {
  return json::parse(R"({"kind":"Service","metadata":{"name":")" + name +
                     R"(","namespace":"default","labels":)" + labels +
                     R"(},"spec":{"clusterIP":")" + ip + R"(","ports":[{"port":)" +
                     std::to_string(port) + "}]}}")
      .as_object();
}

inline json::object slice(const std::string& name, const std::string& svc, const std::string& ip) {
  return json::parse(
             R"({"kind":"EndpointSlice","metadata":{"name":")" + name +
             R"(","namespace":"default","labels":{"kubernetes.io/service-name":")" + svc +
             R"("}},"addressType":"IPv4","ports":[{"port":8080}],"endpoints":[{"addresses":[")" +
             ip + R"("],"nodeName":"node-a"}]})")
      .as_object();
}

inline json::object node(const std::string& name, const std::string& ip) {
  return json::
      parse(R"({"kind":"Node","metadata":{"name":")" + name +
            R"(","labels":{"topology.kubernetes.io/zone":"z1"}},"status":{"addresses":[{"type":"InternalIP","address":")" +
            ip + R"("}]}})")
          .as_object();
}

// A watcher wired to a server with test-friendly options: manual clock, no jitter, short
// watch timeouts so normal re-watches happen too.
struct Harness {
  explicit Harness(fakeapi::ServerOptions serverOptions = {}) : server(serverOptions) {}

  k8swatch::WatcherOptions options() {
    k8swatch::WatcherOptions o;
    o.nodeName = "node-a";
    o.pageSize = 3;
    RecordingClock::use(clock, o);
    o.random = [] { return 0.0; };
    o.minWatchTimeout = 2s;
    o.maxWatchTimeout = 2s;
    o.requestTimeout = 5s;
    o.qps = -1;  // the tests count the clock's sleeps; rate_limiter_test covers the limit
    o.log = [this](k8swatch::LogLevel, const std::string& line) {
      std::lock_guard lock(logMutex);
      logLines.push_back(line);
    };
    return o;
  }
  k8swatch::ClusterConfig config(const std::string& token = "") const {
    k8swatch::ClusterConfig c;
    c.server = server.url();
    c.token = token;
    return c;
  }
  void startWatcher(k8swatch::WatcherOptions o, const std::string& token = "") {
    watcher = std::make_unique<k8swatch::Watcher>(config(token), std::move(o), sink);
    watcher->start();
  }
  std::vector<std::string> requestsMatching(const std::string& part) {
    std::vector<std::string> out;
    for (const auto& r : server.requests()) {
      if (r.find(part) != std::string::npos) out.push_back(r);
    }
    return out;
  }

  fakeapi::FakeApiServer server;
  std::shared_ptr<RecordingClock> clock = std::make_shared<RecordingClock>();
  RecordingSink sink;
  std::mutex logMutex;
  std::vector<std::string> logLines;
  std::unique_ptr<k8swatch::Watcher> watcher;  // declared last: stopped first
};

inline void seed(fakeapi::FakeApiServer& server, int services) {
  for (int i = 0; i < services; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    server.apply(service(name, "10.0.0." + std::to_string(i + 1)));
    server.apply(slice(name + "-abc", name, "10.1.0." + std::to_string(i + 1)));
  }
  server.apply(node("node-a", "192.0.2.10"));
  server.apply(node("node-b", "192.0.2.11"));
}

// Seeds `services` Services, starts the server and a watcher with the default options, and
// returns once the initial lists are in and the three watches are open.
inline bool startWatching(Harness& h, int services) {
  seed(h.server, services);
  h.server.start();
  h.startWatcher(h.options());
  return h.sink.waitSynced() && h.sink.waitFor([&] { return h.server.openWatches() == 3; });
}

}  // namespace k8stest
