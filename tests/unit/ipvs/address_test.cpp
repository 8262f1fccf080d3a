#include <catch2/catch.hpp>

#include "ipvs/address.h"
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
