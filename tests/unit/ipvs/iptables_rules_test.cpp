#include "ipvs/iptables_rules.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

using ipvs::Family;
using ipvs::IpsetId;
using ipvs::IptablesRuleInputs;

using Lines = std::vector<std::string>;

IptablesRuleInputs inputs(std::initializer_list<IpsetId> nonEmpty, Family family = Family::kV4) {
  IptablesRuleInputs in;
  in.family = family;
  for (IpsetId id : nonEmpty) in.nonEmpty[static_cast<std::size_t>(id)] = true;
  return in;
}

// The "-A" lines of one chain of one table of restore or save text, in order.
Lines chain(const std::string& text, std::string_view table, std::string_view name) {
  Lines out;
  for (const ipvs::SavedTable& t : ipvs::parseSave(text)) {
    if (t.name != table) continue;
    for (const ipvs::SavedRule& r : t.rules) {
      if (r.chain == name) out.push_back("-A " + r.chain + " " + r.spec);
    }
  }
  return out;
}

Lines nat(const IptablesRuleInputs& in, std::string_view name) {
  return chain(ipvs::renderRules(in), "nat", name);
}
Lines filter(const IptablesRuleInputs& in, std::string_view name) {
  return chain(ipvs::renderRules(in), "filter", name);
}

std::size_t countRules(const std::string& text) {
  std::size_t n = 0;
  for (const ipvs::SavedTable& t : ipvs::parseSave(text)) n += t.rules.size();
  return n;
}

const std::string kClusterMasq =
    "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for masquerade "
    "purpose\" -m set --match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ";
const std::string kLoReturn = "-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN";
const std::string kToNodePort = "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT";
const std::string kAcceptCluster =
    "-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT";
const std::string kHealthCheckAccept =
    "-A KUBE-NODE-PORT -m comment --comment \"Kubernetes health check node port\" -m set "
    "--match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT";

}  // namespace

TEST_CASE("S1 ClusterIP: the whole restore text", "[iptables_rules]") {
  const std::string expected =
      "*nat\n"
      ":KUBE-SERVICES - [0:0]\n"
      ":KUBE-POSTROUTING - [0:0]\n"
      ":KUBE-NODE-PORT - [0:0]\n"
      ":KUBE-LOAD-BALANCER - [0:0]\n"
      ":KUBE-MARK-MASQ - [0:0]\n" +
      kLoReturn + "\n" + kClusterMasq + "\n" + kToNodePort + "\n" + kAcceptCluster +
      "\n"
      "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
      "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n"
      "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" "
      "-j MASQUERADE\n"
      "-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ\n"
      "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n"
      "COMMIT\n"
      "*filter\n"
      ":KUBE-FORWARD - [0:0]\n"
      ":KUBE-NODE-PORT - [0:0]\n"
      ":KUBE-PROXY-FIREWALL - [0:0]\n"
      ":KUBE-SOURCE-RANGES-FIREWALL - [0:0]\n"
      ":KUBE-IPVS-FILTER - [0:0]\n"
      ":KUBE-IPVS-OUT-FILTER - [0:0]\n"
      "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark "
      "0x4000/0x4000 -j ACCEPT\n"
      "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m "
      "conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n" +
      kHealthCheckAccept +
      "\n"
      "-A KUBE-SOURCE-RANGES-FIREWALL -j DROP\n"
      "-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN\n"
      "-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN\n"
      "-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN\n"
      "-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN\n"
      "-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN\n"
      "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j "
      "REJECT\n"
      "COMMIT\n";
  CHECK(ipvs::renderRules(inputs({IpsetId::kClusterIP, IpsetId::kIpvsIps})) == expected);
}

