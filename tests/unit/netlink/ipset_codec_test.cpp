// The wire form of ipset ADD/DEL requests (netlink/ipset_codec.h), checked byte for byte against
// messages worked out by hand from the kernel's ip_set.h and the hash/bitmap types' policies,
// and the mapping of the kernel's ipset error codes.
#include "netlink/ipset_codec.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <vector>

#include "netlink/ipset_text.h"

using netlink::classifyIpsetKernelError;
using netlink::encodeIpsetChange;
using netlink::IpsetError;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The top-level attributes after the 20 bytes of nlmsghdr and nfgenmsg, keyed by type without
// flags, each with its header and padding.
std::map<int, Bytes> topAttrs(const Bytes& msg) {
  std::map<int, Bytes> out;
  std::size_t at = 20;
  while (at + 4 <= msg.size()) {
    const std::size_t len = msg[at] | (std::size_t{msg[at + 1]} << 8);
    const int type = (msg[at + 2] | (msg[at + 3] << 8)) & 0x3fff;
    const std::size_t padded = (len + 3) & ~std::size_t{3};
    REQUIRE(len >= 4);
    REQUIRE(at + padded <= msg.size());
    out[type] = Bytes(msg.begin() + static_cast<std::ptrdiff_t>(at),
                      msg.begin() + static_cast<std::ptrdiff_t>(at + padded));
    at += padded;
  }
  REQUIRE(at == msg.size());
  return out;
}

Bytes encode(std::string_view set, std::string_view type, ipvs::Family family,
             std::string_view entry, bool add = true) {
  Bytes out;
  REQUIRE(encodeIpsetChange(set, type, family, entry, add, out));
  return out;
}

constexpr int kAttrData = 7;

}  // namespace

TEST_CASE("ipset codec: an add to a hash:ip,port set is the message worked out by hand",
          "[ipset][codec]") {
  const Bytes expected = {
      0x50, 0x00, 0x00, 0x00,                       // nlmsg_len 80
      0x09, 0x06,                                   // NFNL_SUBSYS_IPSET << 8 | IPSET_CMD_ADD
      0x01, 0x02,                                   // NLM_F_REQUEST | NLM_F_EXCL
      0,    0,    0,    0,    0,    0,    0,    0,  // seq, pid: stamped by NetlinkSocket
      0x02, 0x00, 0x00, 0x00,  // nfgenmsg: NFPROTO_IPV4, NFNETLINK_V0, res_id 0
      0x05, 0x00, 0x01, 0x00, 0x06, 0,    0,    0,  // IPSET_ATTR_PROTOCOL 6
      0x14, 0x00, 0x02, 0x00,                       // IPSET_ATTR_SETNAME, 16 bytes with the NUL
      'K',  'U',  'B',  'E',  '-',  'C',  'L',  'U',  'S',  'T',
      'E',  'R',  '-',  'I',  'P',  0,    0x20, 0x00, 0x07, 0x80,  // IPSET_ATTR_DATA | NLA_F_NESTED
      0x0c, 0x00, 0x01, 0x80,                                      // IPSET_ATTR_IP | NLA_F_NESTED
      0x08, 0x00, 0x01, 0x40, 10,   96,   0,    1,     // IPADDR_IPV4 | NLA_F_NET_BYTEORDER
      0x06, 0x00, 0x04, 0x40, 0x00, 0x50, 0x00, 0x00,  // IPSET_ATTR_PORT 80, big endian
      0x05, 0x00, 0x07, 0x00, 0x06, 0x00, 0x00, 0x00,  // IPSET_ATTR_PROTO tcp
  };
  CHECK(encode("KUBE-CLUSTER-IP", "hash:ip,port", ipvs::Family::kV4, "10.96.0.1,tcp:80") ==
        expected);
}

TEST_CASE("ipset codec: a delete from a bitmap:port set carries only the port", "[ipset][codec]") {
  const Bytes msg = encode("KUBE-NODE-PORT-TCP", "bitmap:port", ipvs::Family::kV4, "30001", false);
  CHECK(msg[4] == 0x0a);  // IPSET_CMD_DEL
  CHECK(msg[5] == 0x06);
  CHECK(msg[0] == msg.size());
  CHECK(topAttrs(msg)[kAttrData] == Bytes{0x0c, 0x00, 0x07, 0x80,  // DATA
                                          0x06, 0x00, 0x04, 0x40, 0x75, 0x31, 0x00, 0x00});
}

TEST_CASE("ipset codec: an IPv6 hash:ip entry uses IPADDR_IPV6 and NFPROTO_IPV6",
          "[ipset][codec]") {
  const Bytes msg = encode("KUBE-6-IPVS-IPS", "hash:ip", ipvs::Family::kV6, "fd00::1");
  CHECK(msg[16] == 10);  // NFPROTO_IPV6
  const Bytes expected = {0x1c, 0x00, 0x07, 0x80, 0x18, 0x00, 0x01, 0x80, 0x14, 0x00,
                          0x02, 0x40, 0xfd, 0x00, 0,    0,    0,    0,    0,    0,
                          0,    0,    0,    0,    0,    0,    0,    0x01};
  CHECK(topAttrs(msg)[kAttrData] == expected);
}

