#include "ipvs/kernel_text.h"

namespace ipvs {

std::string formatAddressPort(const IpAddress& ip, std::uint16_t port) {
  // Built by appending: GCC 12 at -O3 reports a false -Wrestrict on `"[" + str` (PR 105329).
  std::string out;
  out.reserve(48);
  if (!ip.isV4()) out.push_back('[');
  out.append(ip.toString());
  if (!ip.isV4()) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

std::string formatVirtualServerKey(const VirtualServerKey& key) {
  if (key.fwmark != 0) {
    return "FWM " + std::to_string(key.fwmark) + (key.address.isV4() ? "" : " IPv6");
  }
  return std::string(protocolName(key.protocol)) + " " + formatAddressPort(key.address, key.port);
}

std::string formatDrainId(const VirtualServerKey& vs, const RealServerKey& rs) {
  return formatAddressPort(vs.address, vs.port) + "/" + std::string(protocolName(vs.protocol)) +
         "/" + formatAddressPort(rs.address, rs.port);
}

}  // namespace ipvs
