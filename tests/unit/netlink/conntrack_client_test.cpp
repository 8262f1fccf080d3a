// netlink/conntrack_client.h: a ctnetlink message (as a dump carries it) decodes into the entry
// the cleanup filters match, without a socket: the message is built by libnl-nf from a
// conntrack object and parsed back.

#include "netlink/conntrack_client.h"

#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netfilter/ct.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <memory>

using namespace ipvs;

namespace {

struct CtDeleter {
  void operator()(nfnl_ct* ct) const noexcept { nfnl_ct_put(ct); }
};
using CtPtr = std::unique_ptr<nfnl_ct, CtDeleter>;

void setAddress(nfnl_ct* ct, int reply, bool src, const char* text) {
  nl_addr* a = nullptr;
  REQUIRE(nl_addr_parse(text, AF_UNSPEC, &a) == 0);
  REQUIRE((src ? nfnl_ct_set_src(ct, reply, a) : nfnl_ct_set_dst(ct, reply, a)) == 0);
  nl_addr_put(a);
}

// A UDP entry client -> VIP:53, answered by backend:5353, through a ctnetlink message.
CtPtr wireEntry(std::uint8_t family, std::uint8_t proto, const char* client, const char* vip,
                const char* backend) {
  CtPtr ct(nfnl_ct_alloc());
  nfnl_ct_set_family(ct.get(), family);
  nfnl_ct_set_proto(ct.get(), proto);
  setAddress(ct.get(), 0, true, client);
  setAddress(ct.get(), 0, false, vip);
  nfnl_ct_set_src_port(ct.get(), 0, 40053);
  nfnl_ct_set_dst_port(ct.get(), 0, 53);
  setAddress(ct.get(), 1, true, backend);
  setAddress(ct.get(), 1, false, client);
  nfnl_ct_set_src_port(ct.get(), 1, 5353);
  nfnl_ct_set_dst_port(ct.get(), 1, 40053);
  nl_msg* msg = nullptr;
  REQUIRE(nfnl_ct_build_add_request(ct.get(), 0, &msg) == 0);
  nfnl_ct* parsed = nullptr;
  const int err = nfnlmsg_ct_parse(nlmsg_hdr(msg), &parsed);
  nlmsg_free(msg);
  REQUIRE(err == 0);
  return CtPtr(parsed);
}

}  // namespace

TEST_CASE("conntrack: a ctnetlink UDP entry decodes with both tuples", "[netlink][conntrack]") {
  auto ct = wireEntry(AF_INET, IPPROTO_UDP, "10.250.0.5", "10.96.1.53", "10.244.1.2");
  const auto e = netlink::decodeConntrack(*ct);
  REQUIRE(e);
  CHECK(e->protocol == Protocol::kUdp);
  CHECK(e->original.src.toString() == "10.250.0.5");
  CHECK(e->original.dst.toString() == "10.96.1.53");
  CHECK(e->original.srcPort == 40053);
  CHECK(e->original.dstPort == 53);
  CHECK(e->reply.src.toString() == "10.244.1.2");
  CHECK(e->reply.srcPort == 5353);
  const ConntrackFilter filter{Protocol::kUdp, *IpAddress::parse("10.96.1.53"), 53,
                               RealServerKey{*IpAddress::parse("10.244.1.2"), 5353}};
  CHECK(matches(filter, *e));
}

TEST_CASE("conntrack: an IPv6 entry decodes - other protocols are skipped",
          "[netlink][conntrack]") {
  auto v6 = wireEntry(AF_INET6, IPPROTO_UDP, "fd00:250::5", "fd00:96::53", "fd00:244::2");
  const auto e = netlink::decodeConntrack(*v6);
  REQUIRE(e);
  CHECK(e->original.dst.toString() == "fd00:96::53");
  CHECK(e->reply.src.toString() == "fd00:244::2");
  auto icmp = wireEntry(AF_INET, IPPROTO_ICMP, "10.250.0.5", "10.96.1.53", "10.244.1.2");
  CHECK_FALSE(netlink::decodeConntrack(*icmp));
}
