// The streaming EndpointSlice decoder against the DOM decoder it must agree with: valid slices
// are decoded by the streaming path itself and equal the DOM result; everything the DOM decoder
// rejects or skips is declined and comes back as the DOM decoder's own rejection; unknown
// fields, duplicate keys, hostile nesting and sizes. Every slice field's rejection is also run
// through decodeEndpointSliceText in decode_bad_test.cpp.

#include "k8swatch/decode_slice_stream.h"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "k8swatch/slice_stream_handler.h"

namespace json = boost::json;
using namespace k8swatch;

namespace {

std::string slice(const std::string& endpoints, const std::string& ports = R"([{"port":80}])",
                  const std::string& type = "IPv4", const std::string& extra = "") {
  return R"({"metadata":{"name":"web-abc","namespace":"shop","resourceVersion":"7",
    "labels":{"kubernetes.io/service-name":"web"}},"addressType":")" +
         type + R"(","ports":)" + ports + R"(,"endpoints":)" + endpoints + extra + "}";
}

// decodeEndpointSliceText(text) must be exactly decodeEndpointSlice(json::parse(text)).
Decoded<ipvs::EndpointSlice> sameAsDom(const std::string& text) {
  INFO(text.substr(0, 300));
  boost::system::error_code ec;
  auto viaText = decodeEndpointSliceText(text, ec);
  REQUIRE_FALSE(ec);
  const auto viaDom = decodeEndpointSlice(json::parse(text));
  REQUIRE(viaText.index() == viaDom.index());
  if (const auto* s = std::get_if<ipvs::EndpointSlice>(&viaDom)) {
    CHECK(std::get<ipvs::EndpointSlice>(viaText) == *s);
  } else if (const auto* r = std::get_if<Rejection>(&viaDom)) {
    const auto& t = std::get<Rejection>(viaText);
    CHECK(t.kind == r->kind);
    CHECK(t.object == r->object);
    CHECK(t.reason == r->reason);
    CHECK(t.message == r->message);
  } else {
    CHECK(std::get<Skipped>(viaText).object == std::get<Skipped>(viaDom).object);
    CHECK(std::get<Skipped>(viaText).why == std::get<Skipped>(viaDom).why);
  }
  return viaText;
}

// Decoded by the streaming path itself (not by declining to the DOM), and equal to the DOM's.
ipvs::EndpointSlice streamed(const std::string& text) {
  INFO(text.substr(0, 300));
  auto s = streamDecodeEndpointSlice(text);
  REQUIRE(s.has_value());
  const auto d = sameAsDom(text);
  REQUIRE(std::holds_alternative<ipvs::EndpointSlice>(d));
  return *s;
}

// Declined by the streaming path; the text path still gives the DOM decoder's answer.
Decoded<ipvs::EndpointSlice> declined(const std::string& text) {
  INFO(text.substr(0, 300));
  CHECK_FALSE(streamDecodeEndpointSlice(text).has_value());
  return sameAsDom(text);
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST_CASE("slice stream: a full slice with defaults, hints and ports", "[decode][stream]") {
  const auto s = streamed(slice(R"([
    {"addresses":["10.1.0.1","10.1.0.99"],"conditions":{"ready":true},"nodeName":"n1","zone":"z1",
     "hints":{"forZones":[{"name":"z1"},{"name":"z2"}],"forNodes":[{"name":"n1"}]},"targetRef":{}},
    {"addresses":["10.1.0.2"],"conditions":{"ready":false}},
    {"addresses":["10.1.0.3"],"conditions":{"ready":false,"serving":true,"terminating":true}},
    {"addresses":["10.1.0.4"],"hints":null,"zone":null},
    {"addresses":["10.1.0.5"],"conditions":{"ready":null,"serving":null}}])",
                                R"([{"name":"http","port":8080},
    {"name":"dns","protocol":"UDP","port":53},{"name":"sctp","protocol":"SCTP","port":9},
    {"name":"unset","port":null},{"protocol":"TCP"}])"));
  CHECK(s.key == ipvs::ObjectKey{"shop", "web-abc"});
  CHECK(s.serviceName == "web");
  CHECK(s.resourceVersion == "7");
  REQUIRE(s.ports.size() == 5);
  CHECK(s.ports[1] == ipvs::EndpointPort{"dns", ipvs::Protocol::kUdp, 53});
  CHECK(s.ports[2] == ipvs::EndpointPort{"sctp", ipvs::Protocol::kSctp, 9});
  CHECK(s.ports[4] == ipvs::EndpointPort{"", ipvs::Protocol::kTcp, 0});
  REQUIRE(s.endpoints.size() == 5);
  CHECK(s.endpoints[0].hintZones == ipvs::NameList{"z1", "z2"});
  CHECK(s.endpoints[0].hintNodes == ipvs::NameList{"n1"});
  CHECK((!s.endpoints[1].ready && !s.endpoints[1].serving && !s.endpoints[1].terminating));
  CHECK((!s.endpoints[2].ready && s.endpoints[2].serving && s.endpoints[2].terminating));
  CHECK((s.endpoints[4].ready && s.endpoints[4].serving));
}

