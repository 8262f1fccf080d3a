#include "k8swatch/api_status.h"

#include <string_view>

#include "k8swatch/decode_util.h"

namespace k8swatch {

namespace {

constexpr std::string_view kTooLargeRvText = "Too large resource version";

std::string stringField(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = detail::field(o, key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

StatusInfo readStatus(const boost::json::value* v, unsigned httpStatus) {
  StatusInfo s;
  s.code = httpStatus;
  const auto* o = v ? v->if_object() : nullptr;
  if (o == nullptr) return s;
  if (const auto* c = o->if_contains("code"); c && c->is_int64()) s.code = c->get_int64();
  s.reason = stringField(*o, "reason");
  s.message = stringField(*o, "message");
  return s;
}

bool isGone(const StatusInfo& s) {
  return s.code == 410 || s.reason == "Expired" || s.reason == "Gone";
}

bool isTooLargeRv(const StatusInfo& s) {
  return s.message.find(kTooLargeRvText) != std::string::npos;
}

std::string describe(const StatusInfo& s) {
  std::string d = "HTTP " + std::to_string(s.code);
  if (!s.reason.empty()) d += " " + s.reason;
  if (!s.message.empty()) d += ": " + s.message;
  return d;
}

}  // namespace k8swatch
