#include "k8swatch/watcher.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "k8swatch/decode.h"
#include "tests/apiserver/server.h"
#include "tests/unit/k8swatch/watch_harness.h"

namespace json = boost::json;
using namespace std::chrono_literals;
using fakeapi::Fault;
using k8stest::Harness;
using k8stest::node;
using k8stest::RecordingClock;
using k8stest::seed;
using k8stest::service;
using k8stest::slice;
using k8swatch::ResourceKind;

TEST_CASE("watch: initial paged list with selectors - then synced", "[watch]") {
  Harness h;
  seed(h.server, 7);
  h.server.apply(service("other-proxy", "10.0.9.1", 80,
                         R"({"service.kubernetes.io/service-proxy-name":"other"})"));
  h.server.apply(service("headless", "10.0.9.2", 80, R"({"service.kubernetes.io/headless":""})"));
  h.server.start();
  h.startWatcher(h.options());
  REQUIRE(h.sink.waitSynced());
  h.sink.locked([&] {
    CHECK(h.sink.services.size() == 7);  // the two labelled Services are filtered out
    CHECK(h.sink.slices.size() == 7);
    REQUIRE(h.sink.nodes.size() == 1);
    CHECK(h.sink.nodes.at("node-a").addresses[0].toString() == "192.0.2.10");
    CHECK(h.sink.services.at("default/svc-3").clusterIPs[0].toString() == "10.0.0.4");
    CHECK(h.sink.slices.at("default/svc-3-abc").serviceName == "svc-3");
  });
  const auto lists = h.requestsMatching("/api/v1/services?");
  REQUIRE(lists.size() >= 3);  // 7 objects at 3 a page
  const std::string selector =
      "labelSelector=%21service.kubernetes.io%2Fservice-proxy-name%2C%21service.kubernetes.io%"
      "2Fheadless";
  CHECK(lists[0] == "/api/v1/services?" + selector + "&limit=3&resourceVersion=0");
  CHECK_THAT(lists[1], Catch::Contains("&limit=3&continue="));
  CHECK_THAT(lists[1], !Catch::Contains("resourceVersion"));
  const auto nodes = h.requestsMatching("/api/v1/nodes?");
  REQUIRE_FALSE(nodes.empty());
  CHECK_THAT(nodes[0], Catch::StartsWith("/api/v1/nodes?fieldSelector=metadata.name%3Dnode-a&"));
  const auto watches = h.requestsMatching("watch=true");
  REQUIRE(
      h.sink.waitFor([&] { return h.watcher->stats().of(ResourceKind::kService).watches > 0; }));
  const auto stats = h.watcher->stats();
  CHECK(stats.of(ResourceKind::kService).lists == 1);
  CHECK(stats.of(ResourceKind::kService).listPages >= 3);
  CHECK(stats.of(ResourceKind::kService).objects == 7);
  CHECK(stats.of(ResourceKind::kEndpointSlice).synced);
}

TEST_CASE("watch: serviceProxyName selects only that proxy's Services", "[watch]") {
  Harness h;
  seed(h.server, 2);
  h.server.apply(service("mine", "10.0.9.1", 80,
                         R"({"service.kubernetes.io/service-proxy-name":"ipvs-agent"})"));
  h.server.start();
  auto o = h.options();
  o.serviceProxyName = "ipvs-agent";
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  h.sink.locked([&] {
    REQUIRE(h.sink.services.size() == 1);
    CHECK(h.sink.services.count("default/mine") == 1);
  });
  CHECK_THAT(h.requestsMatching("/api/v1/services?")[0],
             Catch::Contains("service.kubernetes.io%2Fservice-proxy-name%3Dipvs-agent%2C%21"));
}