TEST_CASE("S3 NodePort TCP", "[iptables_rules]") {
  const auto in = inputs({IpsetId::kClusterIP, IpsetId::kIpvsIps, IpsetId::kNodePortTcp});
  CHECK(nat(in, "KUBE-NODE-PORT") ==
        Lines{"-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port for "
              "masquerade purpose\" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ"});
  CHECK(nat(in, "KUBE-SERVICES") == Lines{kLoReturn, kClusterMasq, kToNodePort, kAcceptCluster});
  // The endpoint is not local: no hairpin rule.
  CHECK(nat(in, "KUBE-POSTROUTING").size() == 3);
}

TEST_CASE("S4 NodePort UDP", "[iptables_rules]") {
  const auto in = inputs({IpsetId::kClusterIP, IpsetId::kIpvsIps, IpsetId::kNodePortUdp});
  CHECK(nat(in, "KUBE-NODE-PORT") ==
        Lines{"-A KUBE-NODE-PORT -p udp -m comment --comment \"Kubernetes nodeport UDP port for "
              "masquerade purpose\" -m set --match-set KUBE-NODE-PORT-UDP dst -j KUBE-MARK-MASQ"});
  CHECK(filter(in, "KUBE-NODE-PORT") == Lines{kHealthCheckAccept});
  CHECK(nat(in, "KUBE-SERVICES") == Lines{kLoReturn, kClusterMasq, kToNodePort, kAcceptCluster});
}

TEST_CASE("S6 NodePort with externalTrafficPolicy=Local", "[iptables_rules]") {
  const auto in = inputs({IpsetId::kClusterIP, IpsetId::kIpvsIps, IpsetId::kNodePortTcp,
                          IpsetId::kNodePortLocalTcp, IpsetId::kLoopBack});
  CHECK(nat(in, "KUBE-NODE-PORT") ==
        Lines{"-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port with "
              "externalTrafficPolicy=local\" -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j "
              "RETURN",
              "-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port for "
              "masquerade purpose\" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ"});
  CHECK(filter(in, "KUBE-NODE-PORT") == Lines{kHealthCheckAccept});
  CHECK(nat(in, "KUBE-POSTROUTING") ==
        Lines{"-A KUBE-POSTROUTING -m comment --comment \"Kubernetes endpoints dst ip:port, "
              "source ip for solving hairpin purpose\" -m set --match-set KUBE-LOOP-BACK "
              "dst,dst,src -j MASQUERADE",
              "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
              "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
              "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring "
              "SNAT\" -j MASQUERADE"});
}

TEST_CASE("S7 LoadBalancer with externalTrafficPolicy=Local", "[iptables_rules]") {
  const auto in = inputs({IpsetId::kClusterIP, IpsetId::kIpvsIps, IpsetId::kLoadBalancer,
                          IpsetId::kLoadBalancerLocal, IpsetId::kNodePortTcp,
                          IpsetId::kNodePortLocalTcp, IpsetId::kLoopBack});
  CHECK(nat(in, "KUBE-SERVICES") ==
        Lines{kLoReturn,
              "-A KUBE-SERVICES -m comment --comment \"Kubernetes service lb portal\" -m set "
              "--match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER",
              kClusterMasq, kToNodePort, kAcceptCluster,
              "-A KUBE-SERVICES -m set --match-set KUBE-LOAD-BALANCER dst,dst -j ACCEPT"});
  CHECK(nat(in, "KUBE-LOAD-BALANCER") ==
        Lines{"-A KUBE-LOAD-BALANCER -m comment --comment \"Kubernetes service load balancer ip "
              "+ port with externalTrafficPolicy=local\" -m set --match-set "
              "KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN",
              "-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ"});
}

