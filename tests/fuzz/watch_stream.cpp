// libFuzzer target: the watch-stream splitter (k8swatch::EventStreamParser). The outcome of a
// stream (the events, the oversize events skipped, whether it failed) must not depend on where
// the network split it, so the same bytes are fed whole, byte by byte and in pieces whose sizes
// come from the input, and the three outcomes must be equal.
//
// Text mode (the reflector's for EndpointSlices: the streaming slice decoder, which is also the
// syntax check) must give the same outcome as the DOM, for every split, and every event it
// accepts must be valid JSON whose DOM decodes to the same slice.
//
// Input: byte 0 sets the event bound (16 + 8 * b0 bytes, small so that oversize events are
// common), byte 1 seeds the piece sizes, the rest is the stream.
#include <algorithm>
#include <string>
#include <vector>

#include "k8swatch/decode_slice_stream.h"
#include "k8swatch/event_stream.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

struct Outcome {
  std::vector<std::string> log;  // "event {...}" and "oversize N", in order
  bool failed = false;
  bool idle = true;
};

// An event text mode's decoder accepted, checked against the DOM decoder.
void streamed(const k8swatch::SliceEvent& ev, std::string_view text, Outcome& out) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  const auto* object = ec ? nullptr : v.as_object().if_contains("object");
  if (object == nullptr) fuzz::fail("the streaming decoder accepted a malformed event");
  const auto dom = k8swatch::decodeEndpointSlice(*object);
  const auto* slice = std::get_if<ipvs::EndpointSlice>(&dom);
  if (slice == nullptr || !(*slice == ev.slice)) {
    fuzz::fail("the streaming decoder disagrees with the DOM decoder on a watch event");
  }
  out.log.push_back("event " + serialize(v));  // as the DOM path logs it
}

template <class Split>
Outcome run(std::size_t bound, std::string_view stream, Split nextPiece, bool text = false) {
  Outcome out;
  k8swatch::EventStreamParser parser(
      bound, [&](boost::json::value&& v) { out.log.push_back("event " + serialize(v)); },
      [&](std::size_t bytes) { out.log.push_back("oversize " + std::to_string(bytes)); });
  if (text) {
    parser.setSliceFn(
        [&out](k8swatch::SliceEvent&& ev, std::string_view t) { streamed(ev, t, out); });
  }
  while (!stream.empty() && !out.failed) {
    const std::size_t n = std::min(stream.size(), nextPiece());
    out.failed = !parser.feed(stream.substr(0, n));
    stream.remove_prefix(n);
  }
  out.idle = parser.idle();
  return out;
}

std::string describe(const Outcome& o) {
  std::string s = o.failed ? "failed" : (o.idle ? "idle" : "inside an event");
  for (const auto& line : o.log) s += "\n  " + line.substr(0, 120);
  return s;
}

void compare(const Outcome& whole, const Outcome& split, const char* how) {
  // After a failure the stream is abandoned (relist), so what follows it does not matter.
  if (whole.failed == split.failed && whole.log == split.log &&
      (whole.failed || whole.idle == split.idle)) {
    return;
  }
  fuzz::fail(std::string("watch stream outcome depends on read boundaries (") + how +
             ")\nwhole: " + describe(whole) + "\nsplit: " + describe(split));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t bound = 16 + 8 * std::size_t{data[0]};
  std::uint32_t state = 0x9e3779b9u ^ (std::uint32_t{data[1]} * 0x01000193u);
  const std::string_view stream = fuzz::asText(data + 2, size - 2);

  const auto all = [] { return std::size_t(-1); };
  const auto one = [] { return std::size_t{1}; };
  const Outcome whole = run(bound, stream, all);
  compare(whole, run(bound, stream, all, true), "text mode, whole");
  if (stream.size() <= 4096) {
    compare(whole, run(bound, stream, one), "byte by byte");
    compare(whole, run(bound, stream, one, true), "text mode, byte by byte");
  }
  const auto pieces = [&state] {  // xorshift32: sizes 1..64, mostly small
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return std::size_t{1} + (state % 64u >> (state >> 30));
  };
  compare(whole, run(bound, stream, pieces), "pieces of 1..64 bytes");
  compare(whole, run(bound, stream, pieces, true), "text mode, pieces of 1..64 bytes");
  return 0;
}
