#pragma once
// Shared by the libFuzzer targets: failing loudly, and oracles that several targets apply.
// A target reports a wrong result by calling fail(), which aborts so that libFuzzer records the
// input as a crash with the message above the stack trace.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "ipvs/address.h"
#include "k8swatch/decode.h"

namespace fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An address parser must accept only address text: an accepted string made of anything but
// hex digits, '.', ':' (and '/' for a CIDR) means trailing bytes were silently dropped, as with
// an embedded NUL ("10.0.0.1\0junk" read as 10.0.0.1).
inline void checkAddressText(std::string_view s) {
  const bool ip = ipvs::IpAddress::parse(s).has_value();
  const bool cidr = ipvs::Cidr::parse(s).has_value();
  if (!ip && !cidr) return;
  for (const char c : s) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (hex || c == '.' || c == ':' || (cidr && c == '/')) continue;
    std::string shown;
    for (const char d : s) shown += d == '\0' ? std::string("\\0") : std::string(1, d);
    fail("address parser accepted \"" + shown + "\"");
  }
}

// Applies checkAddressText to every string of a JSON document, keys included.
inline void checkAddressStrings(const boost::json::value& v) {
  if (const auto* s = v.if_string()) {
    checkAddressText(*s);
  } else if (const auto* a = v.if_array()) {
    for (const auto& item : *a) checkAddressStrings(item);
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      checkAddressText(kv.key());
      checkAddressStrings(kv.value());
    }
  }
}

// One Kubernetes object in JSON through `decode` (decodeService, ...): it must not throw, and
// a rejection must say why. Unparseable JSON is not interesting here (the watch stream target
// covers the framing), so it is skipped.
template <class Decode>
int fuzzDecoder(const std::uint8_t* data, std::size_t size, Decode decode) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(asText(data, size), ec);
  if (ec) return 0;
  checkAddressStrings(v);
  const auto decoded = decode(v);
  if (const auto* r = std::get_if<k8swatch::Rejection>(&decoded)) {
    if (r->reason.empty() || r->message.empty() || r->object.empty()) {
      fail("rejection without reason, message or object: " + r->message);
    }
  }
  (void)k8swatch::decodeKey(v);
  (void)k8swatch::decodeResourceVersion(v);
  return 0;
}

}  // namespace fuzz
