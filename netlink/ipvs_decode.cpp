// Decoding half of ipvs_codec.h: parses the kernel's IPVS replies (and our own requests, for
// the round-trip tests) through libnl's policy-checked parsers.
#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <array>
#include <bit>
#include <cstring>

#include "netlink/ipvs_codec.h"

namespace netlink {

namespace {

using ipvs::Family;
using ipvs::Result;

std::error_code missing() { return libnlError(NLE_MISSING_ATTR); }

constexpr std::size_t kAddrBytes = 16;  // sizeof(union nf_inet_addr)

// ---- policies: what the kernel sends, checked by libnl before we read anything ----

template <std::size_t N>
using Policy = std::array<nla_policy, N>;

const Policy<IPVS_CMD_ATTR_MAX + 1>& commandPolicy() {
  static const auto kPolicy = [] {
    Policy<IPVS_CMD_ATTR_MAX + 1> p{};
    p[IPVS_CMD_ATTR_SERVICE] = {NLA_NESTED, 0, 0};
    p[IPVS_CMD_ATTR_DEST] = {NLA_NESTED, 0, 0};
    p[IPVS_CMD_ATTR_TIMEOUT_TCP] = {NLA_U32, 0, 0};
    p[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] = {NLA_U32, 0, 0};
    p[IPVS_CMD_ATTR_TIMEOUT_UDP] = {NLA_U32, 0, 0};
    return p;
  }();
  return kPolicy;
}

const Policy<IPVS_SVC_ATTR_MAX + 1>& servicePolicy() {
  static const auto kPolicy = [] {
    Policy<IPVS_SVC_ATTR_MAX + 1> p{};
    p[IPVS_SVC_ATTR_AF] = {NLA_U16, 0, 0};
    p[IPVS_SVC_ATTR_PROTOCOL] = {NLA_U16, 0, 0};
    p[IPVS_SVC_ATTR_ADDR] = {NLA_UNSPEC, 4, kAddrBytes};
    p[IPVS_SVC_ATTR_PORT] = {NLA_U16, 0, 0};
    p[IPVS_SVC_ATTR_FWMARK] = {NLA_U32, 0, 0};
    p[IPVS_SVC_ATTR_SCHED_NAME] = {NLA_STRING, 0, IP_VS_SCHEDNAME_MAXLEN};
    p[IPVS_SVC_ATTR_PE_NAME] = {NLA_STRING, 0, IP_VS_PENAME_MAXLEN};
    p[IPVS_SVC_ATTR_FLAGS] = {NLA_UNSPEC, sizeof(ip_vs_flags), sizeof(ip_vs_flags)};
    p[IPVS_SVC_ATTR_TIMEOUT] = {NLA_U32, 0, 0};
    p[IPVS_SVC_ATTR_NETMASK] = {NLA_U32, 0, 0};
    p[IPVS_SVC_ATTR_STATS] = {NLA_NESTED, 0, 0};
    p[IPVS_SVC_ATTR_STATS64] = {NLA_NESTED, 0, 0};
    return p;
  }();
  return kPolicy;
}

const Policy<IPVS_DEST_ATTR_MAX + 1>& destPolicy() {
  static const auto kPolicy = [] {
    Policy<IPVS_DEST_ATTR_MAX + 1> p{};
    p[IPVS_DEST_ATTR_ADDR] = {NLA_UNSPEC, 4, kAddrBytes};
    p[IPVS_DEST_ATTR_PORT] = {NLA_U16, 0, 0};
    p[IPVS_DEST_ATTR_FWD_METHOD] = {NLA_U32, 0, 0};
    p[IPVS_DEST_ATTR_WEIGHT] = {NLA_U32, 0, 0};
    p[IPVS_DEST_ATTR_U_THRESH] = {NLA_U32, 0, 0};
    p[IPVS_DEST_ATTR_L_THRESH] = {NLA_U32, 0, 0};
    p[IPVS_DEST_ATTR_ACTIVE_CONNS] = {NLA_U32, 0, 0};
    p[IPVS_DEST_ATTR_INACT_CONNS] = {NLA_U32, 0, 0};
    p[IPVS_DEST_ATTR_PERSIST_CONNS] = {NLA_U32, 0, 0};
    p[IPVS_DEST_ATTR_STATS] = {NLA_NESTED, 0, 0};
    p[IPVS_DEST_ATTR_ADDR_FAMILY] = {NLA_U16, 0, 0};
    p[IPVS_DEST_ATTR_STATS64] = {NLA_NESTED, 0, 0};
    return p;
  }();
  return kPolicy;
}

// Same ids for STATS (32-bit counters, 64-bit bytes) and STATS64 (all 64-bit).
const Policy<IPVS_STATS_ATTR_MAX + 1>& statsPolicy(bool wide) {
  static const auto kMake = [](bool all64) {
    Policy<IPVS_STATS_ATTR_MAX + 1> p{};
    const std::uint16_t counter = all64 ? NLA_U64 : NLA_U32;
    p[IPVS_STATS_ATTR_CONNS] = {counter, 0, 0};
    p[IPVS_STATS_ATTR_INPKTS] = {counter, 0, 0};
    p[IPVS_STATS_ATTR_OUTPKTS] = {counter, 0, 0};
    p[IPVS_STATS_ATTR_INBYTES] = {NLA_U64, 0, 0};
    p[IPVS_STATS_ATTR_OUTBYTES] = {NLA_U64, 0, 0};
    return p;
  };
  static const auto kNarrow = kMake(false);
  static const auto kWide = kMake(true);
  return wide ? kWide : kNarrow;
}

const Policy<IPVS_INFO_ATTR_MAX + 1>& infoPolicy() {
  static const auto kPolicy = [] {
    Policy<IPVS_INFO_ATTR_MAX + 1> p{};
    p[IPVS_INFO_ATTR_VERSION] = {NLA_U32, 0, 0};
    p[IPVS_INFO_ATTR_CONN_TAB_SIZE] = {NLA_U32, 0, 0};
    return p;
  }();
  return kPolicy;
}

// ---- parsing ----

template <std::size_t N>
using Attrs = std::array<nlattr*, N>;

template <std::size_t N>
Result<Attrs<N>> parseGenl(const nlmsghdr& msg, const Policy<N>& policy) {
  Attrs<N> tb{};
  // libnl's parsers take non-const pointers but only read.
  const int err = genlmsg_parse(const_cast<nlmsghdr*>(&msg), 0, tb.data(), static_cast<int>(N - 1),
                                policy.data());
  if (err < 0) return libnlError(err);
  return tb;
}

template <std::size_t N>
Result<Attrs<N>> parseNested(nlattr* nest, const Policy<N>& policy) {
  if (!nest) return missing();
  Attrs<N> tb{};
  const int err = nla_parse_nested(tb.data(), static_cast<int>(N - 1), nest, policy.data());
  if (err < 0) return libnlError(err);
  return tb;
}

using ServiceAttrs = Attrs<IPVS_SVC_ATTR_MAX + 1>;
using DestAttrs = Attrs<IPVS_DEST_ATTR_MAX + 1>;

Result<ServiceAttrs> serviceAttrs(const nlmsghdr& msg) {
  auto top = parseGenl(msg, commandPolicy());
  if (!top) return top.error();
  return parseNested((*top)[IPVS_CMD_ATTR_SERVICE], servicePolicy());
}

Result<Family> familyOf(std::uint16_t af) {
  if (af == AF_INET) return Family::kV4;
  if (af == AF_INET6) return Family::kV6;
  return libnlError(NLE_AF_NOSUPPORT);
}

Result<ipvs::IpAddress> addressOf(const nlattr* attr, Family family) {
  const std::size_t need = family == Family::kV4 ? 4 : 16;
  if (static_cast<std::size_t>(nla_len(attr)) < need) return libnlError(NLE_ATTRSIZE);
  return ipvs::IpAddress::fromBytes(family, static_cast<const std::uint8_t*>(nla_data(attr)));
}

Result<ipvs::VirtualServerKey> keyOf(const ServiceAttrs& a) {
  if (!a[IPVS_SVC_ATTR_AF]) return missing();
  auto family = familyOf(nla_get_u16(a[IPVS_SVC_ATTR_AF]));
  if (!family) return family.error();
  ipvs::VirtualServerKey key;
  const std::array<std::uint8_t, kAddrBytes> zero{};
  key.address = ipvs::IpAddress::fromBytes(*family, zero.data());
  if (a[IPVS_SVC_ATTR_FWMARK]) key.fwmark = nla_get_u32(a[IPVS_SVC_ATTR_FWMARK]);
  if (key.fwmark != 0) return key;  // the kernel files fwmark services as TCP, no address
  if (!a[IPVS_SVC_ATTR_PROTOCOL] || !a[IPVS_SVC_ATTR_ADDR] || !a[IPVS_SVC_ATTR_PORT]) {
    return missing();
  }
  const std::uint16_t proto = nla_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]);
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) {
    return std::make_error_code(std::errc::protocol_not_supported);
  }
  key.protocol = static_cast<ipvs::Protocol>(proto);
  auto addr = addressOf(a[IPVS_SVC_ATTR_ADDR], *family);
  if (!addr) return addr.error();
  key.address = *addr;
  key.port = ntohs(nla_get_u16(a[IPVS_SVC_ATTR_PORT]));
  return key;
}

