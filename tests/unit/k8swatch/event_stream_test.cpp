#include "k8swatch/event_stream.h"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

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
};

const std::string kStream =
    R"({"type":"ADDED","object":{"s":"a \"q\" \\ {[}] \u00e9","n":[1,2,{"x":null}]}})"
    "\n"
    R"(  {"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}})"
    "\r\n\n"
    R"({"type":"DELETED","object":{}})";

}  // namespace

TEST_CASE("event stream: every split point of a stream gives the same events", "[stream]") {
  Collector whole;
  auto p = whole.parser(1 << 20);
  REQUIRE(p.feed(kStream));
  REQUIRE(whole.events.size() == 3);
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
  CHECK(c.events.size() == 3);
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
