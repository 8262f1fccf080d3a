#include "ipvs/address.h"

#include <catch2/catch.hpp>
#include <string>

#include "ipvs/kernel_objects.h"

using namespace ipvs;

TEST_CASE("IP addresses parse, format and compare", "[address]") {
  auto v4 = IpAddress::parse("10.20.30.41");
  REQUIRE(v4);
  CHECK(v4->isV4());
  CHECK(v4->toString() == "10.20.30.41");
  auto v6 = IpAddress::parse("2001:db8::1");
  REQUIRE(v6);
  CHECK(v6->family() == Family::kV6);
  CHECK(v6->toString() == "2001:db8::1");
  CHECK(*v4 < *v6);
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "::g", "abc", "10.0.0.1 "}) {
    INFO(bad);
    CHECK_FALSE(IpAddress::parse(bad));
  }
  CHECK(IpAddress::parse("127.0.0.1")->isLoopback());
  CHECK(IpAddress::parse("::1")->isLoopback());
  CHECK(IpAddress::parse("0.0.0.0")->isUnspecified());
}

TEST_CASE("an address with an embedded NUL or over the textual maximum is rejected", "[address]") {
  using namespace std::string_literals;
  // inet_pton would stop at the NUL and accept the prefix.
  for (const auto& bad : {"10.0.0.1\0junk"s, "10.0.0.1\0"s, "\0"s, "2001:db8::1\0:2"s}) {
    INFO(bad.size());
    CHECK_FALSE(IpAddress::parse(bad));
    CHECK_FALSE(Cidr::parse(bad + "/32"));
  }
  CHECK_FALSE(Cidr::parse("10.0.0.0/8\0junk"s));
  // The longest valid text (45 characters, an IPv4-mapped IPv6 address) still parses; one
  // character more is refused before any copy.
  const std::string longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  REQUIRE(longest.size() == 45);
  CHECK(IpAddress::parse(longest));
  CHECK_FALSE(IpAddress::parse(longest + " "));
  CHECK_FALSE(IpAddress::parse(std::string(1000, '1')));
}

TEST_CASE("CIDRs mask host bits and test membership", "[address]") {
  auto c = Cidr::parse("10.1.2.3/8");
  REQUIRE(c);
  CHECK(c->toString() == "10.0.0.0/8");
  CHECK(c->contains(*IpAddress::parse("10.255.0.1")));
  CHECK_FALSE(c->contains(*IpAddress::parse("11.0.0.1")));
  CHECK_FALSE(c->contains(*IpAddress::parse("::1")));
  CHECK(Cidr::parse("0.0.0.0/0")->contains(*IpAddress::parse("1.2.3.4")));
  CHECK(Cidr::parse("2001:db8::/32")->contains(*IpAddress::parse("2001:db8:1::5")));
  CHECK(Cidr::parse("1.2.3.4")->prefix() == 32);
  CHECK_FALSE(Cidr::parse("1.2.3.4/33"));
  CHECK_FALSE(Cidr::parse("1.2.3.4/"));
  CHECK_FALSE(Cidr::parse("1.2.3.4/a"));
}

TEST_CASE("ipset names follow kube-proxy, with KUBE-6- for IPv6", "[ipset]") {
  CHECK(ipsetName(IpsetId::kClusterIP, Family::kV4) == "KUBE-CLUSTER-IP");
  CHECK(ipsetName(IpsetId::kClusterIP, Family::kV6) == "KUBE-6-CLUSTER-IP");
  CHECK(ipsetName(IpsetId::kNodePortLocalSctp, Family::kV6) == "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS");
  for (const auto& d : ipsetDefs()) CHECK(&ipsetDef(d.id) == &d);
}
