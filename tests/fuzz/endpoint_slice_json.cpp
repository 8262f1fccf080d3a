// libFuzzer target: one EndpointSlice object in JSON through k8swatch::decodeEndpointSlice. Checks
// that it never crashes or throws, that rejections say why, and that no address text with trailing
// junk is accepted (see fuzz_util.h). Differential: the streaming decoder must decline invalid
// JSON, and whatever it accepts, as an object or as the object of a watch event, must equal the
// DOM decoder's slice; decodeEndpointSliceText must give the DOM decoder's result, field by field.
#include "k8swatch/decode.h"
#include "k8swatch/decode_slice_stream.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using Result = k8swatch::Decoded<ipvs::EndpointSlice>;

bool same(const Result& a, const Result& b) {
  if (a.index() != b.index()) return false;
  if (const auto* s = std::get_if<ipvs::EndpointSlice>(&a)) {
    return *s == std::get<ipvs::EndpointSlice>(b);
  }
  if (const auto* r = std::get_if<k8swatch::Rejection>(&a)) {
    const auto& o = std::get<k8swatch::Rejection>(b);
    return r->kind == o.kind && r->object == o.object && r->reason == o.reason &&
           r->message == o.message;
  }
  const auto& s = std::get<k8swatch::Skipped>(a);
  return s.object == std::get<k8swatch::Skipped>(b).object &&
         s.why == std::get<k8swatch::Skipped>(b).why;
}

void differential(std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  const auto streamed = k8swatch::streamDecodeEndpointSlice(text);
  const auto event =
      k8swatch::streamDecodeSliceEvent(R"({"type":"MODIFIED","object":)" + std::string(text) + "}");
  boost::system::error_code textEc;
  const auto viaText = k8swatch::decodeEndpointSliceText(text, textEc);
  if (ec) {
    if (streamed || event) fuzz::fail("the streaming decoder accepted invalid JSON");
    if (!textEc) fuzz::fail("decodeEndpointSliceText missed invalid JSON");
    return;
  }
  const Result viaDom = k8swatch::decodeEndpointSlice(v);
  const auto* slice = std::get_if<ipvs::EndpointSlice>(&viaDom);
  if (streamed && (slice == nullptr || !(*streamed == *slice))) {
    fuzz::fail("the streaming decoder accepted what the DOM decoder decodes otherwise");
  }
  if (event && (slice == nullptr || !(event->slice == *slice))) {
    fuzz::fail("the streaming event decoder disagrees with the DOM decoder");
  }
  if (textEc || !same(viaText, viaDom)) fuzz::fail("decodeEndpointSliceText != DOM decoder");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  differential(fuzz::asText(data, size));
  return fuzz::fuzzDecoder(
      data, size, [](const boost::json::value& v) { return k8swatch::decodeEndpointSlice(v); });
}