// A mask the model cannot hold as a prefix must not decode to 0 ("unset", the full length), or
// the diff would take a foreign /0 or 255.0.255.0 for the agent's own /32 and never fix it.
Result<std::uint32_t> prefixOf(std::uint32_t wire, Family family) {
  if (family == Family::kV6) {
    if (wire > 128) return libnlError(NLE_RANGE);
    return wire == 0 ? ipvs::kNetmaskNotAPrefix : wire;
  }
  const std::uint32_t mask = ntohl(wire);
  const int ones = std::countl_one(mask);
  if (ones == 0 || (ones < 32 && (mask << ones) != 0)) return ipvs::kNetmaskNotAPrefix;
  return static_cast<std::uint32_t>(ones);
}

RealServerStats statsOf(const DestAttrs& a) {
  RealServerStats s;
  if (a[IPVS_DEST_ATTR_ACTIVE_CONNS]) s.activeConns = nla_get_u32(a[IPVS_DEST_ATTR_ACTIVE_CONNS]);
  if (a[IPVS_DEST_ATTR_INACT_CONNS]) s.inactiveConns = nla_get_u32(a[IPVS_DEST_ATTR_INACT_CONNS]);
  if (a[IPVS_DEST_ATTR_PERSIST_CONNS]) {
    s.persistConns = nla_get_u32(a[IPVS_DEST_ATTR_PERSIST_CONNS]);
  }
  // Prefer the 64-bit counters (kernel >= 4.1); the 32-bit ones wrap.
  const bool wide = a[IPVS_DEST_ATTR_STATS64] != nullptr;
  nlattr* nest = wide ? a[IPVS_DEST_ATTR_STATS64] : a[IPVS_DEST_ATTR_STATS];
  if (!nest) return s;
  auto t = parseNested(nest, statsPolicy(wide));
  if (!t) return s;  // counters are informational; a bad nest does not void the server
  const auto counter = [&](int id) -> std::uint64_t {
    nlattr* attr = (*t)[static_cast<std::size_t>(id)];
    if (!attr) return 0;
    return wide ? nla_get_u64(attr) : nla_get_u32(attr);
  };
  const auto bytes = [&](int id) -> std::uint64_t {
    nlattr* attr = (*t)[static_cast<std::size_t>(id)];
    return attr ? nla_get_u64(attr) : 0;
  };
  s.conns = counter(IPVS_STATS_ATTR_CONNS);
  s.inPackets = counter(IPVS_STATS_ATTR_INPKTS);
  s.outPackets = counter(IPVS_STATS_ATTR_OUTPKTS);
  s.inBytes = bytes(IPVS_STATS_ATTR_INBYTES);
  s.outBytes = bytes(IPVS_STATS_ATTR_OUTBYTES);
  return s;
}

}  // namespace

