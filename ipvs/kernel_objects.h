#pragma once
// The kernel objects the agent programs, as plain values: IPVS virtual and real servers, ipset
// entries and the addresses bound on kube-ipvs0. The planner produces them, the netlink layer
// writes and reads them, and KernelState is what a dump of the kernel looks like.

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/address.h"

namespace ipvs {

// Virtual-server flags, as in <linux/ip_vs.h> (IP_VS_SVC_F_*).
inline constexpr std::uint32_t kFlagPersistent = 0x0001;
inline constexpr std::uint32_t kFlagHashed = 0x0002;  // set by the kernel on every dumped service
inline constexpr std::uint32_t kFlagOnePacket = 0x0004;
inline constexpr std::uint32_t kFlagSched1 = 0x0008;  // sh-fallback, mh-fallback
inline constexpr std::uint32_t kFlagSched2 = 0x0010;  // sh-port, mh-port
inline constexpr std::uint32_t kFlagSched3 = 0x0020;

// Real-server forwarding methods, as in <linux/ip_vs.h> (IP_VS_CONN_F_*).
enum class ForwardMethod : std::uint8_t {
  kMasquerade = 0,
  kLocal = 1,
  kTunnel = 2,
  kDirectRoute = 3,
  kBypass = 4
};

// A virtual server is identified by (family, protocol, address, port), or by a firewall mark.
// For fwmark services, address is the family's zero address and port is 0.
struct VirtualServerKey {
  IpAddress address;
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;
  std::uint32_t fwmark = 0;

  Family family() const { return address.family(); }
  auto operator<=>(const VirtualServerKey&) const = default;
};

// VirtualServer::netmask decoded from a kernel mask that no prefix length of the model stands
// for: IPv4 0.0.0.0 (a /0; 0 here means unset, i.e. /32), a non-contiguous IPv4 mask, or an IPv6
// 0. It equals no desired netmask, so the diff rewrites such a service; encoders refuse it.
inline constexpr std::uint32_t kNetmaskNotAPrefix = 0xFFFFFFFF;

struct VirtualServer {
  VirtualServerKey key;
  std::string scheduler = "rr";
  std::uint32_t flags = 0;    // without kFlagHashed
  std::uint32_t timeout = 0;  // persistence timeout, seconds, when kFlagPersistent
  std::uint32_t netmask = 0;  // persistence netmask: prefix length (32 or 128 when unset)

  bool operator==(const VirtualServer&) const = default;
};

struct RealServerKey {
  IpAddress address;
  std::uint16_t port = 0;

  auto operator<=>(const RealServerKey&) const = default;
};

struct RealServer {
  RealServerKey key;
  std::uint32_t weight = 1;
  ForwardMethod method = ForwardMethod::kMasquerade;
  std::uint32_t upperThreshold = 0;
  std::uint32_t lowerThreshold = 0;

  bool operator==(const RealServer&) const = default;
};

// The connection counters of a real server that the planner reads (graceful termination keeps
// a TCP real server while ActiveConn+InactConn > 0). The kernel's traffic counters (packets,
// bytes) are not kept: the mirror holds 100k real servers at 10k Services, and nothing reads
// them. netlink::RealServerStats is the full set, for who needs it.
struct RealServerConns {
  std::uint32_t activeConns = 0;
  std::uint32_t inactiveConns = 0;

  bool operator==(const RealServerConns&) const = default;
};

// ---- ipsets (docs/kube-proxy-behaviour.md#ipsets) ----

enum class IpsetId : std::uint8_t {
  kLoopBack,
  kClusterIP,
  kExternalIP,
  kExternalIPLocal,
  kLoadBalancer,
  kLoadBalancerFW,
  kLoadBalancerLocal,
  kLoadBalancerSourceIP,
  kLoadBalancerSourceCIDR,
  kNodePortTcp,
  kNodePortLocalTcp,
  kNodePortUdp,
  kNodePortLocalUdp,
  kNodePortSctp,
  kNodePortLocalSctp,
  kHealthCheckNodePort,
  kIpvsIps,
};
inline constexpr std::size_t kIpsetCount = 17;

struct IpsetDef {
  IpsetId id;
  std::string_view name;  // the IPv4 name; IPv6 sets are named "KUBE-6-" + name without "KUBE-"
  std::string_view type;  // "hash:ip,port", "bitmap:port", ...
  std::string_view comment;
};

const std::array<IpsetDef, kIpsetCount>& ipsetDefs();
const IpsetDef& ipsetDef(IpsetId id);
std::string ipsetName(IpsetId id, Family family);  // "KUBE-CLUSTER-IP" / "KUBE-6-CLUSTER-IP"

// One ipset member, in the canonical text form `ipset save` prints ("10.0.0.1,tcp:80", "3001").
struct IpsetEntry {
  IpsetId set = IpsetId::kClusterIP;
  Family family = Family::kV4;
  std::string entry;

  auto operator<=>(const IpsetEntry&) const = default;
};

// ---- what a dump of the kernel holds ----

struct ObservedRealServer {
  RealServer server;
  RealServerConns conns;
};

struct ObservedVirtualServer {
  VirtualServer server;
  std::vector<ObservedRealServer> realServers;  // sorted by key
};

struct KernelState {
  std::map<VirtualServerKey, ObservedVirtualServer> virtualServers;  // every VS, owned or not
  std::set<IpsetEntry> ipsetEntries;   // members of the agent's ipsets only
  std::set<IpAddress> boundAddresses;  // addresses on kube-ipvs0
};

}  // namespace ipvs
