#pragma once
// Internal helpers shared by the decoders (not part of the public API). Lookups treat an absent
// field and a JSON null alike ("not set"); a present field of the wrong type fails the decode.
// The error path ("spec.ports[1].port") is built from the inside out, only when decoding fails,
// so the happy path allocates nothing for diagnostics.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ipvs/model.h"
#include "k8swatch/decode.h"

namespace k8swatch::detail {

class DecodeContext {
 public:
  bool ok() const { return reason_.empty(); }
  std::string_view reason() const { return reason_; }

  // Records the first failure; always returns false so callers can `return ctx.fail(...)`.
  bool fail(std::string_view reason, std::string_view field, std::string detail);
  // Prefixes the failing path with an enclosing field or array element.
  void within(std::string_view parent);
  void withinIndex(std::string_view parent, std::size_t index);

  Rejection rejection(ResourceKind kind, const std::string& object) const;

 private:
  std::string_view reason_;
  std::string path_;
  std::string detail_;
};

const boost::json::value* field(const boost::json::object& o, std::string_view key);

const boost::json::object* optObject(DecodeContext& ctx, const boost::json::object& o,
                                     std::string_view key);
const boost::json::array* optArray(DecodeContext& ctx, const boost::json::object& o,
                                   std::string_view key);
std::optional<std::string_view> optString(DecodeContext& ctx, const boost::json::object& o,
                                          std::string_view key);
// A string of at most kMaxNameLength bytes (names, zones, resource versions).
std::optional<std::string_view> optName(DecodeContext& ctx, const boost::json::object& o,
                                        std::string_view key);
std::optional<std::string_view> asName(DecodeContext& ctx, const boost::json::value& v,
                                       std::string_view what);
std::optional<bool> optBool(DecodeContext& ctx, const boost::json::object& o, std::string_view key);
std::optional<std::int64_t> optInt(DecodeContext& ctx, const boost::json::object& o,
                                   std::string_view key);

// Value-level conversions; `what` names the value in the error path.
std::optional<std::string_view> asString(DecodeContext& ctx, const boost::json::value& v,
                                         std::string_view what);
std::optional<std::int64_t> asInt(DecodeContext& ctx, const boost::json::value& v,
                                  std::string_view what);

// A port in 1..65535 (or 0..65535 when allowZero); a missing port yields 0 when allowZero.
bool readPort(DecodeContext& ctx, const boost::json::object& o, std::string_view key,
              bool allowZero, std::uint16_t& out);
std::optional<ipvs::IpAddress> parseIp(DecodeContext& ctx, const boost::json::value& v,
                                       std::string_view what);
// Protocol with the API default TCP when absent.
std::optional<ipvs::Protocol> readProtocol(DecodeContext& ctx, const boost::json::object& o);

// metadata.labels / metadata.annotations: a string map, sorted into StringPairs.
bool readStringMap(DecodeContext& ctx, const boost::json::object& meta, std::string_view key,
                   ipvs::StringPairs& out);
// A list of strings; each is passed to `each` (returning false stops with failure).
template <class F>
bool forEachString(DecodeContext& ctx, const boost::json::array& a, std::string_view what,
                   F&& each) {
  if (a.size() > kMaxAddresses) return ctx.fail(reason::kTooLarge, what, "too many items");
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto s = asString(ctx, a[i], "");
    if (!s || !each(*s)) {
      ctx.withinIndex(what, i);
      return false;
    }
  }
  return true;
}

// metadata fields common to all objects. Fails with kMissingName when the name is absent.
struct Metadata {
  const boost::json::object* meta = nullptr;
  ipvs::ObjectKey key;
  std::string resourceVersion;
};
bool readMetadata(DecodeContext& ctx, const boost::json::object& obj, bool namespaced,
                  Metadata& out);

// The start of every decode: `v` must be an object with valid metadata. On failure the
// Rejection already names the object as well as it can.
struct Preamble {
  const boost::json::object* object = nullptr;
  Metadata md;
};
std::variant<Preamble, Rejection> readPreamble(DecodeContext& ctx, const boost::json::value& v,
                                               ResourceKind kind);

std::string objectName(const boost::json::value& v);  // best effort "ns/name" for messages
// A value for a message: in quotes, control bytes escaped, cut after a few dozen bytes, so a
// hostile value never makes a huge or binary log line.
std::string quoted(std::string_view s);

}  // namespace k8swatch::detail