TEST_CASE("ipset codec: hash:ip,port,net and hash:ip,port,ip put the third part in IP2",
          "[ipset][codec]") {
  const Bytes net = encode("KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net", ipvs::Family::kV4,
                           "1.2.3.4,udp:53,10.0.0.0/8");
  const Bytes tail = {
      0x06, 0x00, 0x04, 0x40, 0x00, 0x35, 0, 0,  // PORT 53
      0x05, 0x00, 0x07, 0x00, 17,   0,    0, 0,  // PROTO udp
      0x0c, 0x00, 0x14, 0x80,                    // IPSET_ATTR_IP2 (20) | NLA_F_NESTED
      0x08, 0x00, 0x01, 0x40, 10,   0,    0, 0,  // 10.0.0.0
      0x05, 0x00, 0x15, 0x00, 8,    0,    0, 0,  // IPSET_ATTR_CIDR2 (21) 8
  };
  const Bytes data = topAttrs(net)[kAttrData];
  REQUIRE(data.size() == 4 + 12 + tail.size());
  CHECK(Bytes(data.begin() + 16, data.end()) == tail);

  const Bytes ip = encode("KUBE-LOOP-BACK", "hash:ip,port,ip", ipvs::Family::kV4,
                          "10.244.1.1,sctp:8080,10.244.1.1");
  const Bytes ipData = topAttrs(ip)[kAttrData];
  REQUIRE(ipData.size() == 4 + 12 + 8 + 8 + 12);  // no CIDR2
  CHECK(ipData[24 + 4] == 132);                   // sctp
  CHECK(Bytes(ipData.end() - 12, ipData.end()) ==
        Bytes{0x0c, 0x00, 0x14, 0x80, 0x08, 0x00, 0x01, 0x40, 10, 244, 1, 1});
}

TEST_CASE("ipset codec: requests append back to back", "[ipset][codec]") {
  Bytes out;
  REQUIRE(encodeIpsetChange("KUBE-CLUSTER-IP", "hash:ip,port", ipvs::Family::kV4,
                            "10.96.0.1,tcp:80", true, out));
  REQUIRE(encodeIpsetChange("KUBE-CLUSTER-IP", "hash:ip,port", ipvs::Family::kV4,
                            "10.96.0.2,tcp:80", true, out));
  REQUIRE(out.size() == 160);
  CHECK(out[80] == 80);
  CHECK(out[80 + 63] == 2);  // the second message's address (16 + 4 + 8 + 20 + 4 + 4 + 4 + 3)
}

TEST_CASE("ipset codec: entries outside the canonical forms are refused and leave the buffer alone",
          "[ipset][codec]") {
  struct Case {
    std::string_view set, type;
    ipvs::Family family;
    std::string_view entry;
  };
  using ipvs::Family;
  const Case cases[] = {
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "fd00::1,tcp:80"},  // other family
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "10.0.0.1,tcp:70000"},
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "10.0.0.1,icmp:0"},
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "10.0.0.1,tcp:"},
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "10.0.0.1,tcp:+80"},
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "10.0.0.1"},
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "10.0.0.1,tcp:80,10.0.0.2"},
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, "10.0.0.300,tcp:80"},
      {"KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4, ""},
      {"KUBE-LOOP-BACK", "hash:ip,port,ip", Family::kV4, "10.0.0.1,tcp:80,10.0.0.0/8"},
      {"KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net", Family::kV4,
       "1.2.3.4,tcp:80,10.0.0.0/0"},
      {"KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net", Family::kV4,
       "1.2.3.4,tcp:80,10.0.0.0/33"},
      {"KUBE-NODE-PORT-TCP", "bitmap:port", Family::kV4, "tcp:80"},
      {"KUBE-NODE-PORT-TCP", "bitmap:port", Family::kV4, "65536"},
      {"KUBE-NODE-PORT-TCP", "list:set", Family::kV4, "80"},
      {"KUBE-A-NAME-THAT-IS-FAR-TOO-LONG", "hash:ip", Family::kV4, "10.0.0.1"},
  };
  for (const Case& c : cases) {
    Bytes out = {1, 2, 3};
    INFO(c.type << " " << c.entry);
    CHECK_FALSE(encodeIpsetChange(c.set, c.type, c.family, c.entry, true, out));
    CHECK(out == Bytes{1, 2, 3});
  }
}

TEST_CASE("ipset codec: kernel ipset errors map to the client's codes", "[ipset][codec]") {
  const auto kernel = [](int code) { return std::error_code(code, std::generic_category()); };
  CHECK(classifyIpsetKernelError({}, "hash:ip", true) == std::error_code{});
  CHECK(classifyIpsetKernelError(kernel(4103), "hash:ip", true) == IpsetError::kAlreadyAdded);
  CHECK(classifyIpsetKernelError(kernel(4103), "hash:ip", false) == IpsetError::kNotAdded);
  CHECK(classifyIpsetKernelError(kernel(ENOENT), "hash:ip", true) == IpsetError::kSetMissing);
  CHECK(classifyIpsetKernelError(kernel(EPERM), "hash:ip", true) == IpsetError::kPermission);
  CHECK(classifyIpsetKernelError(kernel(4352), "hash:ip,port", true) == IpsetError::kSetFull);
  CHECK(classifyIpsetKernelError(kernel(4352), "bitmap:port", true) == IpsetError::kSyntax);
  CHECK(classifyIpsetKernelError(kernel(4097), "hash:ip", true) == IpsetError::kSyntax);
  CHECK(classifyIpsetKernelError(kernel(4108), "hash:ip", true) == IpsetError::kKernel);
  CHECK(classifyIpsetKernelError(kernel(ETIMEDOUT), "hash:ip", true) ==
        std::errc::timed_out);  // a lost reply keeps its own code
}