TEST_CASE("S8 loadBalancerSourceRanges", "[iptables_rules]") {
  const std::string fwJump =
      "-A KUBE-PROXY-FIREWALL -m comment --comment \"Kubernetes service load balancer ip + port "
      "for load balancer with sourceRange\" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j "
      "KUBE-SOURCE-RANGES-FIREWALL";
  const std::string cidrReturn =
      "-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment \"Kubernetes service load balancer ip "
      "+ port + source cidr for packet filter purpose\" -m set --match-set "
      "KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN";
  const std::string drop = "-A KUBE-SOURCE-RANGES-FIREWALL -j DROP";

  SECTION("node IP outside the ranges: node access dropped in OUTPUT") {
    auto in = inputs({IpsetId::kClusterIP, IpsetId::kIpvsIps, IpsetId::kLoadBalancer,
                      IpsetId::kLoadBalancerFW, IpsetId::kLoadBalancerSourceCIDR});
    in.lbNoNodeAccess.push_back({*ipvs::IpAddress::parse("1.2.3.4"), ipvs::Protocol::kTcp, 80});
    CHECK(filter(in, "KUBE-PROXY-FIREWALL") == Lines{fwJump});
    CHECK(filter(in, "KUBE-SOURCE-RANGES-FIREWALL") == Lines{cidrReturn, drop});
    CHECK(filter(in, "KUBE-IPVS-OUT-FILTER") ==
          Lines{"-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport "
                "80 -j DROP"});
  }
  SECTION("node IP inside the ranges: the source-IP set lets it through") {
    const auto in = inputs({IpsetId::kClusterIP, IpsetId::kIpvsIps, IpsetId::kLoadBalancer,
                            IpsetId::kLoadBalancerFW, IpsetId::kLoadBalancerSourceCIDR,
                            IpsetId::kLoadBalancerSourceIP});
    CHECK(filter(in, "KUBE-SOURCE-RANGES-FIREWALL") ==
          Lines{cidrReturn,
                "-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment \"Kubernetes service load "
                "balancer ip + port + source IP for packet filter purpose\" -m set --match-set "
                "KUBE-LOAD-BALANCER-SOURCE-IP dst,dst,src -j RETURN",
                drop});
    CHECK(filter(in, "KUBE-IPVS-OUT-FILTER").empty());
  }
  SECTION("no source ranges anywhere: only the final DROP, which nothing reaches") {
    const auto in = inputs({IpsetId::kClusterIP, IpsetId::kLoadBalancer});
    CHECK(filter(in, "KUBE-PROXY-FIREWALL").empty());
    CHECK(filter(in, "KUBE-SOURCE-RANGES-FIREWALL") == Lines{drop});
  }
}

TEST_CASE("S8 out-filter drops are sorted, deduplicated and of the family", "[iptables_rules]") {
  auto in = inputs({});
  const auto ip = [](const char* s) { return *ipvs::IpAddress::parse(s); };
  in.lbNoNodeAccess = {{ip("5.6.7.8"), ipvs::Protocol::kUdp, 53},
                       {ip("1.2.3.4"), ipvs::Protocol::kTcp, 443},
                       {ip("2001:db8::1"), ipvs::Protocol::kTcp, 80},
                       {ip("1.2.3.4"), ipvs::Protocol::kTcp, 443}};
  CHECK(filter(in, "KUBE-IPVS-OUT-FILTER") ==
        Lines{"-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 443 "
              "-j DROP",
              "-A KUBE-IPVS-OUT-FILTER -s 5.6.7.8 -m ipvs --vaddr 5.6.7.8 --vproto udp --vport 53 "
              "-j DROP"});
  in.family = Family::kV6;
  CHECK(filter(in, "KUBE-IPVS-OUT-FILTER") ==
        Lines{"-A KUBE-IPVS-OUT-FILTER -s 2001:db8::1 -m ipvs --vaddr 2001:db8::1 --vproto tcp "
              "--vport 80 -j DROP"});
}

