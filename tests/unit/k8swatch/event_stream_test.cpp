#include "k8swatch/event_stream.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "tests/support/sanitizer.h"

namespace json = boost::json;
using k8swatch::EventStreamParser;

namespace {

struct Collector {
  std::vector<std::string> events;
  std::vector<std::size_t> oversize;
  EventStreamParser parser(std::size_t limit) {
    return EventStreamParser(
        limit, [this](json::value&& v) { events.push_back(json::serialize(v)); },
        [this](std::size_t n) { oversize.push_back(n); });
  }
  // Text mode: the slice events the streaming decoder accepts come with their text, the rest
  // through the DOM. Both end up in `events` alike, so an outcome compares equal with and
  // without text mode.
  void textMode(EventStreamParser& p) {
    p.setSliceFn([this](k8swatch::SliceEvent&& ev, std::string_view text) {
      CHECK(ev.slice.serviceName == "v");
      events.push_back(json::serialize(json::parse(text)));
      ++handledAsText;
    });
  }
  std::size_t handledAsText = 0;
};

// The smallest EndpointSlice event the streaming decoder accepts (115 bytes).
const std::string kSlice = R"({"type":"ADDED","object":{"metadata":{"name":"s","labels":)"
                           R"({"kubernetes.io/service-name":"v"}},"addressType":"IPv4"}})";

const std::string kStream =
    R"({"type":"ADDED","object":{"s":"a \"q\" \\ {[}] \u00e9","n":[1,2,{"x":null}]}})"
    "\n"
    R"(  {"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}})"
    "\r\n\n"
    R"({"type":"DELETED","object":{}})"
    "\n" +
    kSlice;

}  // namespace

TEST_CASE("event stream: every split point of a stream gives the same events", "[stream]") {
  Collector whole;
  auto p = whole.parser(1 << 20);
  REQUIRE(p.feed(kStream));
  REQUIRE(whole.events.size() == 4);
  CHECK(p.idle());
  for (std::size_t a = 0; a <= kStream.size(); ++a) {
    for (std::size_t b = a; b <= kStream.size(); b += 7) {
      Collector c;
      auto q = c.parser(1 << 20);
      REQUIRE(q.feed(std::string_view(kStream).substr(0, a)));
      REQUIRE(q.feed(std::string_view(kStream).substr(a, b - a)));
      REQUIRE(q.feed(std::string_view(kStream).substr(b)));
      INFO("split at " << a << " and " << b);
      REQUIRE(c.events == whole.events);
    }
  }
}

TEST_CASE("event stream: byte-at-a-time, and a partial event is not idle", "[stream]") {
  Collector c;
  auto p = c.parser(1 << 20);
  for (std::size_t i = 0; i < 20; ++i) REQUIRE(p.feed(kStream.substr(i, 1)));
  CHECK_FALSE(p.idle());
  CHECK(c.events.empty());
  for (std::size_t i = 20; i < kStream.size(); ++i) REQUIRE(p.feed(kStream.substr(i, 1)));
  CHECK(p.idle());
  CHECK(c.events.size() == 4);
}

TEST_CASE("event stream: an oversize event is skipped and the stream continues", "[stream]") {
  Collector c;
  auto p = c.parser(100);
  const std::string big = R"({"type":"ADDED","object":{"pad":")" + std::string(1000, '}') + "\"}}";
  const std::string stream = big + "\n" + R"({"type":"BOOKMARK","object":{}})";
  for (std::size_t i = 0; i < stream.size(); i += 13) REQUIRE(p.feed(stream.substr(i, 13)));
  REQUIRE(c.oversize.size() == 1);
  CHECK(c.oversize[0] == big.size());
  REQUIRE(c.events.size() == 1);
  CHECK(c.events[0] == R"({"type":"BOOKMARK","object":{}})");
}

TEST_CASE("event stream: garbage is an error that sticks", "[stream]") {
  Collector c;
  auto p = c.parser(1 << 20);
  CHECK_FALSE(p.feed("hello"));
  CHECK_THAT(p.error(), Catch::Contains("unexpected byte"));
  CHECK_FALSE(p.feed(R"({"type":"ADDED","object":{}})"));
  Collector d;
  auto q = d.parser(1 << 20);
  CHECK_FALSE(q.feed(R"({"type":"ADDED","object":{"kind":nope}})"));
  CHECK_THAT(q.error(), Catch::Contains("invalid JSON"));
  Collector e;
  auto r = e.parser(1 << 20);
  CHECK_FALSE(r.feed("[1,2]"));  // events are objects
}

