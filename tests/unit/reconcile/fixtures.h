#pragma once
// Shared builders for the reconcile tests: small Services, EndpointSlices and node contexts, and
// read-backs of MemoryDataplane, so each test file states only what it checks.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipvs/memory_dataplane.h"
#include "reconcile/reconciler.h"

namespace reconcile::test {

inline ipvs::IpAddress ip(const char* text) { return *ipvs::IpAddress::parse(text); }

inline ipvs::VirtualServerKey vsKey(const char* vip, std::uint16_t port = 80) {
  return {ip(vip), ipvs::Protocol::kTcp, port, 0};
}

// A ClusterIP Service ns/NAME on VIP:80 targeting port 8080; `scheduler` sets the annotation.
inline ipvs::Service service(const std::string& name, const char* vip,
                             const std::string& scheduler = "") {
  ipvs::Service svc;
  svc.key = {"ns", name};
  svc.clusterIPs = {ip(vip)};
  svc.ipFamilies = {ipvs::Family::kV4};
  svc.ports = {{"http", ipvs::Protocol::kTcp, 80, 0, "8080"}};
  if (!scheduler.empty()) svc.annotations = {{std::string(ipvs::kAnnotationScheduler), scheduler}};
  return svc;
}

// The slice ns/SERVICE-abc with ready endpoints on another node, port 8080.
inline ipvs::EndpointSlice slice(const std::string& svc, std::vector<const char*> addresses) {
  ipvs::EndpointSlice s;
  s.key = {"ns", svc + "-abc"};
  s.serviceName = svc;
  s.ports = {{"http", ipvs::Protocol::kTcp, 8080}};
  for (const char* a : addresses) {
    ipvs::Endpoint e;
    e.address = ip(a);
    e.nodeName = "other";
    s.endpoints.push_back(e);
  }
  return s;
}

inline ipvs::NodeContext node() {
  ipvs::NodeContext n;
  n.nodeName = "node-a";
  n.families = {ipvs::Family::kV4};
  return n;
}

// Options for node(), with the retry cap at `syncPeriod` (as the agent sets it).
inline Reconciler::Options options(std::chrono::milliseconds syncPeriod,
                                   std::optional<std::chrono::seconds> drainLimit = std::nullopt) {
  RetryPolicy retry;
  retry.max = syncPeriod;
  return {node(), drainLimit, retry};
}

// The real servers of VIP:80/TCP in the kernel; 0 if the virtual server is absent.
inline std::size_t realServers(const ipvs::MemoryDataplane& kernel, const char* vip) {
  const auto& vss = kernel.state().virtualServers;
  auto it = vss.find(vsKey(vip));
  return it == vss.end() ? 0 : it->second.realServers.size();
}

}  // namespace reconcile::test
