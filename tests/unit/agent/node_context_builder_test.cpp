#include "agent/node_context_builder.h"

#include <catch2/catch.hpp>
#include <string>

using namespace agent;

namespace {

ipvs::Cidr cidr(const char* text) { return *ipvs::Cidr::parse(text); }

NodeContextResult build(const Config& config, const ipvs::Node* node) {
  NodeInputs in;
  in.nodeName = "n1";
  in.node = node;
  return buildNodeContext(config, in);
}

bool mentions(const std::vector<std::string>& warnings, std::string_view needle) {
  for (const auto& w : warnings)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("ClusterCIDR (the default) detects by the cluster CIDRs", "[node_context_builder]") {
  Config c;
  c.clusterCIDR = "10.244.0.0/16,fd00:10::/56";
  const auto r = build(c, nullptr);
  CHECK(r.context.localDetector.cidrs ==
        std::vector<ipvs::Cidr>{cidr("10.244.0.0/16"), cidr("fd00:10::/56")});
  CHECK(r.context.localDetector.interfaceMatch.empty());
  CHECK(r.warnings.empty());
  c.clusterCIDR.clear();
  CHECK(build(c, nullptr).context.localDetector == ipvs::LocalDetector{});
}

TEST_CASE("NodeCIDR: the detector is the Node's podCIDRs", "[node_context_builder]") {
  Config c;
  c.detectLocalMode = "NodeCIDR";
  c.clusterCIDR = "10.244.0.0/16";  // not used in this mode
  // Before the Node is known (the start-up context, never synced: the PodCidrGate holds the
  // start) there is nothing to warn about.
  const auto before = build(c, nullptr);
  CHECK(before.context.localDetector == ipvs::LocalDetector{});
  CHECK(before.warnings.empty());

  ipvs::Node node;
  node.name = "n1";
  const auto without = build(c, &node);
  CHECK(without.context.localDetector == ipvs::LocalDetector{});
  CHECK(mentions(without.warnings, "NodeCIDR"));

  node.podCIDRs = {cidr("10.244.3.0/24"), cidr("fd00:10:0:3::/64")};
  const auto after = build(c, &node);
  CHECK(after.context.localDetector.cidrs == node.podCIDRs);
  CHECK(after.context.localDetector.ifNotLocal(ipvs::Family::kV4) == "! -s 10.244.3.0/24");
  CHECK(after.warnings.empty());
}

TEST_CASE("BridgeInterface and InterfaceNamePrefix match the input interface",
          "[node_context_builder]") {
  Config c;
  c.clusterCIDR = "10.244.0.0/16";  // not used in these modes
  c.detectLocalMode = "BridgeInterface";
  c.detectLocal.bridgeInterface = "cbr0";
  auto r = build(c, nullptr);
  CHECK(r.context.localDetector.interfaceMatch == "cbr0");
  CHECK(r.context.localDetector.cidrs.empty());
  CHECK(r.context.localDetector.ifNotLocal(ipvs::Family::kV6) == "! -i cbr0");

  c.detectLocalMode = "InterfaceNamePrefix";
  c.detectLocal.interfaceNamePrefix = "veth";
  r = build(c, nullptr);
  CHECK(r.context.localDetector.interfaceMatch == "veth+");
  CHECK(r.warnings.empty());
}

TEST_CASE("an interface name that would break the restore text is refused",
          "[node_context_builder]") {
  Config c;
  c.detectLocalMode = "BridgeInterface";
  for (const char* bad : {"cbr0 -j ACCEPT", "a\"b", "x/y", "0123456789abcdef", ""}) {
    CAPTURE(bad);
    c.detectLocal.bridgeInterface = bad;
    const auto r = build(c, nullptr);
    CHECK(r.context.localDetector == ipvs::LocalDetector{});
    CHECK(mentions(r.warnings, "detectLocal.bridgeInterface"));
  }
  c.detectLocalMode = "InterfaceNamePrefix";
  c.detectLocal.interfaceNamePrefix = "0123456789abcde";  // 15 + '+' is too long for iptables
  CHECK(build(c, nullptr).context.localDetector == ipvs::LocalDetector{});
}
