#include "ipvs/ipset_entries.h"

#include <string>

namespace ipvs {
namespace {

// IpAddress::toString goes through inet_ntop (a printf per IPv4 byte); entries are built for
// every Service on a full resync, so IPv4 is formatted by hand. Same text as inet_ntop.
void appendAddress(std::string& s, const IpAddress& ip) {
  if (!ip.isV4()) {
    s += ip.toString();
    return;
  }
  for (std::size_t i = 0; i < 4; ++i) {
    unsigned v = ip.bytes()[i];
    if (i != 0) s += '.';
    if (v >= 100) {
      s += static_cast<char>('0' + v / 100);
      v %= 100;
      s += static_cast<char>('0' + v / 10);
    } else if (v >= 10) {
      s += static_cast<char>('0' + v / 10);
    }
    s += static_cast<char>('0' + v % 10);
  }
}

std::string addressText(const IpAddress& ip) {
  std::string s;
  s.reserve(48);
  appendAddress(s, ip);
  return s;
}

void appendProtoPort(std::string& s, Protocol proto, std::uint16_t port) {
  s += ',';
  s += protocolLowerName(proto);
  s += ':';
  s += std::to_string(port);
}

}  // namespace

IpsetEntry ipEntry(IpsetId set, const IpAddress& ip) { return {set, ip.family(), addressText(ip)}; }

IpsetEntry ipPortEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port) {
  IpsetEntry e{set, ip.family(), addressText(ip)};
  appendProtoPort(e.entry, proto, port);
  return e;
}

IpsetEntry ipPortIpEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port,
                         const IpAddress& ip2) {
  IpsetEntry e = ipPortEntry(set, ip, proto, port);
  e.entry += ',';
  appendAddress(e.entry, ip2);
  return e;
}

IpsetEntry ipPortNetEntry(IpsetId set, const IpAddress& ip, Protocol proto, std::uint16_t port,
                          const Cidr& net) {
  IpsetEntry e = ipPortEntry(set, ip, proto, port);
  e.entry += ',';
  appendAddress(e.entry, net.base());
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
