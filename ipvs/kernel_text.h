#pragma once
// Short text forms of kernel-object keys, shared by describe(), diagnostics and formatters.

#include <cstdint>
#include <string>

#include "ipvs/kernel_objects.h"

namespace ipvs {

// "10.0.0.1:80", "[2001:db8::1]:80"
std::string formatAddressPort(const IpAddress& ip, std::uint16_t port);
// "TCP 10.0.0.1:80", "UDP [2001:db8::1]:53", "FWM 5", "FWM 5 IPv6"
std::string formatVirtualServerKey(const VirtualServerKey& key);
// "10.180.0.1:80/TCP/10.0.1.1:8080"-style drain id, as kube-proxy logs it:
// "<vs address:port>/<PROTO>/<rs address:port>"
std::string formatDrainId(const VirtualServerKey& vs, const RealServerKey& rs);

}  // namespace ipvs