TEST_CASE("watch: events after the list - chunk boundaries anywhere", "[watch]") {
  Harness h;
  REQUIRE(startWatching(h, 2));
  for (const std::size_t split : {1ul, 2ul, 3ul, 7ul, 64ul}) {
    h.server.setChunkSplit(split);
    const std::string name = "new-" + std::to_string(split);
    // A label value full of escapes and multibyte characters: boundaries fall inside them.
    h.server.apply(
        service(name, "10.0.1." + std::to_string(split), 443,
                R"({"note":"a \"quoted\" \\ back\\slash \u00e9t\u00e9 \ud83d\ude00 {[,]}"})"));
    REQUIRE(h.sink.waitLog("svc+ default/" + name));
    h.sink.locked([&] {
      const auto& svc = h.sink.services.at("default/" + name);
      CHECK(svc.ports[0].port == 443);
      CHECK(*ipvs::findValue(svc.labels, "note") ==
            "a \"quoted\" \\ back\\slash \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 {[,]}");
    });
  }
  h.server.setChunkSplit(5);
  h.server.apply(service("svc-0", "10.0.0.1", 8443));  // MODIFIED
  REQUIRE(
      h.sink.waitFor([&] { return h.sink.services.at("default/svc-0").ports[0].port == 8443; }));
  REQUIRE(h.server.remove("EndpointSlice", "default", "svc-1-abc"));
  REQUIRE(h.sink.waitLog("slice- default/svc-1-abc of svc-1"));
  REQUIRE(h.server.remove("Service", "default", "svc-1"));
  REQUIRE(h.sink.waitLog("svc- default/svc-1"));
  // A Service that gains the headless label leaves the selection: the server sends DELETED.
  h.server.apply(service("svc-0", "10.0.0.1", 8443, R"({"service.kubernetes.io/headless":""})"));
  REQUIRE(h.sink.waitLog("svc- default/svc-0"));
  const auto stats = h.watcher->stats();
  CHECK(stats.of(ResourceKind::kService).added >= 7);
  CHECK(stats.of(ResourceKind::kService).deleted == 2);
  CHECK(stats.of(ResourceKind::kEndpointSlice).deleted == 1);
}

TEST_CASE("watch: bookmarks advance the resourceVersion used after a drop", "[watch]") {
  Harness h;
  REQUIRE(startWatching(h, 1));
  // Changes to Nodes other than ours raise the global resourceVersion without any Service event.
  for (int i = 0; i < 5; ++i) h.server.apply(node("node-b", "192.0.2." + std::to_string(20 + i)));
  const auto rv = std::to_string(h.server.resourceVersion());
  h.server.bookmarkNow();
  REQUIRE(h.sink.waitFor([&] {
    return h.watcher->stats().of(ResourceKind::kService).bookmarks > 0 &&
           h.watcher->stats().of(ResourceKind::kEndpointSlice).bookmarks > 0;
  }));
  h.server.fault(Fault::kDrop);
  // A dropped watch relists from the last seen (bookmarked) version.
  CHECK(h.sink.waitFor([&] {
    return !h.requestsMatching("/api/v1/services?labelSelector").empty() &&
           !h.requestsMatching("&limit=3&resourceVersion=" + rv).empty();
  }));
  CHECK(
      h.sink.waitFor([&] { return h.watcher->stats().of(ResourceKind::kService).reconnects > 0; }));
  REQUIRE(
      h.sink.waitFor([&] { return h.watcher->stats().of(ResourceKind::kService).relists > 0; }));
}

