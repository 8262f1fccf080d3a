#include "netlink/link_client.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <vector>

namespace {

using ipvs::Family;
using ipvs::IpAddress;
using netlink::LinkOp;
using netlink::LocalAddress;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

}  // namespace

TEST_CASE("address requests round-trip", "[link]") {
  for (const char* text : {"10.96.0.10", "fd00:96::a"}) {
    CAPTURE(text);
    auto msg = netlink::encodeAddressRequest(true, 7, ip(text));
    REQUIRE(msg.has_value());
    const nlmsghdr* hdr = nlmsg_hdr(msg->get());
    CHECK(hdr->nlmsg_type == RTM_NEWADDR);
    CHECK((hdr->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));
    const auto decoded = netlink::decodeAddress(*hdr);
    REQUIRE(decoded.has_value());
    CHECK(decoded->address == ip(text));
    CHECK(decoded->ifindex == 7);
    CHECK(decoded->prefix == (ip(text).isV4() ? 32 : 128));
    CHECK(decoded->scope == RT_SCOPE_UNIVERSE);

    auto del = netlink::encodeAddressRequest(false, 7, ip(text));
    REQUIRE(del.has_value());
    CHECK(nlmsg_hdr(del->get())->nlmsg_type == RTM_DELADDR);
    CHECK_FALSE(netlink::decodeAddress(*nlmsg_hdr(del->get())));  // not an RTM_NEWADDR
    CHECK_FALSE(netlink::decodeLink(*hdr));
  }
}

TEST_CASE("a malformed address message is refused", "[link]") {
  netlink::NlMsgPtr msg(nlmsg_alloc_simple(RTM_NEWADDR, 0));
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  REQUIRE(nlmsg_append(msg.get(), &ifa, sizeof(ifa), NLMSG_ALIGNTO) == 0);
  const std::uint8_t wrongLength[16] = {};
  REQUIRE(nla_put(msg.get(), IFA_LOCAL, sizeof(wrongLength), wrongLength) == 0);
  CHECK_FALSE(netlink::decodeAddress(*nlmsg_hdr(msg.get())));

  netlink::NlMsgPtr bare(nlmsg_alloc_simple(RTM_NEWADDR, 0));
  REQUIRE(nlmsg_append(bare.get(), &ifa, sizeof(ifa), NLMSG_ALIGNTO) == 0);
  CHECK_FALSE(netlink::decodeAddress(*nlmsg_hdr(bare.get())));  // no address at all
}

TEST_CASE("idempotent link results", "[link]") {
  const auto e = [](std::errc c) { return std::make_error_code(c); };
  CHECK(netlink::isIdempotentLinkResult(LinkOp::kBind, e(std::errc::file_exists)));
  CHECK_FALSE(netlink::isIdempotentLinkResult(LinkOp::kBind, e(std::errc::no_such_device)));
  CHECK(netlink::isIdempotentLinkResult(LinkOp::kUnbind, e(std::errc::address_not_available)));
  CHECK(netlink::isIdempotentLinkResult(LinkOp::kUnbind, e(std::errc::no_such_device)));
  CHECK_FALSE(netlink::isIdempotentLinkResult(LinkOp::kUnbind, e(std::errc::permission_denied)));
  CHECK(netlink::isIdempotentLinkResult(LinkOp::kCreateLink, e(std::errc::file_exists)));
  CHECK(netlink::isIdempotentLinkResult(LinkOp::kDeleteLink, e(std::errc::no_such_device)));
  CHECK_FALSE(netlink::isIdempotentLinkResult(LinkOp::kDeleteLink, e(std::errc::file_exists)));
}

TEST_CASE("node address candidates follow kube-proxy's isValidForSet", "[link]") {
  const std::vector<LocalAddress> all{
      {"lo", 1, ip("127.0.0.1"), 8, RT_SCOPE_HOST},
      {"lo", 1, ip("::1"), 128, RT_SCOPE_HOST},
      {"eth0", 2, ip("100.101.102.103"), 24, RT_SCOPE_UNIVERSE},
      {"eth0", 2, ip("2001:db8::1:1"), 64, RT_SCOPE_UNIVERSE},
      {"eth0", 2, ip("fe80::1"), 64, RT_SCOPE_LINK},
      {"docker0", 3, ip("172.17.0.1"), 16, RT_SCOPE_UNIVERSE},
  };
  CHECK(netlink::nodeAddressCandidates(all, Family::kV4) ==
        std::set<IpAddress>{ip("100.101.102.103"), ip("172.17.0.1")});
  CHECK(netlink::nodeAddressCandidates(all, Family::kV6) ==
        std::set<IpAddress>{ip("2001:db8::1:1")});
}

TEST_CASE("read-only rtnetlink queries work unprivileged", "[link]") {
  // Reads only: the loopback link and its address exist in every network namespace.
  auto client = netlink::LinkClient::open();
  REQUIRE(client.has_value());
  const auto lo = client->findLink("lo");
  REQUIRE(lo.has_value());
  REQUIRE(lo->has_value());
  CHECK((*lo)->name == "lo");
  const auto none = client->findLink("no-such-if0");
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
  CHECK(client->findLink("this-name-is-far-too-long").error() == std::errc::invalid_argument);

  const auto onLo = client->listAddresses((*lo)->index);
  REQUIRE(onLo.has_value());
  CHECK(onLo->count(ip("127.0.0.1")) == 1);
  const auto others = client->localAddresses((*lo)->index);
  REQUIRE(others.has_value());
  for (const LocalAddress& a : *others) CHECK(a.interface != "lo");
  CHECK(client->counters().failures == 0);
}
