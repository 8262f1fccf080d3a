#pragma once
// Helpers for the IPVS codec tests: kernel-like reply messages built with libnl, raw netlink
// byte buffers, and short constructors for the model types.

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "ipvs/address.h"
#include "ipvs/kernel_objects.h"
#include "netlink/ipvs_codec.h"
#include "netlink/nl_socket.h"

// Printers so Catch can show the values of failed checks (found by ADL).
namespace ipvs {
inline std::ostream& operator<<(std::ostream& os, const VirtualServerKey& k) {
  return os << k.address.toString() << ":" << k.port << "/" << static_cast<int>(k.protocol)
            << " fwmark " << k.fwmark;
}
inline std::ostream& operator<<(std::ostream& os, const VirtualServer& v) {
  return os << v.key << " " << v.scheduler << " flags " << v.flags << " timeout " << v.timeout
            << " netmask " << v.netmask;
}
inline std::ostream& operator<<(std::ostream& os, const RealServer& r) {
  return os << r.key.address.toString() << ":" << r.key.port << " w" << r.weight << " m"
            << static_cast<int>(r.method) << " u" << r.upperThreshold << " l" << r.lowerThreshold;
}
inline std::ostream& operator<<(std::ostream& os, const ObservedRealServer& r) {
  return os << r.server << " active " << r.conns.activeConns << " inactive "
            << r.conns.inactiveConns;
}
}  // namespace ipvs

namespace netlink {
inline std::ostream& operator<<(std::ostream& os, const DecodedDest& d) {
  return os << d.server << " conns " << d.stats.conns;
}
inline std::ostream& operator<<(std::ostream& os, const IpvsTimeouts& t) {
  return os << "tcp " << t.tcp << " tcpfin " << t.tcpFin << " udp " << t.udp;
}
inline std::ostream& operator<<(std::ostream& os, const IpvsInfo& i) {
  return os << i.versionString() << " conntab " << i.connTableSize;
}
}  // namespace netlink

namespace ipvs_test {

inline constexpr int kFamilyId = 0x23;  // any id: no socket involved

inline ipvs::IpAddress ip(const char* text) { return *ipvs::IpAddress::parse(text); }

inline ipvs::VirtualServerKey key(const char* addr, std::uint16_t port,
                                  ipvs::Protocol proto = ipvs::Protocol::kTcp) {
  return {ip(addr), proto, port, 0};
}

inline ipvs::VirtualServerKey fwmarkKey(ipvs::Family family, std::uint32_t mark) {
  const std::uint8_t zero[16] = {};
  return {ipvs::IpAddress::fromBytes(family, zero), ipvs::Protocol::kTcp, 0, mark};
}

inline ipvs::RealServer rs(const char* addr, std::uint16_t port, std::uint32_t weight = 1) {
  ipvs::RealServer r;
  r.key = {ip(addr), port};
  r.weight = weight;
  return r;
}

// A message under construction, the way the kernel builds its replies.
class Builder {
 public:
  explicit Builder(std::uint8_t cmd, int flags = NLM_F_MULTI) : msg_(nlmsg_alloc()) {
    genlmsg_put(msg_.get(), 0, 1, kFamilyId, 0, flags, cmd, IPVS_GENL_VERSION);
  }
  nl_msg* get() { return msg_.get(); }
  const nlmsghdr& hdr() { return *nlmsg_hdr(msg_.get()); }
  nlattr* nest(int type) { return nla_nest_start(msg_.get(), type); }
  void end(nlattr* n) { nla_nest_end(msg_.get(), n); }
  void u16(int type, std::uint16_t v) { nla_put_u16(msg_.get(), type, v); }
  void u32(int type, std::uint32_t v) { nla_put_u32(msg_.get(), type, v); }
  void u64(int type, std::uint64_t v) { nla_put_u64(msg_.get(), type, v); }
  void raw(int type, const void* data, int len) { nla_put(msg_.get(), type, len, data); }
  void str(int type, const std::string& s) { nla_put_string(msg_.get(), type, s.c_str()); }
  void addr(int type, const ipvs::IpAddress& a) {
    std::uint8_t bytes[16] = {};
    std::memcpy(bytes, a.bytes().data(), a.byteLength());
    raw(type, bytes, 16);
  }

 private:
  netlink::NlMsgPtr msg_;
};

// Copies a message's bytes (nlmsg_len of them) into an owned, aligned buffer.
inline std::vector<std::uint8_t> bytesOf(const nlmsghdr& hdr) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&hdr);
  return {p, p + hdr.nlmsg_len};
}

}  // namespace ipvs_test