TEST_CASE("watch: 410 in-stream and as a status relist from scratch and emit deletions",
          "[watch]") {
  Harness h;
  REQUIRE(startWatching(h, 4));
  // Events lost (a partition), history compacted, then the stream reports Expired.
  h.server.fault(Fault::kPause);
  REQUIRE(h.server.remove("Service", "default", "svc-2"));
  REQUIRE(h.server.remove("EndpointSlice", "default", "svc-2-abc"));
  h.server.apply(service("svc-3", "10.0.0.4", 9999));
  h.server.compact();
  h.server.fault(Fault::kExpire);
  REQUIRE(h.sink.waitLog("svc- default/svc-2"));
  REQUIRE(h.sink.waitLog("slice- default/svc-2-abc of svc-2"));
  REQUIRE(
      h.sink.waitFor([&] { return h.sink.services.at("default/svc-3").ports[0].port == 9999; }));
  h.sink.locked([&] {
    CHECK(h.sink.services.size() == 3);
    // Never emptied: svc-0 was not deleted and re-added by the relist.
    int svc0 = 0;
    for (const auto& l : h.sink.log) svc0 += l == "svc- default/svc-0";
    CHECK(svc0 == 0);
  });
  auto stats = h.watcher->stats();
  CHECK(stats.of(ResourceKind::kService).gone >= 1);
  // After 410 the relist reads from etcd: no resourceVersion at all.
  const auto lists = h.requestsMatching("/api/v1/services?labelSelector");
  std::vector<std::string> pages;
  for (const auto& l : lists) {
    if (l.find("&limit=") != std::string::npos) pages.push_back(l);
  }
  REQUIRE(pages.size() >= 2);
  CHECK(pages.back().find("resourceVersion") == std::string::npos);

  // HTTP 410 on the relist after a drop: falls back to a list from "".
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 3; }));
  h.server.fault(Fault::kPause);
  REQUIRE(h.server.remove("Service", "default", "svc-1"));
  h.server.fault(Fault::kStatus, 1, 410);
  h.server.fault(Fault::kDrop);
  REQUIRE(h.sink.waitLog("svc- default/svc-1"));
  CHECK(h.watcher->stats().of(ResourceKind::kService).gone +
            h.watcher->stats().of(ResourceKind::kEndpointSlice).gone +
            h.watcher->stats().of(ResourceKind::kNode).gone >=
        2);
}

TEST_CASE("watch: 500 and 429 runs back off exponentially and then sync", "[watch]") {
  Harness h;
  seed(h.server, 1);
  h.server.start();
  auto o = h.options();
  o.nodeName.clear();  // one request stream per resource is easier to count
  h.server.fault(Fault::kStatus, 10, 500);
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  const auto sleeps = h.clock->sleeps();
  REQUIRE(sleeps.size() == 10);
  // Two reflectors interleave; each doubles from 800 ms on its own failures.
  std::vector<std::chrono::milliseconds> sorted = sleeps;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted.front() == 800ms);
  CHECK(std::count(sorted.begin(), sorted.end(), 800ms) == 2);
  CHECK(std::count(sorted.begin(), sorted.end(), 1600ms) == 2);
  CHECK(sorted.back() <= 30000ms);
  CHECK(h.watcher->stats().of(ResourceKind::kService).failures +
            h.watcher->stats().of(ResourceKind::kEndpointSlice).failures ==
        10);
  CHECK_THAT(h.watcher->stats().lastError, Catch::Contains("HTTP 500"));

  // 429 while watching: the watch is retried, and the events still arrive.
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 2; }));
  h.server.fault(Fault::kStatus, 3, 429);
  h.server.fault(Fault::kDrop);
  h.server.apply(service("after-429", "10.0.3.1"));
  REQUIRE(h.sink.waitLog("svc+ default/after-429"));
}

TEST_CASE("watch: backoff caps at 30 s and resets after 2 healthy minutes", "[watch]") {
  k8swatch::Backoff b(k8swatch::BackoffOptions{}, [] { return 0.0; });
  k8swatch::Clock::TimePoint t{};
  std::vector<std::chrono::milliseconds> seen;
  for (int i = 0; i < 8; ++i) {
    seen.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(b.next(t)));
    t += 1s;
  }
  CHECK(seen == std::vector<std::chrono::milliseconds>{800ms, 1600ms, 3200ms, 6400ms, 12800ms,
                                                       25600ms, 30000ms, 30000ms});
  t += 121s;
  CHECK(b.next(t) == 800ms);
  k8swatch::Backoff jittered(k8swatch::BackoffOptions{}, [] { return 0.5; });
  CHECK(jittered.next(t) == 1200ms);
}

