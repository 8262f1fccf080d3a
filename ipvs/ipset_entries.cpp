#include "ipvs/ipset_entries.h"

#include <string>

namespace ipvs {
namespace {

void appendProtoPort(std::string& s, Protocol proto, std::uint16_t port) {
  s += ',';
  s += protocolLowerName(proto);
  s += ':';
  s += std::to_string(port);
}

}  // namespace

IpsetEntry ipEntry(IpsetId set, const IpAddress& ip) { return {set, ip.family(), ip.toString()}; }

IpsetEntry ipPortEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port) {
  IpsetEntry e{set, ip.family(), ip.toString()};
  appendProtoPort(e.entry, proto, port);
  return e;
}

IpsetEntry ipPortIpEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port,
                         const IpAddress& ip2) {
  IpsetEntry e = ipPortEntry(set, ip, proto, port);
  e.entry += ',';
  e.entry += ip2.toString();
  return e;
}

IpsetEntry ipPortNetEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port,
                          const Cidr& net) {
  IpsetEntry e = ipPortEntry(set, ip, proto, port);
  e.entry += ',';
  e.entry += net.base().toString();
  if (net.prefix() != net.base().byteLength() * 8) {
    e.entry += '/';
    e.entry += std::to_string(net.prefix());
  }
  return e;
}

IpsetEntry portEntry(IpsetId set, Family family, std::uint16_t port) {
  return {set, family, std::to_string(port)};
}

}  // namespace ipvs