TEST_CASE("slice stream: IPv6, empty and null lists, escapes, member order", "[decode][stream]") {
  CHECK(streamed(slice(R"([{"addresses":["fd00::5"]}])", "[]", "IPv6")).addressType ==
        ipvs::Family::kV6);
  CHECK(streamed(slice("null", "null")).endpoints.empty());
  CHECK(streamed(slice("[]", "[]")).ports.empty());
  // Escaped keys and values are compared and stored unescaped.
  const auto e = streamed(slice(R"([{"addr\u0065sses":["10.0.0.1"],"nodeName":"n\u002d1"}])"));
  CHECK(e.endpoints[0].nodeName == "n-1");
  // Metadata after the endpoints is fine; only the address family must come first.
  streamed(R"({"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"]}],"metadata":
    {"labels":{"kubernetes.io/service-name":"s"},"name":"n"}})");
}

TEST_CASE("slice stream: unknown fields are skipped whatever they hold", "[decode][stream]") {
  const std::string junk =
      R"({"a":[1,2.5,-3,true,null,"x",{"b":[[{}]]}],"c":18446744073709551615})";
  const auto s = streamed(slice(R"([{"addresses":["10.0.0.1","not an ip",7,null,{"x":1}],"x":)" +
                                    junk + R"(,"targetRef":)" + junk + "}]",
                                R"([{"port":1,"appProtocol":"h2c","x":)" + junk + "}]", "IPv4",
                                R"(,"kind":"EndpointSlice","other":)" + junk));
  CHECK(s.endpoints.size() == 1);
  // Other labels are neither read nor type-checked by the decoder.
  streamed(R"({"metadata":{"name":"n","labels":{"a":5,"kubernetes.io/service-name":"s","b":{}}},
    "addressType":"IPv4"})");
  // Nesting up to the parser's limit inside an unknown field.
  streamed(slice("[]", "[]", "IPv4", R"(,"deep":)" + nested(30)));
}

TEST_CASE("slice stream: every rejection is the DOM decoder's", "[decode][stream]") {
  const std::vector<std::string> bad = {
      slice(R"([{"addresses":["10.1.0.300"]}])"),
      slice(R"([{"addresses":["fd00::1"]}])"),
      slice(R"([{"addresses":[]}])"),
      slice(R"([{"addresses":null}])"),
      slice(R"([{"nodeName":"n"}])"),
      slice(R"([{"addresses":"10.0.0.1"}])"),
      slice(R"([{"addresses":[null]}])"),
      slice(R"([{"addresses":["10.0.0.1"],"conditions":{"ready":"yes"}}])"),
      slice(R"([{"addresses":["10.0.0.1"],"conditions":[]}])"),
      slice(R"([{"addresses":["10.0.0.1"],"nodeName":1}])"),
      slice(R"([{"addresses":["10.0.0.1"],"zone":")" + std::string(300, 'z') + "\"}]"),
      slice(R"([{"addresses":["10.0.0.1"],"hints":{"forZones":[{"name":2}]}}])"),
      slice(R"([{"addresses":["10.0.0.1"],"hints":{"forNodes":[null]}}])"),
      slice(R"([{"addresses":["10.0.0.1"]}, 3])"),
      slice(R"([{"addresses":["10.0.0.1"]}, null])"),
      slice("[]", R"([{"port":65536}])"),
      slice("[]", R"([{"port":-1}])"),
      slice("[]", R"([{"port":80.0}])"),
      slice("[]", R"([{"port":18446744073709551615}])"),
      slice("[]", R"([{"port":"80"}])"),
      slice("[]", R"([{"port":80,"protocol":"tcp6"}])"),
      slice("[]", R"([{"port":80,"name":")" + std::string(254, 'p') + "\"}]"),
      slice("[]", "{}"),
      slice("{}", "[]"),
      slice("[]", "[]", "IPv7"),
      R"({"metadata":{"name":"x","namespace":"d"},"addressType":"IPv4"})",
      R"({"metadata":{"name":"x","labels":{"kubernetes.io/service-name":""}},"addressType":"IPv4"})",
      R"({"metadata":{"name":"x","labels":{"kubernetes.io/service-name":"s"}}})",
      R"({"metadata":{"name":"x","labels":{"kubernetes.io/service-name":"s"}},"addressType":null})",
      R"({"metadata":{"name":"","labels":{"kubernetes.io/service-name":"s"}},"addressType":"IPv4"})",
      R"({"metadata":{"namespace":"d"},"addressType":"IPv4"})",
      R"({"metadata":null,"addressType":"IPv4"})",
      R"({"metadata":{"name":5},"addressType":"IPv4"})",
      R"({"metadata":{"name":"x","resourceVersion":[]},"addressType":"IPv4"})",
      R"({"metadata":{"name":"x","labels":[]},"addressType":"IPv4"})",
      R"([1])",
      R"("slice")",
      "null",
  };
  for (const auto& text : bad) {
    INFO(text);
    CHECK(std::holds_alternative<Rejection>(declined(text)));
  }
  // FQDN slices are skipped, not rejected: the DOM decoder's Skipped comes back.
  CHECK(std::holds_alternative<Skipped>(
      declined(slice(R"([{"addresses":["db.x"]}])", "[]", "FQDN"))));
}

