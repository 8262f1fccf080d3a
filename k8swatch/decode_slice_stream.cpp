// The streaming EndpointSlice decoder's entry points (see decode_slice_stream.h); the handler
// that does the work is in slice_stream_handler.h.

#include "k8swatch/decode_slice_stream.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include "k8swatch/slice_stream_handler.h"

namespace k8swatch {

namespace json = boost::json;
using detail::SliceHandler;

namespace {

// Parses `json` with the streaming handler; nullopt when it declines or the JSON is invalid.
std::optional<ipvs::EndpointSlice> run(std::string_view json, bool event, std::string* type) {
  json::basic_parser<SliceHandler> parser(json::parse_options(), event);
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(false, json.data(), json.size(), ec);
  if (ec || used != json.size()) return std::nullopt;
  if (type != nullptr) *type = parser.handler().eventType();
  return parser.handler().finish();
}

}  // namespace

std::optional<ipvs::EndpointSlice> streamDecodeEndpointSlice(std::string_view json) {
  return run(json, false, nullptr);
}

Decoded<ipvs::EndpointSlice> decodeEndpointSliceText(std::string_view json,
                                                     boost::system::error_code& ec) {
  ec = {};
  if (auto slice = streamDecodeEndpointSlice(json)) return std::move(*slice);
  const json::value v = json::parse(json, ec);
  if (ec) {
    return Rejection{ResourceKind::kEndpointSlice, "<unnamed>", reason::kNotObject,
                     "EndpointSlice: invalid JSON: " + ec.message()};
  }
  return decodeEndpointSlice(v);
}

std::optional<SliceEvent> streamDecodeSliceEvent(std::string_view json) {
  std::string type;
  auto slice = run(json, true, &type);
  if (!slice || (type != "ADDED" && type != "MODIFIED")) return std::nullopt;
  return SliceEvent{std::move(type), std::move(*slice)};
}

}  // namespace k8swatch
