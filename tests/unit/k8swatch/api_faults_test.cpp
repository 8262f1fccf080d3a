// API server faults of issue #14 §4 against the local API server: 429/500 runs with and without
// Retry-After, a watch stream that stalls, and a 100 MiB event. Sleeps go through the
// RecordingClock, so a test reads the waits the reflectors asked for without waiting them.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "k8swatch/backoff.h"
#include "k8swatch/http_client.h"
#include "k8swatch/reflector.h"
#include "tests/apiserver/server.h"
#include "tests/support/sanitizer.h"
#include "tests/unit/k8swatch/watch_harness.h"

using namespace std::chrono_literals;
using fakeapi::Fault;
using k8stest::Harness;
using k8stest::seed;
using k8stest::service;
using k8swatch::ResourceKind;
using Ms = std::chrono::milliseconds;

namespace {

std::uint64_t failures(const k8swatch::WatchStatsSnapshot& s) {
  return s.of(ResourceKind::kService).failures + s.of(ResourceKind::kEndpointSlice).failures +
         s.of(ResourceKind::kNode).failures;
}

// A watcher on Services and EndpointSlices only (no Node reflector): fewer streams to count.
k8swatch::WatcherOptions twoReflectors(Harness& h) {
  auto o = h.options();
  o.nodeName.clear();
  return o;
}

}  // namespace

TEST_CASE("apifaults: Retry-After reads delta-seconds only", "[apifaults]") {
  using k8swatch::parseRetryAfter;
  CHECK(parseRetryAfter("5") == std::chrono::seconds(5));
  CHECK(parseRetryAfter(" 7\t") == std::chrono::seconds(7));
  CHECK(parseRetryAfter("0") == std::chrono::seconds(0));
  CHECK(parseRetryAfter("99999999999999999999999") == std::chrono::seconds(86400));
  CHECK_FALSE(parseRetryAfter(""));
  CHECK_FALSE(parseRetryAfter("-1"));
  CHECK_FALSE(parseRetryAfter("+3"));
  CHECK_FALSE(parseRetryAfter("1.5"));
  CHECK_FALSE(parseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT"));
}

TEST_CASE("apifaults: the backoff waits at least Retry-After up to its max", "[apifaults]") {
  k8swatch::Backoff b(k8swatch::BackoffOptions{}, [] { return 0.0; });
  k8swatch::Clock::TimePoint t{};
  CHECK(b.next(t, 5s) == 5000ms);  // over the first step (800 ms)
  t += 1s;
  CHECK(b.next(t, 0s) == 1600ms);  // the exponential step advanced all the same
  t += 1s;
  CHECK(b.next(t, 1s) == 3200ms);  // under our own step: ours
  t += 1s;
  CHECK(b.next(t, 3600s) == 30000ms);  // an hour is capped at max (30 s)
}

TEST_CASE("apifaults: a 429 run with Retry-After is waited out and then synced", "[apifaults]") {
  Harness h;
  seed(h.server, 2);
  h.server.start();
  h.server.fault(Fault::kStatus, 6, 429, 0, "5");
  h.startWatcher(twoReflectors(h));
  REQUIRE(h.sink.waitSynced());
  const auto sleeps = h.clock->sleeps();
  REQUIRE(sleeps.size() == 6);
  for (const auto s : sleeps) CHECK(s >= 5000ms);  // without the header the first is 800 ms
  h.sink.locked([&] {
    CHECK(h.sink.services.size() == 2);
    CHECK(h.sink.slices.size() == 2);
  });
  CHECK(failures(h.watcher->stats()) == 6);
  CHECK_THAT(h.watcher->stats().lastError, Catch::Contains("HTTP 429"));
  CHECK_THAT(h.watcher->stats().lastError, Catch::Contains("Retry-After 5 s"));
}

TEST_CASE("apifaults: a 500 run's Retry-After is capped and a date form ignored", "[apifaults]") {
  Harness h;
  seed(h.server, 1);
  h.server.start();
  std::string retryAfter;
  Ms expected{};
  SECTION("an hour waits 30 s (the backoff's max)") {
    retryAfter = "3600";
    expected = 30000ms;
  }
  SECTION("an HTTP date falls back to the exponential backoff") {
    retryAfter = "Wed, 21 Oct 2026 07:28:00 GMT";
    expected = 800ms;
  }
  h.server.fault(Fault::kStatus, 2, 500, 0, retryAfter);
  h.startWatcher(twoReflectors(h));
  REQUIRE(h.sink.waitSynced());
  const auto sleeps = h.clock->sleeps();
  REQUIRE(sleeps.size() == 2);
  CHECK(*std::min_element(sleeps.begin(), sleeps.end()) == expected);
  CHECK(failures(h.watcher->stats()) == 2);
  h.sink.locked([&] { CHECK(h.sink.services.count("default/svc-0") == 1); });
}

TEST_CASE("apifaults: 429 with Retry-After while watching and events still arrive", "[apifaults]") {
  Harness h;
  seed(h.server, 1);
  h.server.start();
  h.startWatcher(twoReflectors(h));
  REQUIRE(h.sink.waitSynced());
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 2; }));
  const auto before = h.clock->sleeps().size();
  // Each reflector: the drop backs off 800 ms, then its relist gets a 429 asking for 4 s.
  h.server.fault(Fault::kStatus, 2, 429, 0, "4");
  h.server.fault(Fault::kDrop);
  h.server.apply(service("after-429", "10.0.3.1"));
  REQUIRE(h.sink.waitLog("svc+ default/after-429"));
  REQUIRE(h.sink.waitFor([&] { return h.clock->sleeps().size() >= before + 4; }));
  auto sleeps = h.clock->sleeps();
  std::vector<Ms> after(sleeps.begin() + static_cast<std::ptrdiff_t>(before), sleeps.end());
  std::sort(after.begin(), after.end());
  CHECK(after == std::vector<Ms>{800ms, 800ms, 4000ms, 4000ms});
  CHECK(failures(h.watcher->stats()) == 4);
}

