// formatIpvsadmSave / parseIpvsadmSave / formatIpsetSave / parseIpsetSave.

#include "ipvs/ipvsadm_format.h"

#include <catch2/catch.hpp>

#include "ipvs/ipset_entries.h"
#include "planner_fixtures.h"
#include "tests/support/ipvs_save_parse.h"

using namespace fx;
using testsupport::parseIpsetName;
using testsupport::parseIpsetSave;
using testsupport::parseIpvsadmSave;

namespace {

void add(KernelState& k, VirtualServer v, std::vector<RealServer> rss = {}) {
  ObservedVirtualServer o;
  o.server = std::move(v);
  std::sort(rss.begin(), rss.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  for (auto& r : rss) o.realServers.push_back({r, {}});
  k.virtualServers[o.server.key] = o;
}

VirtualServer vs(VirtualServerKey key, const char* sched = "rr", std::uint32_t flags = 0,
                 std::uint32_t timeout = 0, std::uint32_t netmask = 0) {
  VirtualServer v;
  v.key = key;
  v.scheduler = sched;
  v.flags = flags;
  v.timeout = timeout;
  v.netmask = netmask ? netmask : (key.address.isV4() ? 32 : 128);
  return v;
}

RealServer rs(const char* addr, std::uint16_t p, ForwardMethod m = ForwardMethod::kMasquerade,
              std::uint32_t w = 1) {
  RealServer r;
  r.key = rsKey(addr, p);
  r.method = m;
  r.weight = w;
  return r;
}

KernelState sample() {
  KernelState k;
  add(k, vs(vsKey("10.20.30.41", 80)), {rs("10.180.0.2", 80), rs("10.180.0.1", 80)});
  add(k, vs(vsKey("10.20.30.41", 443), "rr", kFlagPersistent, 10800));
  add(k, vs(vsKey("10.0.0.1", 80), "sh", kFlagSched1 | kFlagSched2),
      {rs("10.1.0.1", 80, ForwardMethod::kDirectRoute, 0)});
  add(k, vs(vsKey("10.0.0.2", 53, Protocol::kUdp), "mh", kFlagSched2 | kFlagPersistent, 60, 24),
      {rs("10.1.0.2", 53, ForwardMethod::kTunnel, 3)});
  add(k, vs(vsKey("2001:db8::1", 80, Protocol::kSctp), "wlc", kFlagPersistent, 300, 64),
      {rs("2001:db8::10", 8080)});
  add(k, vs(vsKey("2001:db8::1", 80), "rr", kFlagOnePacket | kFlagSched3));
  add(k, vs({IpAddress{}, Protocol::kTcp, 0, 5}), {rs("10.1.0.5", 80)});
  return k;
}

}  // namespace

TEST_CASE("formatIpvsadmSave prints what ipvsadm -Sn prints", "[format]") {
  const std::string expected =
      "-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port\n"
      "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 0\n"
      "-A -t 10.20.30.41:80 -s rr\n"
      "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1\n"
      "-a -t 10.20.30.41:80 -r 10.180.0.2:80 -m -w 1\n"
      "-A -t 10.20.30.41:443 -s rr -p 10800\n"
      "-A -u 10.0.0.2:53 -s mh -p 60 -M 255.255.255.0 -b mh-port\n"
      "-a -u 10.0.0.2:53 -r 10.1.0.2:53 -i -w 3 --tun-type ipip\n"
      "-A -t [2001:db8::1]:80 -s rr -o -b flag-3\n"
      "-A --sctp-service [2001:db8::1]:80 -s wlc -p 300 -M 64\n"
      "-a --sctp-service [2001:db8::1]:80 -r [2001:db8::10]:8080 -m -w 1\n"
      "-A -f 5 -s rr\n"
      "-a -f 5 -r 10.1.0.5:80 -m -w 1\n";
  CHECK(formatIpvsadmSave(sample()) == expected);
}

TEST_CASE("parseIpvsadmSave reads the output back, in any order", "[format]") {
  const KernelState k = sample();
  std::string text = formatIpvsadmSave(k);
  // Reverse the lines: real servers now come before their services.
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::string reversed;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) reversed += *it + "\n";
  std::string err;
  const auto parsed = parseIpvsadmSave(reversed, &err);
  INFO(err);
  REQUIRE(parsed);
  CHECK(formatIpvsadmSave(*parsed) == text);
  for (const auto& [key, v] : k.virtualServers) {
    REQUIRE(parsed->virtualServers.count(key));
    CHECK(parsed->virtualServers.at(key).server == v.server);
    CHECK(realServers(parsed->virtualServers.at(key)) == realServers(v));
  }
}