TEST_CASE("watch: oversize events are skipped with a reject - the stream goes on", "[watch]") {
  Harness h;
  seed(h.server, 1);
  h.server.start();
  auto o = h.options();
  o.maxEventBytes = 64 * 1024;
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 3; }));
  h.server.setChunkSplit(4096);
  h.server.fault(Fault::kOversize, 1, 0, 300 * 1024);
  h.server.apply(service("after-oversize", "10.0.4.1"));
  REQUIRE(h.sink.waitLog("svc+ default/after-oversize"));
  REQUIRE(h.sink.waitLog("reject oversize-event <watch event>"));
  // One per open watch (Services, EndpointSlices, Node).
  REQUIRE(h.sink.waitFor([&] {
    const auto r = h.watcher->stats().rejectsByReason;
    return r.count("oversize-event") && r.at("oversize-event") == 3;
  }));
  const auto stats = h.watcher->stats();
  CHECK(stats.of(ResourceKind::kService).relists == 0);  // the stream was not dropped
  h.sink.locked([&] { CHECK(h.sink.services.count("default/huge") == 0); });
}

TEST_CASE("watch: garbage and invalid objects", "[watch]") {
  Harness h;
  REQUIRE(startWatching(h, 1));
  h.server.fault(Fault::kGarbage);
  h.server.apply(service("after-garbage", "10.0.5.1"));
  REQUIRE(h.sink.waitLog("svc+ default/after-garbage"));
  REQUIRE(
      h.sink.waitFor([&] { return h.watcher->stats().of(ResourceKind::kService).relists > 0; }));
  CHECK_THAT(h.watcher->stats().lastError, Catch::Contains("invalid JSON"));
  // An invalid object is rejected alone, and its last good state stays.
  h.server.apply(service("svc-0", "10.0.0.1", 70000));
  REQUIRE(h.sink.waitLog("reject bad-port default/svc-0"));
  h.server.apply(service("fine", "10.0.5.2"));
  REQUIRE(h.sink.waitLog("svc+ default/fine"));
  h.sink.locked([&] {
    CHECK(h.sink.services.at("default/svc-0").ports[0].port == 80);
    CHECK_THAT(h.sink.rejectMessages.back(), Catch::Contains("default/svc-0"));
  });
  CHECK(h.watcher->stats().rejectsByReason.at("bad-port") >= 1);
}

TEST_CASE("watch: an outage at start-up - synced only once the server is there", "[watch]") {
  // Reserve a port, then leave it closed so connections are refused.
  std::uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  fakeapi::ServerOptions so;
  so.port = port;
  Harness h(so);
  seed(h.server, 2);
  k8swatch::ClusterConfig c;
  c.server = "http://127.0.0.1:" + std::to_string(port);
  h.watcher = std::make_unique<k8swatch::Watcher>(c, h.options(), h.sink);
  h.watcher->start();
  REQUIRE(h.sink.waitFor([&] { return h.clock->sleeps().size() >= 6; }));
  h.sink.locked([&] {
    CHECK(h.sink.syncedCount.empty());
    CHECK(h.sink.services.empty());
  });
  CHECK(h.watcher->stats().of(ResourceKind::kService).failures >= 2);
  h.server.start();
  REQUIRE(h.sink.waitSynced());
  h.sink.locked([&] { CHECK(h.sink.services.size() == 2); });
}

TEST_CASE("watch: a stalled request times out and is retried", "[watch]") {
  Harness h;
  seed(h.server, 1);
  h.server.start();
  auto o = h.options();
  o.requestTimeout = 300ms;
  h.server.fault(Fault::kStall, 1);
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  CHECK(h.clock->sleeps().size() >= 1);
}

