#pragma once
// Which conntrack entries a UDP Service's change leaves stale, as kube-proxy's conntrack cleanup
// (pkg/proxy/conntrack/cleanup.go) decides it, computed from what the kernel held for the
// Service's UDP virtual servers before and after one sync:
//   - a real server that left a virtual server: entries whose original destination is that
//     virtual server and whose reply source is that real server. Without this a client that
//     keeps its source port (DNS) keeps hitting the conntrack entry of a gone backend;
//   - a virtual server that went from no real servers to some: every entry whose original
//     destination is that virtual server, because such entries cached the reject.
// kube-proxy matches NodePorts by port alone because its iptables mode answers them on any local
// address; here every NodePort is one virtual server per node address, so matching each virtual
// server's address and port covers the same traffic. The reply source port is matched too: with
// IPVS masquerading, a connection's reply comes from the real server's port.
// Pure: no I/O. The netlink adapter (netlink/conntrack_client.h) applies the filters.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "ipvs/kernel_objects.h"

namespace ipvs {

struct ConntrackTuple {
  IpAddress src;
  IpAddress dst;
  std::uint16_t srcPort = 0;
  std::uint16_t dstPort = 0;
};

// One conntrack entry as the kernel dumps it (the fields the filters look at).
struct ConntrackEntry {
  Protocol protocol = Protocol::kUdp;
  ConntrackTuple original;
  ConntrackTuple reply;
};

struct ConntrackFilter {
  Protocol protocol = Protocol::kUdp;
  IpAddress originalDst;
  std::uint16_t originalDstPort = 0;
  std::optional<RealServerKey> replySrc;  // unset: any reply source

  auto operator<=>(const ConntrackFilter&) const = default;
};

bool matches(const ConntrackFilter& filter, const ConntrackEntry& entry);

// A Service's UDP virtual servers and their real servers, as the kernel holds them.
using UdpRealServers = std::map<VirtualServerKey, std::vector<RealServerKey>>;

// The filters for the change from `before` to `after` (sorted, unique). Non-UDP keys and
// fwmark virtual servers are ignored.
std::vector<ConntrackFilter> udpConntrackFlushes(const UdpRealServers& before,
                                                 const UdpRealServers& after);

}  // namespace ipvs
