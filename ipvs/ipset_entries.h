#pragma once
// Builders for ipset members, in the exact text `ipset save` prints, so that the desired
// entries compare equal to those read back from the kernel (docs/kube-proxy-behaviour.md#ipsets).

#include <cstdint>

#include "ipvs/address.h"
#include "ipvs/kernel_objects.h"

namespace ipvs {

// hash:ip: "10.0.0.1"
IpsetEntry ipEntry(IpsetId set, const IpAddress& ip);
// hash:ip,port: "10.0.0.1,tcp:80", "2001:db8::1,udp:53"
IpsetEntry ipPortEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port);
// hash:ip,port,ip: "10.0.0.1,tcp:80,10.0.0.1"
IpsetEntry ipPortIpEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port,
                         const IpAddress& ip2);
// hash:ip,port,net: "1.2.3.4,tcp:80,10.0.0.0/8". Like ipset, a host prefix (/32, /128) is
// printed as the bare address.
IpsetEntry ipPortNetEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port,
                          const Cidr& net);
// bitmap:port: "3001"
IpsetEntry portEntry(IpsetId set, Family family, std::uint16_t port);

}  // namespace ipvs
