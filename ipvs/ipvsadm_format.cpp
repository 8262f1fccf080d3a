#include "ipvs/ipvsadm_format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include "ipvs/kernel_text.h"
#include "ipvs/scheduler.h"

namespace ipvs {
namespace {

std::uint32_t fullPrefix(const IpAddress& ip) { return ip.isV4() ? 32u : 128u; }

// ipvsadm's ipvs_cmp_services order: fwmark, family, protocol, address, port.
bool ipvsadmServiceLess(const VirtualServerKey& a, const VirtualServerKey& b) {
  if (a.fwmark != b.fwmark) return a.fwmark < b.fwmark;
  if (a.family() != b.family()) return a.family() < b.family();
  if (a.protocol != b.protocol) return a.protocol < b.protocol;
  if (a.address != b.address) return a.address < b.address;
  return a.port < b.port;
}

std::string serviceName(const VirtualServerKey& key) {
  if (key.fwmark != 0) {
    return "-f " + std::to_string(key.fwmark) + (key.address.isV4() ? "" : " -6");
  }
  std::string opt = key.protocol == Protocol::kTcp   ? "-t"
                    : key.protocol == Protocol::kUdp ? "-u"
                                                     : "--sctp-service";
  return opt + " " + formatAddressPort(key.address, key.port);
}

std::string dottedMask(std::uint32_t prefix) {
  const std::uint32_t mask = prefix == 0 ? 0 : ~0u << (32 - std::min<std::uint32_t>(prefix, 32));
  return IpAddress::v4(mask).toString();
}

std::string serviceLine(const VirtualServer& vs) {
  std::string line = "-A " + serviceName(vs.key) + " -s " + vs.scheduler;
  if ((vs.flags & kFlagPersistent) != 0) {
    line += " -p " + std::to_string(vs.timeout);
    const std::uint32_t netmask = vs.netmask == 0 ? fullPrefix(vs.key.address) : vs.netmask;
    if (netmask != fullPrefix(vs.key.address)) {
      line += " -M " + (vs.key.address.isV4() ? dottedMask(netmask) : std::to_string(netmask));
    }
  }
  if ((vs.flags & kFlagOnePacket) != 0) line += " -o";
  if ((vs.flags & (kFlagSched1 | kFlagSched2 | kFlagSched3)) != 0) {
    line += " -b " + formatSchedulerFlags(vs.scheduler, vs.flags);
  }
  return line;
}

std::string destLine(const std::string& svcName, const RealServer& rs) {
  std::string line = "-a " + svcName + " -r " + formatAddressPort(rs.key.address, rs.key.port);
  switch (rs.method) {
    case ForwardMethod::kMasquerade:
      line += " -m";
      break;
    case ForwardMethod::kTunnel:
      return line + " -i -w " + std::to_string(rs.weight) + " --tun-type ipip";
    case ForwardMethod::kLocal:
    case ForwardMethod::kDirectRoute:
      line += " -g";
      break;
    case ForwardMethod::kBypass:
      line += " (null)";  // ipvsadm passes a NULL switch name to printf here
      break;
  }
  return line + " -w " + std::to_string(rs.weight);
}

}  // namespace

std::string formatIpvsadmSave(const KernelState& state) {
  std::vector<const ObservedVirtualServer*> services;
  services.reserve(state.virtualServers.size());
  for (const auto& [key, vs] : state.virtualServers) services.push_back(&vs);
  std::sort(services.begin(), services.end(), [](const auto* a, const auto* b) {
    return ipvsadmServiceLess(a->server.key, b->server.key);
  });
  std::string out;
  for (const auto* vs : services) {
    out += serviceLine(vs->server) + "\n";
    std::vector<const RealServer*> dests;
    for (const auto& rs : vs->realServers) dests.push_back(&rs.server);
    std::sort(dests.begin(), dests.end(), [](auto* a, auto* b) { return a->key < b->key; });
    const std::string name = serviceName(vs->server.key);
    for (const auto* rs : dests) out += destLine(name, *rs) + "\n";
  }
  return out;
}

std::string formatIpsetSave(const std::set<IpsetEntry>& entries) {
  std::vector<std::string> lines;
  lines.reserve(entries.size());
  for (const auto& e : entries)
    lines.push_back("add " + ipsetName(e.set, e.family) + " " + e.entry);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace ipvs