int decodeCommand(const nlmsghdr& msg) {
  auto* hdr = const_cast<nlmsghdr*>(&msg);
  if (!genlmsg_valid_hdr(hdr, 0)) return -1;
  return genlmsg_hdr(hdr)->cmd;
}

Result<ipvs::VirtualServerKey> decodeServiceKey(const nlmsghdr& msg) {
  auto a = serviceAttrs(msg);
  if (!a) return a.error();
  return keyOf(*a);
}

Result<ipvs::VirtualServer> decodeService(const nlmsghdr& msg) {
  auto a = serviceAttrs(msg);
  if (!a) return a.error();
  auto key = keyOf(*a);
  if (!key) return key.error();
  const ServiceAttrs& s = *a;
  if (!s[IPVS_SVC_ATTR_SCHED_NAME] || !s[IPVS_SVC_ATTR_FLAGS] || !s[IPVS_SVC_ATTR_TIMEOUT] ||
      !s[IPVS_SVC_ATTR_NETMASK]) {
    return missing();
  }
  ipvs::VirtualServer vs;
  vs.key = *key;
  vs.scheduler = nla_get_string(s[IPVS_SVC_ATTR_SCHED_NAME]);  // NUL-checked by the policy
  ip_vs_flags flags{};
  std::memcpy(&flags, nla_data(s[IPVS_SVC_ATTR_FLAGS]), sizeof(flags));
  vs.flags = flags.flags & ~ipvs::kFlagHashed;
  vs.timeout = nla_get_u32(s[IPVS_SVC_ATTR_TIMEOUT]);
  auto prefix = prefixOf(nla_get_u32(s[IPVS_SVC_ATTR_NETMASK]), key->family());
  if (!prefix) return prefix.error();
  vs.netmask = *prefix;
  return vs;
}