TEST_CASE("parseIpvsadmSave accepts long options and defaults", "[format]") {
  const auto parsed = parseIpvsadmSave(
      "--add-service --tcp-service 10.0.0.1:80 --scheduler lc --persistent\n"
      "--add-server --tcp-service 10.0.0.1:80 --real-server 10.1.0.1 -x 10 -y 2\n");
  REQUIRE(parsed);
  const auto& v = parsed->virtualServers.at(vsKey("10.0.0.1", 80));
  CHECK(v.server.timeout == 300);
  CHECK(v.server.netmask == 32);
  REQUIRE(v.realServers.size() == 1);
  CHECK(v.realServers[0].server.key == rsKey("10.1.0.1", 80));
  CHECK(v.realServers[0].server.method == ForwardMethod::kDirectRoute);
  CHECK(v.realServers[0].server.upperThreshold == 10);
  CHECK(v.realServers[0].server.lowerThreshold == 2);
}

TEST_CASE("parseIpvsadmSave rejects bad input with the line number", "[format]") {
  for (const char* bad : {"-A -t 10.0.0.1:80 -s rr\n-Q\n", "-a -t 10.0.0.1:80 -r 1.1.1.1:1 -m\n",
                          "-A -t 10.0.0.1:99999 -s rr\n", "-A -t 10.0.0.1:80 -p 5 -M 255.0.255.0\n",
                          "-A -t 10.0.0.1:80 -s rr -b turbo\n", "-A -s rr\n",
                          "-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n"}) {
    INFO(bad);
    std::string err;
    CHECK_FALSE(parseIpvsadmSave(bad, &err));
    CHECK_THAT(err, Catch::StartsWith("ipvsadm -S line "));
  }
  CHECK(parseIpvsadmSave("\n# comment\n"));
}

TEST_CASE("ipset save text round-trips, keeping only the agent's sets", "[format]") {
  std::set<IpsetEntry> entries{{IpsetId::kNodePortTcp, Family::kV4, "3001"},
                               {IpsetId::kClusterIP, Family::kV4, "10.0.0.1,tcp:80"},
                               {IpsetId::kLoopBack, Family::kV6, "fd00::1,tcp:80,fd00::1"}};
  const std::string text = formatIpsetSave(entries);
  CHECK(text ==
        "add KUBE-6-LOOP-BACK fd00::1,tcp:80,fd00::1\n"
        "add KUBE-CLUSTER-IP 10.0.0.1,tcp:80\n"
        "add KUBE-NODE-PORT-TCP 3001\n");
  const std::string save = "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024\n" +
                           text + "add OTHER-SET 1.2.3.4\nadd KUBE-NODE-PORT-TCP 3002 timeout 0\n";
  const auto parsed = parseIpsetSave(save);
  REQUIRE(parsed);
  auto expected = entries;
  expected.insert({IpsetId::kNodePortTcp, Family::kV4, "3002"});
  CHECK(*parsed == expected);
  CHECK(parseIpsetName("KUBE-6-NODE-PORT-LOCAL-SCTP-HAS") ==
        std::make_pair(IpsetId::kNodePortLocalSctp, Family::kV6));
  CHECK_FALSE(parseIpsetName("KUBE-FOO"));
  CHECK_FALSE(parseIpsetSave("add KUBE-CLUSTER-IP\n"));
}

TEST_CASE("ipset members print addresses exactly like inet_ntop", "[format]") {
  for (std::uint32_t v : {0u, 0x01020304u, 0x0a000001u, 0x64656667u, 0xc0a80a0au, 0xffffffffu,
                          0x09630a64u, 0x7f000001u}) {
    const IpAddress a = IpAddress::v4(v);
    CHECK(ipEntry(IpsetId::kIpvsIps, a).entry == a.toString());
    CHECK(ipPortIpEntry(IpsetId::kLoopBack, a, Protocol::kUdp, 53, a).entry ==
          a.toString() + ",udp:53," + a.toString());
  }
  CHECK(ipPortNetEntry(IpsetId::kLoadBalancerSourceCIDR, ip("fd00::1"), Protocol::kTcp, 80,
                       cidr("2001:db8::/32"))
            .entry == "fd00::1,tcp:80,2001:db8::/32");
  CHECK(portEntry(IpsetId::kNodePortUdp, Family::kV6, 30053).entry == "30053");
}