TEST_CASE("S10 externalIPs, Cluster and Local policy", "[iptables_rules]") {
  const std::string ext =
      "-A KUBE-SERVICES -m comment --comment \"Kubernetes service external ip + port for "
      "masquerade and filter purpose\" -m set --match-set KUBE-EXTERNAL-IP dst,dst";
  const std::string extLocal =
      "-A KUBE-SERVICES -m comment --comment \"Kubernetes service external ip + port with "
      "externalTrafficPolicy=local\" -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst";
  const std::string offMachine =
      " -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT";
  const std::string dstLocal = " -m addrtype --dst-type LOCAL -j ACCEPT";

  CHECK(nat(inputs({IpsetId::kClusterIP, IpsetId::kExternalIP}), "KUBE-SERVICES") ==
        Lines{kLoReturn, kClusterMasq, ext + " -j KUBE-MARK-MASQ", ext + offMachine, ext + dstLocal,
              kToNodePort, kAcceptCluster});
  CHECK(nat(inputs({IpsetId::kClusterIP, IpsetId::kExternalIPLocal}), "KUBE-SERVICES") ==
        Lines{kLoReturn, kClusterMasq, extLocal + offMachine, extLocal + dstLocal, kToNodePort,
              kAcceptCluster});
}

TEST_CASE("cluster-IP masquerade variants (facts 1.13)", "[iptables_rules]") {
  const std::string base =
      "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for "
      "masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP";
  auto in = inputs({IpsetId::kClusterIP});
  SECTION("masqueradeAll wins over a detector") {
    in.masqueradeAll = true;
    in.localDetector.cidrs = {*ipvs::Cidr::parse("10.244.0.0/16")};
    CHECK(nat(in, "KUBE-SERVICES")[1] == base + " dst,dst -j KUBE-MARK-MASQ");
  }
  SECTION("local detector uses the CIDR of the proxier's family") {
    in.localDetector.cidrs = {*ipvs::Cidr::parse("fd00::/48"), *ipvs::Cidr::parse("10.244.0.0/16")};
    CHECK(nat(in, "KUBE-SERVICES")[1] == base + " dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ");
  }
  SECTION("a detector without a CIDR of the family is no detector") {
    in.localDetector.cidrs = {*ipvs::Cidr::parse("fd00::/48")};
    CHECK(nat(in, "KUBE-SERVICES")[1] == kClusterMasq);
  }
  SECTION("NodeCIDR: the node's pod CIDR, first of the family") {
    in.localDetector.cidrs = {*ipvs::Cidr::parse("10.244.1.0/24"),
                              *ipvs::Cidr::parse("10.244.9.0/24")};
    CHECK(nat(in, "KUBE-SERVICES")[1] == base + " dst,dst ! -s 10.244.1.0/24 -j KUBE-MARK-MASQ");
  }
  SECTION("BridgeInterface: ! -i <bridge>, in both families") {
    in.localDetector.interfaceMatch = "cbr0";
    CHECK(nat(in, "KUBE-SERVICES")[1] == base + " dst,dst ! -i cbr0 -j KUBE-MARK-MASQ");
    auto v6 = inputs({IpsetId::kClusterIP}, Family::kV6);
    v6.localDetector.interfaceMatch = "cbr0";
    CHECK(nat(v6, "KUBE-SERVICES")[1] ==
          "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for "
          "masquerade purpose\" -m set --match-set KUBE-6-CLUSTER-IP dst,dst ! -i cbr0 -j "
          "KUBE-MARK-MASQ");
  }
  SECTION("InterfaceNamePrefix: ! -i <prefix>+") {
    in.localDetector.interfaceMatch = "veth+";
    CHECK(nat(in, "KUBE-SERVICES")[1] == base + " dst,dst ! -i veth+ -j KUBE-MARK-MASQ");
  }
  SECTION("the detector changes that one rule only") {
    auto plain = inputs({IpsetId::kClusterIP, IpsetId::kExternalIP, IpsetId::kLoadBalancer});
    auto detected = plain;
    detected.localDetector.interfaceMatch = "veth+";
    auto a = nat(plain, "KUBE-SERVICES");
    auto b = nat(detected, "KUBE-SERVICES");
    REQUIRE(a.size() == b.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      differing += a[i] != b[i] ? std::size_t{1} : std::size_t{0};
    CHECK(differing == 1);
    CHECK(ipvs::renderRules(plain) != ipvs::renderRules(detected));
  }
}

TEST_CASE("LocalDetector::ifNotLocal is kube-proxy's IfNotLocal", "[iptables_rules]") {
  ipvs::LocalDetector d;
  CHECK(d.ifNotLocal(Family::kV4).empty());
  d.cidrs = {*ipvs::Cidr::parse("fd00:10::/64"), *ipvs::Cidr::parse("10.0.0.0/8")};
  CHECK(d.ifNotLocal(Family::kV4) == "! -s 10.0.0.0/8");
  CHECK(d.ifNotLocal(Family::kV6) == "! -s fd00:10::/64");
  d.interfaceMatch = "eth+";
  CHECK(d.ifNotLocal(Family::kV6) == "! -i eth+");
}

TEST_CASE("IPv6 uses KUBE-6- sets and ::1", "[iptables_rules]") {
  const auto in = inputs({IpsetId::kClusterIP, IpsetId::kNodePortLocalSctp}, Family::kV6);
  const Lines services = nat(in, "KUBE-SERVICES");
  CHECK(services.front() == "-A KUBE-SERVICES -s ::1/128 -j RETURN");
  CHECK(services.back() ==
        "-A KUBE-SERVICES -m set --match-set KUBE-6-CLUSTER-IP dst,dst -j ACCEPT");
  CHECK(nat(in, "KUBE-NODE-PORT") ==
        Lines{"-A KUBE-NODE-PORT -p sctp -m comment --comment \"Kubernetes nodeport SCTP port "
              "with externalTrafficPolicy=local with type 'hash ip:port'\" -m set --match-set "
              "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS dst,dst -j RETURN"});
  CHECK(filter(in, "KUBE-IPVS-FILTER").back() ==
        "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-6-IPVS-IPS dst -j "
        "REJECT");
}

TEST_CASE("masquerade bit and random-fully", "[iptables_rules]") {
  CHECK(ipvs::masqueradeMark(14) == "0x4000");
  CHECK(ipvs::masqueradeMark(0) == "0x1");
  CHECK(ipvs::masqueradeMark(31) == "0x80000000");
  CHECK(ipvs::masqueradeMark(32) == "0x4000");  // out of range: the default, never UB
  auto in = inputs({});
  in.masqueradeBit = 3;
  in.randomFully = true;
  CHECK(nat(in, "KUBE-MARK-MASQ") == Lines{"-A KUBE-MARK-MASQ -j MARK --or-mark 0x8"});
  CHECK(nat(in, "KUBE-POSTROUTING").back() ==
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" "
        "-j MASQUERADE --random-fully");
  CHECK(filter(in, "KUBE-FORWARD").front().find("--mark 0x8/0x8 -j ACCEPT") != std::string::npos);
}

TEST_CASE("rule count is bounded and independent of services", "[iptables_rules]") {
  IptablesRuleInputs all;
  all.nonEmpty.fill(true);
  IptablesRuleInputs none;
  // Every set-driven rule present: 37 rules; none: 17. Nothing else can add rules but the
  // out-filter drops, one per LB IP:port without node access.
  CHECK(countRules(ipvs::renderRules(all)) == 37);
  CHECK(countRules(ipvs::renderRules(none)) == 17);
}

TEST_CASE("missing jumps are read from save text and rendered once", "[iptables_rules]") {
  const std::string rendered = ipvs::renderRestore(inputs({}), ipvs::jumpRules());
  SECTION("nothing saved: all nine jumps, inserted at the top, in the right tables") {
    CHECK(ipvs::missingJumps("").size() == 9);
    CHECK(rendered.find("*nat\n") < rendered.find("-I OUTPUT 1 -m comment --comment "
                                                  "\"kubernetes service portals\" -j "
                                                  "KUBE-SERVICES\n"));
    CHECK(rendered.find("-I OUTPUT 1 -m comment --comment \"kubernetes ipvs access filter\" -j "
                        "KUBE-IPVS-OUT-FILTER\n") > rendered.find("*filter\n"));
  }
  SECTION("a save that holds them all (and foreign rules) misses none") {
    std::string save = "# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n";
    save += "-A PREROUTING -j FOREIGN\n";
    std::string filterPart = "*filter\n:INPUT ACCEPT [0:0]\n";
    for (const ipvs::JumpRule& j : ipvs::jumpRules()) {
      (j.table == "nat" ? save : filterPart) += "[12:345] " + ipvs::jumpSaveLine(j) + "\n";
    }
    save += "COMMIT\n" + filterPart + "COMMIT\n";
    CHECK(ipvs::missingJumps(save).empty());
    CHECK(ipvs::renderRestore(inputs({}), ipvs::missingJumps(save)) ==
          ipvs::renderRules(inputs({})));
  }
  SECTION("a jump in the wrong table or with other matches does not count") {
    const std::string save =
        "*filter\n-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
        "COMMIT\n*nat\n-A PREROUTING -m conntrack --ctstate NEW -m comment --comment "
        "\"kubernetes service portals\" -j KUBE-SERVICES\nCOMMIT\n";
    const auto missing = ipvs::missingJumps(save);
    CHECK(missing.size() == 9);
  }
}

TEST_CASE("splitRuleTokens handles quotes and escapes", "[iptables_rules]") {
  CHECK(ipvs::splitRuleTokens("-m comment --comment \"a b \\\"c\\\"\"  -j  X") ==
        Lines{"-m", "comment", "--comment", "a b \"c\"", "-j", "X"});
  CHECK(ipvs::splitRuleTokens("--comment \"\" -j Y") == Lines{"--comment", "", "-j", "Y"});
  CHECK(ipvs::splitRuleTokens("   ").empty());
}

TEST_CASE("parseSave reads tables, chains and targets", "[iptables_rules]") {
  const auto tables = ipvs::parseSave(
      "# c\n*mangle\n:PREROUTING ACCEPT [1:2]\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n"
      "*nat\r\n:OUTPUT ACCEPT [0:0]\r\n-A OUTPUT -m comment --comment \"-j NOPE\" -g KUBE-X\r\n"
      "garbage line\n-A\nCOMMIT\n");
  REQUIRE(tables.size() == 2);
  CHECK(tables[0].chains == Lines{"PREROUTING", "KUBE-PROXY-CANARY"});
  REQUIRE(tables[1].rules.size() == 1);
  CHECK(tables[1].rules[0].target == "KUBE-X");
  CHECK(tables[1].rules[0].chain == "OUTPUT");
}

TEST_CASE("cleanup removes our chains and kube-proxy leftovers, nothing else", "[iptables_rules]") {
  const std::string save =
      "*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\n"
      ":KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n"
      "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-MARK-DROP - [0:0]\n"
      ":KUBE-SERVICES - [0:0]\n:KUBE-SVC-ABC - [0:0]\n:KUBE-SEP-DEF - [0:0]\n"
      ":KUBE-NODE-PORT - [0:0]\n:MY-CHAIN - [0:0]\n"
      "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
      "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
      "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
      "-A OUTPUT -j MY-CHAIN\n"
      "-A MY-CHAIN -d 10.0.0.1/32 -j KUBE-SVC-ABC\n"
      "-A KUBE-SERVICES -d 10.0.0.1/32 -j KUBE-SVC-ABC\n"
      "-A KUBE-SVC-ABC -j KUBE-SEP-DEF\n"
      "-A KUBE-SEP-DEF -j KUBE-MARK-DROP\n"
      "COMMIT\n"
      "*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n:KUBE-EXTERNAL-SERVICES - [0:0]\n"
      ":KUBE-IPVS-FILTER - [0:0]\n"
      "-A INPUT -j KUBE-FIREWALL\n"
      "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible "
      "service portals\" -j KUBE-EXTERNAL-SERVICES\n"
      "-A INPUT -m comment --comment \"kubernetes ipvs access filter\" -j KUBE-IPVS-FILTER\n"
      "COMMIT\n";

  SECTION("both scopes") {
    CHECK(ipvs::renderCleanup(save, {}) ==
          "*mangle\n:KUBE-PROXY-CANARY - [0:0]\n-X KUBE-PROXY-CANARY\nCOMMIT\n"
          "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-ABC - [0:0]\n:KUBE-SEP-DEF - [0:0]\n"
          ":KUBE-NODE-PORT - [0:0]\n"
          "-D PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
          "-D OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
          "-D OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
          "-D MY-CHAIN -d 10.0.0.1/32 -j KUBE-SVC-ABC\n"
          "-X KUBE-SERVICES\n-X KUBE-SVC-ABC\n-X KUBE-SEP-DEF\n-X KUBE-NODE-PORT\nCOMMIT\n"
          "*filter\n:KUBE-EXTERNAL-SERVICES - [0:0]\n:KUBE-IPVS-FILTER - [0:0]\n"
          "-D INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes "
          "externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
          "-D INPUT -m comment --comment \"kubernetes ipvs access filter\" -j KUBE-IPVS-FILTER\n"
          "-X KUBE-EXTERNAL-SERVICES\n-X KUBE-IPVS-FILTER\nCOMMIT\n");
  }
  SECTION("ipvs chains only leave iptables-mode chains alone") {
    const std::string out =
        ipvs::renderCleanup(save, {.ipvsChains = true, .iptablesModeChains = false});
    CHECK(out.find("KUBE-SVC-ABC") == std::string::npos);
    CHECK(out.find("KUBE-PROXY-CANARY") == std::string::npos);
    CHECK(out.find("-X KUBE-NODE-PORT\n") != std::string::npos);
    CHECK(out.find("-X KUBE-IPVS-FILTER\n") != std::string::npos);
    CHECK(out.find("KUBE-EXTERNAL-SERVICES") == std::string::npos);
  }
  SECTION("nothing of ours: empty") {
    CHECK(ipvs::renderCleanup("*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\nCOMMIT\n", {})
              .empty());
    CHECK(ipvs::renderCleanup("", {}).empty());
  }
}

TEST_CASE("leftover cleanup removes iptables mode's jumps into the shared KUBE-PROXY-FIREWALL",
          "[iptables_rules]") {
  const std::string lbFirewall =
      "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" "
      "-j KUBE-PROXY-FIREWALL";
  const std::string ours =
      "-m comment --comment \"kube-proxy firewall rules\" -j KUBE-PROXY-FIREWALL";
  const std::string save =
      "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":KUBE-PROXY-FIREWALL - [0:0]\n-A INPUT " +
      lbFirewall + "\n-A INPUT " + ours + "\n-A OUTPUT " + lbFirewall + "\nCOMMIT\n";
  const ipvs::CleanupScope leftovers{.ipvsChains = false, .iptablesModeChains = true};
  // The chain and the IPVS mode's own jump stay; only the iptables mode's jumps go.
  CHECK(ipvs::renderCleanup(save, leftovers) ==
        "*filter\n-D INPUT " + lbFirewall + "\n-D OUTPUT " + lbFirewall + "\nCOMMIT\n");
  CHECK(ipvs::renderCleanup(save, {.ipvsChains = true, .iptablesModeChains = false}) ==
        "*filter\n:KUBE-PROXY-FIREWALL - [0:0]\n-D INPUT " + lbFirewall + "\n-D INPUT " + ours +
            "\n-D OUTPUT " + lbFirewall + "\n-X KUBE-PROXY-FIREWALL\nCOMMIT\n");
  // Once they are gone there is nothing left to do.
  CHECK(
      ipvs::renderCleanup("*filter\n:INPUT ACCEPT [0:0]\n:KUBE-PROXY-FIREWALL - [0:0]\n-A INPUT " +
                              ours + "\nCOMMIT\n",
                          leftovers)
          .empty());
}
