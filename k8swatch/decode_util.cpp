#include "k8swatch/decode_util.h"

#include <algorithm>

namespace k8swatch::detail {

namespace json = boost::json;

bool DecodeContext::fail(std::string_view reason, std::string_view field, std::string detail) {
  if (ok()) {
    reason_ = reason;
    path_ = std::string(field);
    detail_ = std::move(detail);
  }
  return false;
}

void DecodeContext::within(std::string_view parent) {
  if (parent.empty()) return;
  if (path_.empty() || path_.front() == '[') {
    path_.insert(0, parent);
  } else {
    path_.insert(0, std::string(parent) + ".");
  }
}

void DecodeContext::withinIndex(std::string_view parent, std::size_t index) {
  const std::string element = std::string(parent) + "[" + std::to_string(index) + "]";
  within(element);
}

Rejection DecodeContext::rejection(ResourceKind kind, const std::string& object) const {
  std::string message = std::string(resourceKindName(kind)) + " " + object + ": ";
  if (!path_.empty()) message += path_ + ": ";
  message += detail_;
  return Rejection{kind, object, reason_, std::move(message)};
}

const json::value* field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

namespace {
std::string_view kindOf(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "value";
}

bool wrongType(DecodeContext& ctx, std::string_view what, std::string_view want,
               const json::value& v) {
  return ctx.fail(reason::kBadType, what,
                  "want " + std::string(want) + ", got " + std::string(kindOf(v)));
}
}  // namespace

const json::object* optObject(DecodeContext& ctx, const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  if (v == nullptr) return nullptr;
  if (const auto* obj = v->if_object()) return obj;
  wrongType(ctx, key, "object", *v);
  return nullptr;
}

const json::array* optArray(DecodeContext& ctx, const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  if (v == nullptr) return nullptr;
  if (const auto* a = v->if_array()) return a;
  wrongType(ctx, key, "array", *v);
  return nullptr;
}

std::optional<std::string_view> asString(DecodeContext& ctx, const json::value& v,
                                         std::string_view what) {
  if (const auto* s = v.if_string()) return std::string_view(*s);
  wrongType(ctx, what, "string", v);
  return std::nullopt;
}

std::optional<std::int64_t> asInt(DecodeContext& ctx, const json::value& v, std::string_view what) {
  if (const auto* i = v.if_int64()) return *i;
  if (const auto* u = v.if_uint64()) {
    if (*u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(*u);
    ctx.fail(reason::kBadValue, what, "integer too large");
    return std::nullopt;
  }
  wrongType(ctx, what, "integer", v);
  return std::nullopt;
}

std::optional<std::string_view> optString(DecodeContext& ctx, const json::object& o,
                                          std::string_view key) {
  const json::value* v = field(o, key);
  return v == nullptr ? std::nullopt : asString(ctx, *v, key);
}

std::optional<std::string_view> asName(DecodeContext& ctx, const json::value& v,
                                       std::string_view what) {
  auto s = asString(ctx, v, what);
  if (s && s->size() > kMaxNameLength) {
    ctx.fail(reason::kTooLarge, what,
             std::to_string(s->size()) + " bytes, over " + std::to_string(kMaxNameLength));
    return std::nullopt;
  }
  return s;
}

std::optional<std::string_view> optName(DecodeContext& ctx, const json::object& o,
                                        std::string_view key) {
  const json::value* v = field(o, key);
  return v == nullptr ? std::nullopt : asName(ctx, *v, key);
}

std::optional<bool> optBool(DecodeContext& ctx, const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  if (v == nullptr) return std::nullopt;
  if (const auto* b = v->if_bool()) return *b;
  wrongType(ctx, key, "bool", *v);
  return std::nullopt;
}

std::optional<std::int64_t> optInt(DecodeContext& ctx, const json::object& o,
                                   std::string_view key) {
  const json::value* v = field(o, key);
  return v == nullptr ? std::nullopt : asInt(ctx, *v, key);
}

bool readPort(DecodeContext& ctx, const json::object& o, std::string_view key, bool allowZero,
              std::uint16_t& out) {
  out = 0;
  const json::value* v = field(o, key);
  if (v == nullptr) {
    return allowZero || ctx.fail(reason::kBadPort, key, "required port is missing");
  }
  const auto n = asInt(ctx, *v, key);
  if (!n) return false;
  const std::int64_t low = allowZero ? 0 : 1;
  if (*n < low || *n > 65535) {
    return ctx.fail(reason::kBadPort, key,
                    std::to_string(*n) + " is out of range " + std::to_string(low) + "..65535");
  }
  out = static_cast<std::uint16_t>(*n);
  return true;
}

std::optional<ipvs::IpAddress> parseIp(DecodeContext& ctx, const json::value& v,
                                       std::string_view what) {
  const auto s = asString(ctx, v, what);
  if (!s) return std::nullopt;
  auto ip = ipvs::IpAddress::parse(*s);
  if (!ip) ctx.fail(reason::kBadAddress, what, quoted(*s) + " is not an IP address");
  return ip;
}

std::optional<ipvs::Protocol> readProtocol(DecodeContext& ctx, const json::object& o) {
  const auto s = optString(ctx, o, "protocol");
  if (!ctx.ok()) return std::nullopt;
  if (!s) return ipvs::Protocol::kTcp;
  if (*s == "TCP") return ipvs::Protocol::kTcp;
  if (*s == "UDP") return ipvs::Protocol::kUdp;
  if (*s == "SCTP") return ipvs::Protocol::kSctp;
  ctx.fail(reason::kBadProtocol, "protocol", quoted(*s) + " is not TCP, UDP or SCTP");
  return std::nullopt;
}

bool readStringMap(DecodeContext& ctx, const json::object& meta, std::string_view key,
                   ipvs::StringPairs& out) {
  const json::object* m = optObject(ctx, meta, key);
  if (m == nullptr) return ctx.ok();
  if (m->size() > kMaxLabels) return ctx.fail(reason::kTooLarge, key, "too many entries");
  // Labels are bounded one by one; annotations (free text) only in total, as the API does.
  const bool labels = key == "labels";
  std::size_t total = 0;
  out.reserve(m->size());
  for (const auto& kv : *m) {
    const auto* s = kv.value().if_string();
    total += kv.key().size() + (s ? s->size() : 0);
    if (kv.key().size() > kMaxLabelLength) {
      ctx.fail(reason::kTooLarge, "", "a key of " + std::to_string(kv.key().size()) + " bytes");
    } else if (s == nullptr) {
      wrongType(ctx, kv.key(), "string", kv.value());
    } else if (labels && s->size() > kMaxLabelLength) {
      ctx.fail(reason::kTooLarge, kv.key(), "a value of " + std::to_string(s->size()) + " bytes");
    } else if (!labels && total > kMaxAnnotationBytes) {
      ctx.fail(reason::kTooLarge, "", "over " + std::to_string(kMaxAnnotationBytes) + " bytes");
    }
    if (!ctx.ok()) {
      ctx.within(key);
      return false;
    }
    out.emplace_back(std::string(kv.key()), std::string(*s));
  }
  std::sort(out.begin(), out.end());
  return true;
}

bool readMetadata(DecodeContext& ctx, const json::object& obj, bool namespaced, Metadata& out) {
  out.meta = optObject(ctx, obj, "metadata");
  if (!ctx.ok()) return false;
  if (out.meta == nullptr) return ctx.fail(reason::kMissingName, "metadata", "missing");
  // Plain pointers rather than optional<string_view>: GCC 12 misreports those as uninitialized.
  const json::string* name = nullptr;
  const json::string* ns = nullptr;
  const json::string* rv = nullptr;
  const std::pair<std::string_view, const json::string**> fields[] = {
      {"name", &name}, {"namespace", &ns}, {"resourceVersion", &rv}};
  for (const auto& [key, target] : fields) {
    if (key == "namespace" && !namespaced) continue;
    const json::value* v = field(*out.meta, key);
    if (v == nullptr) continue;
    *target = v->if_string();
    if (*target == nullptr) {
      wrongType(ctx, key, "string", *v);
      ctx.within("metadata");
      return false;
    }
  }
  if (name == nullptr || name->empty()) {
    return ctx.fail(reason::kMissingName, "metadata.name", "missing");
  }
  if (name->size() > kMaxNameLength || (ns && ns->size() > kMaxNameLength)) {
    return ctx.fail(reason::kTooLarge, "metadata", "name or namespace too long");
  }
  if (rv != nullptr && rv->size() > kMaxNameLength) {
    return ctx.fail(reason::kTooLarge, "metadata.resourceVersion", "too long");
  }
  out.key.name = std::string(*name);
  if (ns != nullptr) out.key.ns = std::string(*ns);
  if (rv != nullptr) out.resourceVersion = std::string(*rv);
  return true;
}

std::variant<Preamble, Rejection> readPreamble(DecodeContext& ctx, const json::value& v,
                                               ResourceKind kind) {
  Preamble out;
  out.object = v.if_object();
  if (out.object == nullptr) {
    ctx.fail(reason::kNotObject, "", "not a JSON object");
    return ctx.rejection(kind, "<unnamed>");
  }
  if (!readMetadata(ctx, *out.object, kind != ResourceKind::kNode, out.md)) {
    return ctx.rejection(kind, objectName(v));
  }
  return out;
}

std::string objectName(const json::value& v) {
  auto key = decodeKey(v);
  // An over-long name or namespace is the reason for the rejection: never echo it whole.
  if (!key || key->name.size() > kMaxNameLength || key->ns.size() > kMaxNameLength) {
    return "<unnamed>";
  }
  return key->str();
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kShown = 64;
  std::string out = "\"";
  for (const char c : s.substr(0, kShown)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += "\"";
  if (s.size() > kShown) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace k8swatch::detail