TEST_CASE("watch: the server restarting behind our version relists from scratch", "[watch]") {
  Harness h;
  seed(h.server, 3);
  for (int i = 0; i < 20; ++i) h.server.apply(node("node-b", "192.0.2.99"));  // raise the RV
  h.server.start();
  h.startWatcher(h.options());
  REQUIRE(h.sink.waitSynced());
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 3; }));
  const auto port = h.server.port();
  h.server.stop();
  fakeapi::ServerOptions so;
  so.port = port;
  fakeapi::FakeApiServer fresh(so);  // an empty store: its resourceVersion is far behind ours
  fresh.apply(service("svc-0", "10.0.0.1"));
  fresh.apply(node("node-a", "192.0.2.10"));
  fresh.start();
  REQUIRE(h.sink.waitLog("svc- default/svc-1"));
  REQUIRE(h.sink.waitLog("slice- default/svc-0-abc of svc-0"));
  REQUIRE(
      h.sink.waitFor([&] { return h.watcher->stats().of(ResourceKind::kService).tooLargeRv > 0; }));
  h.watcher->stop();
}

TEST_CASE("watch: bearer token auth - never logged - token file rotation", "[watch]") {
  fakeapi::ServerOptions so;
  so.token = "s3cret-token";
  Harness h(so);
  seed(h.server, 1);
  h.server.start();
  const auto dir =
      std::filesystem::temp_directory_path() / ("k8swatch-token-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto tokenFile = dir / "token";
  std::ofstream(tokenFile) << "wrong-token\n";
  k8swatch::ClusterConfig c = h.config();
  c.tokenFile = tokenFile.string();
  h.watcher = std::make_unique<k8swatch::Watcher>(c, h.options(), h.sink);
  h.watcher->start();
  REQUIRE(h.sink.waitFor([&] { return h.clock->sleeps().size() >= 4; }));
  CHECK_THAT(h.watcher->stats().lastError, Catch::Contains("401"));
  h.sink.locked([&] { CHECK(h.sink.syncedCount.empty()); });
  // Rotate: a new file with the right token (new size and mtime).
  std::ofstream(tokenFile) << "s3cret-token\n";
  REQUIRE(h.sink.waitSynced());
  h.watcher->stop();
  std::lock_guard lock(h.logMutex);
  CHECK_FALSE(h.logLines.empty());
  std::size_t leaks = 0;
  for (const auto& line : h.logLines) {
    leaks +=
        line.find("s3cret") != std::string::npos || line.find("wrong-token") != std::string::npos;
  }
  CHECK(leaks == 0);
  std::filesystem::remove_all(dir);
}

namespace {

// The Service requests that asked for a streaming list.
std::size_t streamingLists(Harness& h) {
  std::size_t n = 0;
  for (const auto& r : h.requestsMatching("/api/v1/services?"))
    n += r.find("sendInitialEvents=true&resourceVersionMatch=NotOlderThan") != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("watch list: the initial events are the list, then the same stream goes on",
          "[watch][watchlist]") {
  Harness h;
  seed(h.server, 4);
  h.server.start();
  auto o = h.options();
  o.watchList = true;
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  h.sink.locked([&] {
    CHECK(h.sink.services.size() == 4);
    CHECK(h.sink.slices.size() == 4);
    CHECK(h.sink.nodes.size() == 1);
  });
  CHECK(streamingLists(h) == 1);
  CHECK(h.requestsMatching("&limit=").empty());  // no paged LIST at all
  h.server.apply(service("late", "10.0.0.99"));
  REQUIRE(h.sink.waitLog("svc+ default/late"));
  const auto stats = h.watcher->stats().of(ResourceKind::kService);
  CHECK(stats.lists == 1);
  CHECK(stats.objects == 5);
  CHECK(streamingLists(h) == 1);

  // After 410 the relist is a streaming list too, and deletes by difference.
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 3; }));
  h.server.fault(Fault::kPause);
  REQUIRE(h.server.remove("Service", "default", "svc-2"));
  h.server.compact();
  h.server.fault(Fault::kExpire);
  REQUIRE(h.sink.waitLog("svc- default/svc-2"));
  CHECK(streamingLists(h) >= 2);
  CHECK(h.requestsMatching("&limit=").empty());
  h.sink.locked([&] { CHECK(h.sink.services.count("default/svc-0") == 1); });
}

