#include "ipvs/node_context.h"

#include <algorithm>

namespace ipvs {
namespace {

bool isIpv6LinkLocal(const IpAddress& ip) {
  return !ip.isV4() && ip.bytes()[0] == 0xfe && (ip.bytes()[1] & 0xc0) == 0x80;
}

void sortUnique(std::vector<IpAddress>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

std::string LocalDetector::ifNotLocal(Family family) const {
  if (!interfaceMatch.empty()) return "! -i " + interfaceMatch;
  for (const Cidr& c : cidrs) {
    if (c.family() == family) return "! -s " + c.toString();
  }
  return {};
}

bool NodeContext::handles(Family f) const {
  return std::find(families.begin(), families.end(), f) != families.end();
}

NodePortAddressSelection selectNodePortAddresses(std::span<const IpAddress> candidates,
                                                 std::span<const std::string> specs,
                                                 std::span<const IpAddress> primaryNodeIPs) {
  NodePortAddressSelection out;
  if (specs.empty()) {
    for (const auto& ip : candidates) {
      if (!ip.isLoopback() && !isIpv6LinkLocal(ip)) out.addresses.push_back(ip);
    }
    sortUnique(out.addresses);
    return out;
  }
  if (specs.size() == 1 && specs[0] == "primary") {
    for (const auto& ip : primaryNodeIPs) {
      if (!ip.isLoopback()) out.addresses.push_back(ip);
    }
    sortUnique(out.addresses);
    return out;
  }
  std::vector<Cidr> cidrs;
  for (const auto& spec : specs) {
    if (spec == "primary") {
      out.errors.push_back("nodePortAddresses: \"primary\" must be the only entry; ignored");
      continue;
    }
    auto cidr = Cidr::parse(spec);
    if (!cidr || spec.find('/') == std::string::npos) {
      out.errors.push_back("nodePortAddresses: \"" + spec + "\" is not a CIDR; ignored");
      continue;
    }
    cidrs.push_back(*cidr);
  }
  for (const auto& ip : candidates) {
    if (ip.isLoopback()) continue;
    const bool match =
        std::any_of(cidrs.begin(), cidrs.end(), [&](const Cidr& c) { return c.contains(ip); });
    if (match) out.addresses.push_back(ip);
  }
  sortUnique(out.addresses);
  return out;
}

}  // namespace ipvs
