#include "netlink/ipset_codec.h"

#include <linux/netfilter.h>  // NFPROTO_*, and IPPROTO_* through linux/in.h
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/ipset/ip_set_hash.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <charconv>
#include <cstring>
#include <optional>

#include "netlink/ipset_text.h"

namespace netlink {

namespace {

// IPSET_PROTOCOL_MIN: kernels before protocol 7 insist on exactly 6 for ADD/DEL, later ones
// accept anything from 6 up, and the attributes used here are the same in both.
constexpr std::uint8_t kProtocol = IPSET_PROTOCOL_MIN;

struct Element {
  ipvs::IpAddress ip;
  std::uint8_t proto = 0;  // 0: no proto:port part
  std::uint16_t port = 0;
  std::optional<ipvs::IpAddress> ip2;
  std::uint8_t cidr2 = 0;  // 0: no /prefix on ip2
};

std::optional<unsigned> parseNumber(std::string_view s, unsigned max) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

std::optional<ipvs::IpAddress> parseIp(std::string_view s, ipvs::Family family) {
  auto ip = ipvs::IpAddress::parse(s);
  if (!ip || ip->family() != family) return std::nullopt;
  return ip;
}

bool parseProtoPort(std::string_view s, Element& e) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view proto = s.substr(0, colon);
  if (proto == "tcp") {
    e.proto = IPPROTO_TCP;
  } else if (proto == "udp") {
    e.proto = IPPROTO_UDP;
  } else if (proto == "sctp") {
    e.proto = IPPROTO_SCTP;
  } else {
    return false;
  }
  const auto port = parseNumber(s.substr(colon + 1), 65535);
  if (!port) return false;
  e.port = static_cast<std::uint16_t>(*port);
  return true;
}

bool parseNet(std::string_view s, ipvs::Family family, Element& e) {
  const auto slash = s.find('/');
  e.ip2 = parseIp(s.substr(0, slash), family);
  if (!e.ip2) return false;
  if (slash == std::string_view::npos) return true;
  const auto prefix = parseNumber(s.substr(slash + 1), family == ipvs::Family::kV4 ? 32 : 128);
  if (!prefix || *prefix == 0) return false;
  e.cidr2 = static_cast<std::uint8_t>(*prefix);
  return true;
}

// Splits "a,b,c" into exactly `n` parts.
bool split(std::string_view s, std::size_t n, std::string_view* parts) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto comma = s.find(',');
    if ((comma == std::string_view::npos) != (i + 1 == n)) return false;
    parts[i] = s.substr(0, comma);
    if (comma != std::string_view::npos) s.remove_prefix(comma + 1);
  }
  return true;
}

std::optional<Element> parseElement(std::string_view type, ipvs::Family family,
                                    std::string_view entry) {
  Element e;
  std::string_view p[3];
  if (type == "hash:ip") {
    if (!split(entry, 1, p)) return std::nullopt;
  } else if (type == "hash:ip,port") {
    if (!split(entry, 2, p) || !parseProtoPort(p[1], e)) return std::nullopt;
  } else if (type == "hash:ip,port,ip") {
    if (!split(entry, 3, p) || !parseProtoPort(p[1], e)) return std::nullopt;
    if (p[2].find('/') != std::string_view::npos || !parseNet(p[2], family, e)) return std::nullopt;
  } else if (type == "hash:ip,port,net") {
    if (!split(entry, 3, p) || !parseProtoPort(p[1], e) || !parseNet(p[2], family, e)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  auto ip = parseIp(p[0], family);
  if (!ip) return std::nullopt;
  e.ip = *ip;
  return e;
}

// Appends netlink attributes to a byte buffer (host byte order headers, 4-byte alignment).
class AttrWriter {
 public:
  explicit AttrWriter(std::vector<std::uint8_t>& out) : out_(out) {}

  void put(std::uint16_t type, const void* data, std::size_t len) {
    const std::size_t at = begin(type);
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), bytes, bytes + len);
    end(at);
  }
  void putU8(std::uint16_t type, std::uint8_t v) { put(type, &v, 1); }
  void putBe16(std::uint16_t type, std::uint16_t hostOrder) {
    const std::uint8_t be[2] = {static_cast<std::uint8_t>(hostOrder >> 8),
                                static_cast<std::uint8_t>(hostOrder & 0xff)};
    put(static_cast<std::uint16_t>(type | NLA_F_NET_BYTEORDER), be, 2);
  }
  void putIp(std::uint16_t type, const ipvs::IpAddress& ip) {
    const std::size_t at = begin(static_cast<std::uint16_t>(type | NLA_F_NESTED));
    const std::uint16_t inner = ip.isV4() ? IPSET_ATTR_IPADDR_IPV4 : IPSET_ATTR_IPADDR_IPV6;
    put(static_cast<std::uint16_t>(inner | NLA_F_NET_BYTEORDER), ip.bytes().data(),
        ip.byteLength());
    end(at);
  }
  // Opens an attribute whose payload follows; end() fills in its length and pads it.
  std::size_t begin(std::uint16_t type) {
    const std::size_t at = out_.size();
    nlattr a{};
    a.nla_type = type;
    append(&a, sizeof a);
    return at;
  }
  void end(std::size_t at) {
    const auto len = static_cast<std::uint16_t>(out_.size() - at);
    std::memcpy(out_.data() + at, &len, sizeof len);
    out_.resize(at + NLA_ALIGN(len), 0);
  }
  void append(const void* data, std::size_t len) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), bytes, bytes + len);
  }

 private:
  std::vector<std::uint8_t>& out_;
};

