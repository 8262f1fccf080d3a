#pragma once
// Fast comparisons of kernel-object keys that order exactly like their defaulted operator<=>
// (address bytes, then family, then the other fields). The defaulted comparison of the 16
// address bytes compiles to a memcmp call; the planner compares keys millions of times per
// full diff, so it loads the bytes as two big-endian words instead.

#include <bit>
#include <cstdint>
#include <cstring>

#include "ipvs/kernel_objects.h"

namespace ipvs::keyorder {

inline std::uint64_t word(const IpAddress& ip, std::size_t half) {
  std::uint64_t v;
  std::memcpy(&v, ip.bytes().data() + 8 * half, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// <0, 0, >0 like operator<=> on IpAddress.
inline int compare(const IpAddress& a, const IpAddress& b) {
  const std::uint64_t a0 = word(a, 0), b0 = word(b, 0);
  if (a0 != b0) return a0 < b0 ? -1 : 1;
  const std::uint64_t a1 = word(a, 1), b1 = word(b, 1);
  if (a1 != b1) return a1 < b1 ? -1 : 1;
  if (a.family() != b.family()) return a.family() < b.family() ? -1 : 1;
  return 0;
}

inline bool less(const VirtualServerKey& a, const VirtualServerKey& b) {
  if (const int c = compare(a.address, b.address); c != 0) return c < 0;
  if (a.protocol != b.protocol) return a.protocol < b.protocol;
  if (a.port != b.port) return a.port < b.port;
  return a.fwmark < b.fwmark;
}

inline bool less(const RealServerKey& a, const RealServerKey& b) {
  if (const int c = compare(a.address, b.address); c != 0) return c < 0;
  return a.port < b.port;
}

inline bool equal(const RealServer& a, const RealServer& b) {
  return a.key.port == b.key.port && compare(a.key.address, b.key.address) == 0 &&
         a.weight == b.weight && a.method == b.method && a.upperThreshold == b.upperThreshold &&
         a.lowerThreshold == b.lowerThreshold;
}

}  // namespace ipvs::keyorder