TEST_CASE("apifaults: the default watch idle limit is timeoutSeconds plus 30 s", "[apifaults]") {
  k8swatch::ReflectorOptions o;
  CHECK(k8swatch::watchIdleLimit(o, 300s) == 330000ms);
  CHECK(k8swatch::watchIdleLimit(o, 600s) == 630000ms);
  o.watchIdleTimeout = 1500ms;
  CHECK(k8swatch::watchIdleLimit(o, 300s) == 1500ms);
}

TEST_CASE("apifaults: a watch that stalls is dropped after the idle limit and resumed",
          "[apifaults]") {
  fakeapi::ServerOptions so;
  so.bookmarkInterval = 100ms;  // healthy watches are never silent for long
  Harness h(so);
  seed(h.server, 1);
  h.server.start();
  auto o = twoReflectors(h);
  o.minWatchTimeout = 300s;  // the server would hold each watch open for five minutes
  o.maxWatchTimeout = 300s;
  o.watchIdleTimeout = 2s;  // the default would be 330 s: longer than waitFor's bound
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 2; }));
  const auto before = h.watcher->stats().of(ResourceKind::kService);
  h.server.fault(Fault::kPause);  // the open watches go silent: no events, no bookmarks
  h.server.apply(service("during-stall", "10.0.6.1"));  // lost on the stalled stream
  REQUIRE(h.sink.waitLog("svc+ default/during-stall"));
  const auto stats = h.watcher->stats();
  CHECK(stats.of(ResourceKind::kService).reconnects > before.reconnects);
  CHECK(stats.of(ResourceKind::kService).failures > before.failures);
  CHECK_THAT(stats.lastError, Catch::Contains("watch stream stalled: nothing for 2000 ms"));
  h.sink.locked([&] { CHECK(h.sink.services.size() == 2); });
}

TEST_CASE("apifaults: a 100 MiB watch event is rejected with memory bounded", "[apifaults]") {
  Harness h;
  seed(h.server, 1);
  h.server.start();
  auto o = twoReflectors(h);
  // The default bound (16 MiB) and a 100 MiB event; under ASan both an eighth of that (the
  // sanitizer makes every byte ten times dearer), so the event is still over 6 x the bound.
  REQUIRE(o.maxEventBytes == (16u << 20));
  o.maxEventBytes /= testsupport::kHugeInputDivisor;
  const std::size_t bound = o.maxEventBytes;
  const std::size_t event = (100u << 20) / testsupport::kHugeInputDivisor;
  h.startWatcher(o);
  REQUIRE(h.sink.waitSynced());
  REQUIRE(h.sink.waitFor([&] { return h.server.openWatches() == 2; }));
  h.server.fault(Fault::kOversize, 1, 0, event);
  h.server.apply(service("after-huge", "10.0.7.1"));
  REQUIRE(h.sink.waitLog("svc+ default/after-huge"));
  REQUIRE(h.sink.waitFor([&] {
    const auto r = h.watcher->stats().rejectsByReason;
    return r.count("oversize-event") && r.at("oversize-event") == 2;  // one per open watch
  }));
  const auto stats = h.watcher->stats();
  CHECK(stats.of(ResourceKind::kService).relists == 0);  // skipped in place: no relist
  CHECK(stats.of(ResourceKind::kService).failures == 0);
  CHECK(stats.of(ResourceKind::kService).bytesDecoded > event);  // it was all read
  h.sink.locked([&] {
    CHECK(h.sink.services.count("default/huge") == 0);
    CHECK_THAT(h.sink.rejectMessages.back(),
               Catch::Contains("exceeds the bound of " + std::to_string(bound)));
  });
  // What the stream parser held at once: a fraction of the event (see event_stream_test for
  // why up to 3 x the bound rather than the bound itself).
  for (const auto kind : {ResourceKind::kService, ResourceKind::kEndpointSlice}) {
    CHECK(stats.of(kind).eventBufferPeak >= bound);
    CHECK(stats.of(kind).eventBufferPeak <= 3 * bound);
  }
}
