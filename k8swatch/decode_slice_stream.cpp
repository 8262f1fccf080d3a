// The streaming EndpointSlice decoder's entry points (see decode_slice_stream.h); the handler
// that does the work is in slice_stream_handler.h.

#include "k8swatch/decode_slice_stream.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include "k8swatch/slice_stream_handler.h"

namespace k8swatch {

namespace json = boost::json;
using detail::NameCache;
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

// SliceHandler for an incremental parse: after a decline it only lets the parser go on, so
// that the syntax check (the parser's own) runs to the event's end whatever the handler did.
class CheckedSliceHandler {
 public:
  static constexpr std::size_t max_object_size = SliceHandler::max_object_size;
  static constexpr std::size_t max_array_size = SliceHandler::max_array_size;
  static constexpr std::size_t max_key_size = SliceHandler::max_key_size;
  static constexpr std::size_t max_string_size = SliceHandler::max_string_size;
  using Ec = boost::system::error_code;
  using Sv = json::string_view;

  explicit CheckedSliceHandler(NameCache& names) : slice_(std::in_place, true, &names) {}

  bool on_document_begin(Ec&) { return pass(&SliceHandler::on_document_begin); }
  bool on_document_end(Ec&) { return pass(&SliceHandler::on_document_end); }
  bool on_object_begin(Ec&) { return pass(&SliceHandler::on_object_begin); }
  bool on_object_end(std::size_t n, Ec&) { return pass(&SliceHandler::on_object_end, n); }
  bool on_array_begin(Ec&) { return pass(&SliceHandler::on_array_begin); }
  bool on_array_end(std::size_t n, Ec&) { return pass(&SliceHandler::on_array_end, n); }
  bool on_key_part(Sv s, std::size_t n, Ec&) { return pass(&SliceHandler::on_key_part, s, n); }
  bool on_key(Sv s, std::size_t n, Ec&) { return pass(&SliceHandler::on_key, s, n); }
  bool on_string_part(Sv s, std::size_t n, Ec&) {
    return pass(&SliceHandler::on_string_part, s, n);
  }
  bool on_string(Sv s, std::size_t n, Ec&) { return pass(&SliceHandler::on_string, s, n); }
  bool on_number_part(Sv s, Ec&) { return pass(&SliceHandler::on_number_part, s); }
  bool on_int64(std::int64_t i, Sv s, Ec&) { return pass(&SliceHandler::on_int64, i, s); }
  bool on_uint64(std::uint64_t u, Sv s, Ec&) { return pass(&SliceHandler::on_uint64, u, s); }
  bool on_double(double d, Sv s, Ec&) { return pass(&SliceHandler::on_double, d, s); }
  bool on_bool(bool b, Ec&) { return pass(&SliceHandler::on_bool, b); }
  bool on_null(Ec&) { return pass(&SliceHandler::on_null); }
  bool on_comment_part(Sv, Ec&) { return true; }
  bool on_comment(Sv, Ec&) { return true; }

  // The handler, or nullptr after a decline.
  SliceHandler* slice() { return slice_ ? &*slice_ : nullptr; }

 private:
  // The handler's own error code is only ever a decline: it never sees the parser's.
  template <class Fn, class... Args>
  bool pass(Fn fn, Args... args) {
    if (!slice_) return true;
    Ec ec;
    if (!((*slice_).*fn)(args..., ec)) slice_.reset();
    return true;
  }

  std::optional<SliceHandler> slice_;
};

}  // namespace

struct SliceEventParser::Impl {
  NameCache names;  // across events
  std::optional<json::basic_parser<CheckedSliceHandler>> parser;
};

SliceEventParser::SliceEventParser() : impl_(std::make_unique<Impl>()) {}
SliceEventParser::~SliceEventParser() = default;

void SliceEventParser::start() { impl_->parser.emplace(json::parse_options(), impl_->names); }

std::size_t SliceEventParser::write(const char* p, std::size_t n, boost::system::error_code& ec) {
  return impl_->parser->write_some(true, p, n, ec);
}

bool SliceEventParser::done() const { return impl_->parser && impl_->parser->done(); }

std::optional<SliceEvent> SliceEventParser::take() {
  SliceHandler* h = impl_->parser->handler().slice();
  if (h == nullptr) return std::nullopt;
  auto slice = h->finish();
  std::string type = h->eventType();
  if (!slice || (type != "ADDED" && type != "MODIFIED")) return std::nullopt;
  return SliceEvent{std::move(type), std::move(*slice)};
}

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