TEST_CASE("slice stream: declines what it cannot know in one pass", "[decode][stream]") {
  // The family is needed to check an address: endpoints before addressType go through the DOM.
  CHECK(std::holds_alternative<ipvs::EndpointSlice>(declined(
      R"({"metadata":{"name":"n","labels":{"kubernetes.io/service-name":"s"}},
      "endpoints":[{"addresses":["10.0.0.1"]}],"addressType":"IPv4"})")));
  // boost::json keeps the last of duplicate keys; the stream declines rather than guess.
  const auto dup = declined(slice(R"([{"addresses":["10.0.0.1"],"nodeName":"a","nodeName":"b"}])"));
  REQUIRE(std::holds_alternative<ipvs::EndpointSlice>(dup));
  CHECK(std::get<ipvs::EndpointSlice>(dup).endpoints[0].nodeName == "b");
  declined(slice("[]", "[]", "IPv4", R"(,"metadata":{"name":"other"})"));
  declined(slice("[]", "[]", "IPv4", R"(,"addressType":"IPv6")"));
  // Duplicates of fields the decoder never reads change nothing and are streamed.
  streamed(slice("[]", "[]", "IPv4", R"(,"kind":"a","kind":"b")"));
}

TEST_CASE("slice stream: hostile sizes and depth", "[decode][stream]") {
  std::string many = "[";
  for (std::size_t i = 0; i <= kMaxEndpoints; ++i) many += R"({"addresses":["10.0.0.1"]},)";
  many.back() = ']';
  const auto tooMany = declined(slice(many));
  REQUIRE(std::holds_alternative<Rejection>(tooMany));
  CHECK(std::get<Rejection>(tooMany).reason == reason::kTooLarge);
  std::string labels = R"({"metadata":{"name":"n","labels":{"kubernetes.io/service-name":"s")";
  for (std::size_t i = 0; i < kMaxLabels; ++i) labels += ",\"l" + std::to_string(i) + "\":\"v\"";
  declined(labels + R"(}},"addressType":"IPv4"})");
  // Nesting past the parser's limit is invalid JSON, for both paths alike.
  const std::string deep = slice("[]", "[]", "IPv4", R"(,"deep":)" + nested(100000));
  CHECK_FALSE(streamDecodeEndpointSlice(deep).has_value());
  boost::system::error_code ec;
  const auto r = decodeEndpointSliceText(deep, ec);
  CHECK(ec);
  CHECK(std::holds_alternative<Rejection>(r));
  CHECK_FALSE(streamDecodeEndpointSlice(slice("[]") + " x").has_value());
  CHECK_FALSE(streamDecodeEndpointSlice(slice("[]").substr(0, 40)).has_value());
}

TEST_CASE("slice stream: watch events", "[decode][stream]") {
  const std::string object = slice(R"([{"addresses":["10.0.0.1"]}])");
  const auto modified = streamDecodeSliceEvent(R"({"type":"MODIFIED","object":)" + object + "}");
  REQUIRE(modified.has_value());
  CHECK(modified->type == "MODIFIED");
  CHECK(modified->slice == std::get<ipvs::EndpointSlice>(decodeEndpointSlice(json::parse(object))));
  // The type may follow the object.
  const auto added = streamDecodeSliceEvent(R"({"object":)" + object + R"(,"type":"ADDED"})");
  REQUIRE(added.has_value());
  CHECK(added->type == "ADDED");
  // Everything else is left to the DOM path.
  for (const std::string& ev : std::vector<std::string>{
           R"({"type":"DELETED","object":)" + object + "}",
           R"({"type":"BOOKMARK","object":)" + object + "}",
           R"({"type":"ERROR","object":{"kind":"Status","code":410}})",
           R"({"type":null,"object":)" + object + "}", R"({"type":"ADDED","object":null})",
           R"({"type":"ADDED"})", R"({"object":)" + object + "}",
           R"({"type":"ADDED","type":"ADDED","object":)" + object + "}",
           R"({"type":"ADDED","object":)" + slice(R"([{"addresses":[]}])") + "}"}) {
    INFO(ev);
    CHECK_FALSE(streamDecodeSliceEvent(ev).has_value());
  }
}

namespace {

// One event through SliceEventParser in pieces of `piece` bytes: the bytes it used, and ec.
std::size_t parseInPieces(SliceEventParser& p, std::string_view text, std::size_t piece,
                          boost::system::error_code& ec) {
  p.start();
  std::size_t used = 0;
  while (used < text.size() && !p.done()) {
    const std::size_t n = std::min(piece, text.size() - used);
    const std::size_t took = p.write(text.data() + used, n, ec);
    used += took;
    if (ec || took < n) break;
  }
  return used;
}

}  // namespace

TEST_CASE("slice stream: an event parsed as it arrives", "[decode][stream]") {
  const std::string object = slice(R"([{"addresses":["10.0.0.1"],"nodeName":"n1","zone":"z"},)"
                                   R"({"addresses":["10.0.0.2"],"nodeName":"n1","zone":"z"}])");
  const std::string event = R"({"type":"ADDED","object":)" + object + "}";
  const auto whole = streamDecodeSliceEvent(event);
  REQUIRE(whole.has_value());
  SliceEventParser p;
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, event.size()}) {
    INFO("pieces of " << piece);
    boost::system::error_code ec;
    // It stops at the event's end, taking the whitespace after it but not the next event.
    const std::size_t used = parseInPieces(p, event + " \n{}", piece, ec);
    CHECK(used >= event.size());
    CHECK(used <= event.size() + 2);
    CHECK_FALSE(ec);
    REQUIRE(p.done());
    auto ev = p.take();
    REQUIRE(ev.has_value());
    CHECK(ev->slice == whole->slice);
    // Names repeated across endpoints and events are one interned Name.
    CHECK(ev->slice.endpoints[0].nodeName.view().data() ==
          ev->slice.endpoints[1].nodeName.view().data());
  }
  // A decline stops the decoding, never the syntax check: invalid JSON after it is still found
  // at the bad byte, before the event could end.
  for (const std::string& bad : {std::string(R"({"type":"ADDED","type":"ADDED","object":[})"),
                                 std::string(R"({"type":"DELETED","object":{"a":nope}})")}) {
    INFO(bad);
    boost::system::error_code ec;
    const std::size_t used = parseInPieces(p, bad, 3, ec);
    CHECK(ec == json::error::syntax);
    CHECK(used < bad.size());
    CHECK_FALSE(p.done());
  }
  // A declined but valid event is complete, and nothing is taken from it.
  boost::system::error_code ec;
  for (const std::string& declined :
       {R"({"type":"DELETED","object":)" + object + "}",
        R"({"type":"ADDED","type":"ADDED","object":)" + object + "}"}) {
    INFO(declined);
    CHECK(parseInPieces(p, declined, 5, ec) == declined.size());
    CHECK_FALSE(ec);
    REQUIRE(p.done());
    CHECK_FALSE(p.take().has_value());
  }
}

TEST_CASE("slice stream: the name cache is bounded", "[decode][stream]") {
  detail::NameCache names;
  const ipvs::Name first = names.get("node-a");
  CHECK(names.get("node-a").view().data() == first.view().data());
  for (std::size_t i = 0; i < 3 * detail::NameCache::kMaxNames; ++i) {
    CHECK(names.get("node-" + std::to_string(i)).view() == "node-" + std::to_string(i));
    REQUIRE(names.size() <= detail::NameCache::kMaxNames);
  }
  CHECK(names.get("node-a") == first);
}