Result<DecodedDest> decodeDest(const nlmsghdr& msg, Family serviceFamily) {
  auto top = parseGenl(msg, commandPolicy());
  if (!top) return top.error();
  auto a = parseNested((*top)[IPVS_CMD_ATTR_DEST], destPolicy());
  if (!a) return a.error();
  const DestAttrs& d = *a;
  if (!d[IPVS_DEST_ATTR_ADDR] || !d[IPVS_DEST_ATTR_PORT] || !d[IPVS_DEST_ATTR_FWD_METHOD] ||
      !d[IPVS_DEST_ATTR_WEIGHT] || !d[IPVS_DEST_ATTR_U_THRESH] || !d[IPVS_DEST_ATTR_L_THRESH]) {
    return missing();
  }
  Family family = serviceFamily;
  if (d[IPVS_DEST_ATTR_ADDR_FAMILY]) {
    auto f = familyOf(nla_get_u16(d[IPVS_DEST_ATTR_ADDR_FAMILY]));
    if (!f) return f.error();
    family = *f;
  }
  auto addr = addressOf(d[IPVS_DEST_ATTR_ADDR], family);
  if (!addr) return addr.error();
  const std::uint32_t method = nla_get_u32(d[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
  if (method > IP_VS_CONN_F_BYPASS) return libnlError(NLE_RANGE);

  DecodedDest out;
  out.server.key.address = *addr;
  out.server.key.port = ntohs(nla_get_u16(d[IPVS_DEST_ATTR_PORT]));
  out.server.method = static_cast<ipvs::ForwardMethod>(method);
  out.server.weight = nla_get_u32(d[IPVS_DEST_ATTR_WEIGHT]);
  out.server.upperThreshold = nla_get_u32(d[IPVS_DEST_ATTR_U_THRESH]);
  out.server.lowerThreshold = nla_get_u32(d[IPVS_DEST_ATTR_L_THRESH]);
  out.stats = statsOf(d);
  return out;
}

Result<IpvsTimeouts> decodeConfig(const nlmsghdr& msg) {
  auto a = parseGenl(msg, commandPolicy());
  if (!a) return a.error();
  const auto& t = *a;
  if (!t[IPVS_CMD_ATTR_TIMEOUT_TCP] || !t[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] ||
      !t[IPVS_CMD_ATTR_TIMEOUT_UDP]) {
    return missing();
  }
  return IpvsTimeouts{nla_get_u32(t[IPVS_CMD_ATTR_TIMEOUT_TCP]),
                      nla_get_u32(t[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]),
                      nla_get_u32(t[IPVS_CMD_ATTR_TIMEOUT_UDP])};
}

Result<IpvsInfo> decodeInfo(const nlmsghdr& msg) {
  auto a = parseGenl(msg, infoPolicy());
  if (!a) return a.error();
  const auto& t = *a;
  if (!t[IPVS_INFO_ATTR_VERSION] || !t[IPVS_INFO_ATTR_CONN_TAB_SIZE]) return missing();
  return IpvsInfo{nla_get_u32(t[IPVS_INFO_ATTR_VERSION]),
                  nla_get_u32(t[IPVS_INFO_ATTR_CONN_TAB_SIZE])};
}

}  // namespace netlink
