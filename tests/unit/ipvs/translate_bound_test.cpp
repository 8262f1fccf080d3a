// The kernel-object bound per Service (defect 5 of issue #14): a Service whose ports times
// endpoints would expand past kMaxKernelObjectsPerService is rejected alone, before expansion.

#include <catch2/catch.hpp>
#include <string>

#include "planner_fixtures.h"

using namespace fx;

namespace {

// A slice of `count` ready endpoints 10.<base>.x.y carrying every port of `svc`.
EndpointSlice wideSlice(const Service& svc, const std::string& name, std::uint32_t base,
                        std::size_t count) {
  EndpointSlice s;
  s.key = {svc.key.ns, name};
  s.serviceName = svc.key.name;
  for (const auto& sp : svc.ports) s.ports.push_back({sp.name, sp.protocol, sp.port});
  s.endpoints.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    s.endpoints[i].address =
        IpAddress::v4((10u << 24) | (base << 16) | static_cast<std::uint32_t>(i));
  }
  return s;
}

Service manyPorts(const char* name, std::size_t ports) {
  auto svc = service("ns", name, {"10.0.0.9"}, {});
  for (std::size_t i = 0; i < ports; ++i) {
    const auto p = static_cast<std::uint16_t>(1 + i);
    svc.ports.push_back(port(("p" + std::to_string(i)).c_str(), p));
  }
  return svc;
}

void checkRejected(const ServiceDesired& d, const ObjectKey& key) {
  CHECK(d.ignoredReason == kIgnoredTooManyKernelObjects);
  CHECK(d.virtualServers.empty());
  CHECK(d.ipsetEntries.empty());
  CHECK(d.bindAddresses.empty());
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].object == key);
  CHECK(d.diagnostics[0].reason == kReasonTooManyKernelObjects);
  CHECK_THAT(d.diagnostics[0].message, Catch::Contains(key.str()));
}

}  // namespace

TEST_CASE("A Service of 1,000 ports x 10 slices x 1,000 endpoints is rejected alone",
          "[translate][bound]") {
  // The shape from the issue: each object within the decoders' bounds, 10^7 real servers.
  const auto huge = manyPorts("huge", 1000);
  Harness h;
  for (std::uint32_t i = 0; i < 10; ++i) {
    h.put(wideSlice(huge, "huge-" + std::to_string(i), i, 1000));
  }
  const auto& d = h.put(huge);
  checkRejected(d, {"ns", "huge"});
  CHECK_THAT(d.diagnostics[0].message, Catch::Contains("1000 ports and 10000 endpoints in 10 "
                                                       "EndpointSlices"));
  CHECK_THAT(d.diagnostics[0].message, Catch::Contains("bound of 100000 per Service"));

  // Another Service, translated in the same state, is untouched.
  auto small = service("ns", "small", {"10.0.0.1"}, {port("http", 80)});
  h.put(small);
  h.put(slice(small, "small-1", {epPort("http", 8080)}, {{"10.1.0.1"}, {"10.1.0.2"}}));
  h.sync();
  CHECK(keys(h.kernelState()) == std::vector<std::string>{"TCP 10.0.0.1:80"});
  const auto* vs = h.vs(vsKey("10.0.0.1", 80));
  REQUIRE(vs != nullptr);
  CHECK(realServers(*vs) == std::vector<std::string>{"10.1.0.1:8080 w1", "10.1.0.2:8080 w1"});
}

TEST_CASE("The bound counts every virtual server and real server, and the bound is allowed",
          "[translate][bound]") {
  // 2 ports x (cluster IP + one external IP) = 4 virtual servers, each with every endpoint.
  auto svc = manyPorts("edge", 2);
  svc.externalIPs = {ip("50.0.0.1")};
  const std::size_t atBound = kMaxKernelObjectsPerService / 4 - 1;  // 4 VS + 4 x endpoints
  const auto fits = wideSlice(svc, "edge-1", 1, atBound);
  const EndpointSlice* fitsP[] = {&fits};
  const auto ok = translate(svc, fitsP, node());
  CHECK(ok.ignoredReason.empty());
  CHECK(ok.diagnostics.empty());
  REQUIRE(ok.virtualServers.size() == 4);
  std::size_t total = ok.virtualServers.size();
  for (const auto& v : ok.virtualServers) total += v.realServers.size();
  CHECK(total == kMaxKernelObjectsPerService);

  const auto over = wideSlice(svc, "edge-2", 2, 1);
  const EndpointSlice* overP[] = {&fits, &over};
  checkRejected(translate(svc, overP, node()), {"ns", "edge"});

  // Slices of another Service do not count against this one.
  auto other = manyPorts("other", 2);
  const auto foreign = wideSlice(other, "other-1", 3, 1);
  const EndpointSlice* foreignP[] = {&fits, &foreign};
  CHECK(translate(svc, foreignP, node()).ignoredReason.empty());
}

TEST_CASE("Virtual servers and source ranges amplify too, even without endpoints",
          "[translate][bound]") {
  // 1,000 ports x 1,000 external IPs: a million virtual servers, each list within bounds.
  auto wide = manyPorts("wide", 1000);
  for (std::uint32_t i = 0; i < 1000; ++i)
    wide.externalIPs.push_back(IpAddress::v4(0x32000000 + i));
  checkRejected(translate(wide, {}, node()), {"ns", "wide"});

  // 100 ports x 100 LB IPs x 100 source ranges: two million LOAD-BALANCER-SOURCE-CIDR members.
  auto ranged = manyPorts("ranged", 100);
  ranged.type = ServiceType::kLoadBalancer;
  for (std::uint32_t i = 0; i < 100; ++i) {
    ranged.loadBalancerIPs.push_back(IpAddress::v4(0x3c000000 + i));
    ranged.loadBalancerSourceRanges.emplace_back(IpAddress::v4(0x0a000000 + (i << 8)), 24);
  }
  checkRejected(translate(ranged, {}, node()), {"ns", "ranged"});
}