TEST_CASE("watch list: a server that refuses or ignores it is listed the paged way",
          "[watch][watchlist]") {
  const std::string mode = GENERATE(std::string("refuse"), std::string("ignore"));
  INFO("server: " << mode);
  Harness h;
  seed(h.server, 4);
  h.server.setWatchList(mode);
  h.server.start();
  auto o = h.options();
  o.watchList = true;
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  h.sink.locked([&] { CHECK(h.sink.services.size() == 4); });
  CHECK(streamingLists(h) == 1);  // tried once, then never again
  CHECK_FALSE(h.requestsMatching("/api/v1/services?labelSelector").empty());
  bool logged = false;
  {
    std::lock_guard lock(h.logMutex);
    for (const auto& l : h.logLines) logged = logged || l.find("paged LISTs") != std::string::npos;
  }
  CHECK(logged);
  h.server.apply(service("late", "10.0.0.99"));
  REQUIRE(h.sink.waitLog("svc+ default/late"));
  CHECK(streamingLists(h) == 1);
}

TEST_CASE("watch: EndpointSlice events through the streaming decoder - as the DOM decodes them",
          "[watch]") {
  Harness h;
  REQUIRE(startWatching(h, 1));
  h.server.setChunkSplit(3);
  // MODIFIED and ADDED, streamed, with escapes split across chunks.
  auto moved = slice("svc-0-abc", "svc-0", "10.1.0.77");
  moved["endpoints"].as_array()[0].as_object()["nodeName"] = "node-\xc3\xa9";
  h.server.apply(moved);
  REQUIRE(h.sink.waitFor([&] {
    return h.sink.slices.at("default/svc-0-abc").endpoints[0].address ==
           *ipvs::IpAddress::parse("10.1.0.77");
  }));
  h.server.apply(slice("svc-0-def", "svc-0", "10.1.0.78"));
  REQUIRE(h.sink.waitLog("slice+ default/svc-0-def"));
  // Endpoints before addressType: declined by the streaming decoder, decoded through the DOM.
  json::object late;
  late["kind"] = "EndpointSlice";
  late["metadata"] = slice("svc-0-ghi", "svc-0", "10.1.0.79")["metadata"];
  late["endpoints"] = json::parse(R"([{"addresses":["10.1.0.79"]}])");
  late["addressType"] = "IPv4";
  h.server.apply(late);
  REQUIRE(h.sink.waitLog("slice+ default/svc-0-ghi"));
  // A bad one is rejected with the DOM decoder's reason, and only it.
  h.server.apply(slice("svc-0-bad", "svc-0", "10.1.0.300"));
  REQUIRE(h.sink.waitLog("reject bad-address default/svc-0-bad"));
  h.sink.locked([&] {
    const auto& s = h.sink.slices.at("default/svc-0-abc");
    CHECK(s.serviceName == "svc-0");
    CHECK(s.endpoints[0].nodeName == "node-\xc3\xa9");
    CHECK(s.ports == std::vector<ipvs::EndpointPort>{{"", ipvs::Protocol::kTcp, 8080}});
    CHECK(h.sink.slices.at("default/svc-0-ghi").endpoints[0].address ==
          *ipvs::IpAddress::parse("10.1.0.79"));
    CHECK(h.sink.slices.count("default/svc-0-bad") == 0);
    CHECK_THAT(h.sink.rejectMessages.back(),
               Catch::Contains("endpoints[0].addresses[0]: \"10.1.0.300\" is not an IP address"));
  });
  const auto stats = h.watcher->stats().of(ResourceKind::kEndpointSlice);
  CHECK(stats.modified == 1);
  CHECK(stats.added == 3);  // the seeded one and the two new good ones
}