void writeElement(AttrWriter& w, const Element& e) {
  w.putIp(IPSET_ATTR_IP, e.ip);
  if (e.proto != 0) {
    w.putBe16(IPSET_ATTR_PORT, e.port);
    w.putU8(IPSET_ATTR_PROTO, e.proto);
  }
  if (e.ip2) w.putIp(IPSET_ATTR_IP2, *e.ip2);
  if (e.cidr2 != 0) w.putU8(IPSET_ATTR_CIDR2, e.cidr2);
}

}  // namespace

bool encodeIpsetChange(std::string_view setName, std::string_view type, ipvs::Family family,
                       std::string_view entry, bool add, std::vector<std::uint8_t>& out) {
  if (setName.empty() || setName.size() >= IPSET_MAXNAMELEN) return false;
  std::optional<Element> element;
  std::optional<unsigned> port;
  if (type == "bitmap:port") {
    port = parseNumber(entry, 65535);
    if (!port) return false;
  } else {
    element = parseElement(type, family, entry);
    if (!element) return false;
  }
  const std::size_t start = out.size();
  nlmsghdr hdr{};
  hdr.nlmsg_type =
      static_cast<std::uint16_t>((NFNL_SUBSYS_IPSET << 8) | (add ? IPSET_CMD_ADD : IPSET_CMD_DEL));
  hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_EXCL;
  nfgenmsg nfg{};
  nfg.nfgen_family = family == ipvs::Family::kV4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
  nfg.version = NFNETLINK_V0;
  AttrWriter w(out);
  w.append(&hdr, sizeof hdr);
  w.append(&nfg, sizeof nfg);
  w.putU8(IPSET_ATTR_PROTOCOL, kProtocol);
  const std::string name(setName);
  w.put(IPSET_ATTR_SETNAME, name.c_str(), name.size() + 1);
  const std::size_t data = w.begin(IPSET_ATTR_DATA | NLA_F_NESTED);
  if (port) {
    w.putBe16(IPSET_ATTR_PORT, static_cast<std::uint16_t>(*port));
  } else {
    writeElement(w, *element);
  }
  w.end(data);
  const auto len = static_cast<std::uint32_t>(out.size() - start);
  std::memcpy(out.data() + start, &len, sizeof len);
  return true;
}

std::error_code classifyIpsetKernelError(std::error_code kernel, std::string_view type, bool add) {
  if (!kernel || kernel.category() != std::generic_category()) return kernel;
  const int code = kernel.value();
  switch (code) {
    case ENOENT:  // find_set() found no set of that name
      return make_error_code(IpsetError::kSetMissing);
    case EPERM:
      return make_error_code(IpsetError::kPermission);
    case IPSET_ERR_EXIST:
      return make_error_code(add ? IpsetError::kAlreadyAdded : IpsetError::kNotAdded);
    case IPSET_ERR_TYPE_SPECIFIC:  // IPSET_ERR_HASH_FULL, but IPSET_ERR_BITMAP_RANGE for bitmaps
      return make_error_code(type == "bitmap:port" ? IpsetError::kSyntax : IpsetError::kSetFull);
    case IPSET_ERR_PROTOCOL:
    case IPSET_ERR_INVALID_CIDR:
    case IPSET_ERR_INVALID_FAMILY:
    case IPSET_ERR_IPADDR_IPV4:
    case IPSET_ERR_IPADDR_IPV6:
    case IPSET_ERR_HASH_ELEM:
    case IPSET_ERR_INVALID_PROTO:
    case IPSET_ERR_MISSING_PROTO:
      return make_error_code(IpsetError::kSyntax);
    default:
      // Plain errnos (ENOMEM, a lost reply's ETIMEDOUT) say more as they are.
      return code >= IPSET_ERR_PRIVATE ? make_error_code(IpsetError::kKernel) : kernel;
  }
}

}  // namespace netlink