namespace {

// Everything a feed sequence observably produces.
struct Outcome {
  std::vector<std::string> events;
  std::vector<std::size_t> oversize;
  bool ok = true;
  std::string error;
  bool idle = true;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << o.events.size() << " events, oversize [";
  for (auto n : o.oversize) os << n << " ";
  return os << "], ok " << o.ok << ", idle " << o.idle << ", error \"" << o.error << "\"";
}

constexpr std::size_t kLimit = 160;

// Feeds `stream` cut at `cuts` (ascending offsets), stopping at the first failed feed.
Outcome feedSplit(const std::string& stream, const std::vector<std::size_t>& cuts,
                  bool text = false) {
  Collector c;
  auto p = c.parser(kLimit);
  if (text) c.textMode(p);
  Outcome out;
  std::size_t from = 0;
  auto bounds = cuts;
  bounds.push_back(stream.size());
  for (const std::size_t to : bounds) {
    out.ok = p.feed(std::string_view(stream).substr(from, to - from));
    from = to;
    if (!out.ok) break;
  }
  out.events = c.events;
  out.oversize = c.oversize;
  out.error = p.error();
  out.idle = p.idle();
  return out;
}

std::string padded(const std::string& head, std::size_t padding, const std::string& tail) {
  return head + std::string(padding, 'x') + tail;
}

}  // namespace

TEST_CASE("event stream: the outcome does not depend on where reads split", "[stream]") {
  const std::string good = R"({"type":"BOOKMARK","object":{}})";
  struct Case {
    const char* what;
    std::string stream;
    std::size_t events;
    std::size_t oversize;
    bool ok;
  };
  const std::string head = R"({"type":"ADDED","object":{"pad":")";
  // The first kLimit bytes of every event are parsed; the rest of an oversize one is scanned.
  const std::vector<Case> cases = {
      {"oversize valid event between good ones",
       good + "\n" + padded(head, 300, R"("}})") + "\n" + good, 2, 1, true},
      {"oversize event, invalid JSON within the bound",
       good + R"({"type":"ADDED","object":{"kind":nope,"pad":")" + std::string(300, 'x') +
           R"("}})" + good,
       1, 0, false},
      {"oversize event, invalid JSON past the bound",
       padded(head, 300, R"(","kind":nope}})") + good, 1, 1, true},
      {"oversize event with mismatched brackets past the bound",
       padded(head, 300, R"(","n":[1}]})") + good, 1, 1, true},
      {"small invalid event", good + R"({"type":"ADDED","object":{"kind":nope}})" + good, 1, 0,
       false},
      {"event of exactly the bound, then one byte over",
       padded(head, kLimit - head.size() - 3, R"("}})") +
           padded(head, kLimit - head.size() - 2, R"("}})") + good,
       2, 1, true},
      {"stream ending inside an oversize event", good + padded(head, 300, ""), 1, 0, true},
      {"slice events around unbalanced brackets",
       kSlice + R"({"type":"ADDED","object":{"a":[})" + kSlice + kSlice, 1, 0, false},
      {"slice events and a declined one", kSlice + good + kSlice, 3, 0, true},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const Outcome whole = feedSplit(c.stream, {});
    CHECK(whole.events.size() == c.events);
    CHECK(whole.oversize.size() == c.oversize);
    CHECK(whole.ok == c.ok);
    // Text mode finds the same events, oversize events and errors.
    CHECK(feedSplit(c.stream, {}, true) == whole);
    // Every single split point, every pair of split points 5 apart, and random multi-splits.
    for (std::size_t a = 0; a <= c.stream.size(); ++a) {
      INFO("split at " << a);
      REQUIRE(feedSplit(c.stream, {a}) == whole);
      if (a + 5 <= c.stream.size()) REQUIRE(feedSplit(c.stream, {a, a + 5}) == whole);
      REQUIRE(feedSplit(c.stream, {a}, true) == whole);
    }
    std::mt19937 rng(14);  // fixed seed: the same cuts on every run
    for (int round = 0; round < 200; ++round) {
      std::vector<std::size_t> cuts(rng() % 12);
      for (auto& cut : cuts) cut = rng() % (c.stream.size() + 1);
      std::sort(cuts.begin(), cuts.end());
      INFO("round " << round);
      REQUIRE(feedSplit(c.stream, cuts) == whole);
      REQUIRE(feedSplit(c.stream, cuts, true) == whole);
    }
    Outcome bytewise;  // one byte per read, the finest split
    {
      std::vector<std::size_t> cuts;
      for (std::size_t i = 1; i < c.stream.size(); ++i) cuts.push_back(i);
      bytewise = feedSplit(c.stream, cuts);
      CHECK(feedSplit(c.stream, cuts, true) == whole);
    }
    CHECK(bytewise == whole);
  }
}

TEST_CASE("event stream: text mode hands over whole events and parses only what it declines",
          "[stream]") {
  Collector c;
  auto p = c.parser(1 << 20);
  c.textMode(p);
  for (std::size_t i = 0; i < kStream.size(); i += 5) REQUIRE(p.feed(kStream.substr(i, 5)));
  CHECK(c.handledAsText == 1);
  Collector dom;
  auto q = dom.parser(1 << 20);
  REQUIRE(q.feed(kStream));
  CHECK(c.events == dom.events);
  // Invalid JSON is an error at the bad byte, as without text mode: a broken event whose
  // brackets never balance cannot hold back the events after it.
  Collector bad;
  auto r = bad.parser(1 << 20);
  bad.textMode(r);
  CHECK(r.feed(R"({"type":"ADDED","object":{"kind":)"));
  CHECK_FALSE(r.feed(R"(nope)"));
  CHECK_THAT(r.error(), Catch::Contains("invalid JSON"));
  Collector unbalanced;
  auto u = unbalanced.parser(1 << 20);
  unbalanced.textMode(u);
  CHECK_FALSE(u.feed(R"({"type":"ADDED","object":{"a":[})" + kSlice + kSlice));
  CHECK(unbalanced.events.empty());
}

TEST_CASE("event stream: a 100 MiB event is skipped holding no more than the bound", "[stream]") {
  // The reflector's default maxEventBytes and a 100 MiB event; an eighth of both under ASan.
  constexpr std::size_t kBound = (16u << 20) / testsupport::kHugeInputDivisor;
  constexpr std::size_t kPiece = kBound / 64;
  constexpr std::size_t kEvent = (100u << 20) / testsupport::kHugeInputDivisor;
  const bool text = GENERATE(false, true);
  INFO("text mode " << text);
  Collector c;
  auto p = c.parser(kBound);
  if (text) c.textMode(p);
  // One string value makes Boost.JSON buffer the partial string: the worst case for memory.
  const std::string head = R"({"type":"ADDED","object":{"kind":"Service","padding":")";
  const std::string tail = "\"}}\n";
  const std::string filler(kPiece, 'x');
  REQUIRE(p.feed(head));
  std::size_t fed = head.size();
  while (fed + kPiece + tail.size() <= kEvent) {
    REQUIRE(p.feed(filler));
    fed += kPiece;
  }
  REQUIRE(p.feed(std::string(kEvent - fed - tail.size(), 'y') + tail));
  REQUIRE(p.feed(R"({"type":"DELETED","object":{"kind":"Service"}})"));
  REQUIRE(c.oversize == std::vector<std::size_t>{kEvent - 1});  // the newline is not the event's
  REQUIRE(c.events.size() == 1);
  CHECK(p.idle());
  INFO("peak " << p.peakBufferedBytes());
  // Not kBound: Boost.JSON's buffer for a partial string grows by reallocating at about twice
  // the size, so old and new buffers (each under 2 x kBound) briefly coexist. 36 MiB measured
  // for the 16 MiB bound.
  CHECK(p.peakBufferedBytes() <= 3 * kBound);
  CHECK(p.peakBufferedBytes() >= kBound);  // it does count the partial string
  // Text mode holds the text alone, never past the bound, and checks it without a DOM (the
  // few KiB over are the idle DOM parser's own).
  if (text) CHECK(p.peakBufferedBytes() <= kBound + 64 * 1024);
}
