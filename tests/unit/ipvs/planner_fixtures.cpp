#include "planner_fixtures.h"

#include "ipvs/kernel_text.h"

namespace fx {

std::vector<std::string> realServers(const std::vector<RealServer>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    out.push_back(formatAddressPort(r.key.address, r.key.port) + " w" + std::to_string(r.weight));
  }
  return out;
}

std::vector<std::string> realServers(const ObservedVirtualServer& vs) {
  std::vector<RealServer> rs;
  for (const auto& o : vs.realServers) rs.push_back(o.server);
  return realServers(rs);
}

std::set<std::string> members(const std::set<IpsetEntry>& entries, IpsetId set, Family family) {
  std::set<std::string> out;
  for (const auto& e : entries) {
    if (e.set == set && e.family == family) out.insert(e.entry);
  }
  return out;
}

std::set<std::string> members(const std::vector<IpsetEntry>& entries, IpsetId set, Family family) {
  return members(std::set<IpsetEntry>(entries.begin(), entries.end()), set, family);
}

std::set<std::string> strings(const std::set<IpAddress>& addresses) {
  std::set<std::string> out;
  for (const auto& a : addresses) out.insert(a.toString());
  return out;
}

std::set<std::string> strings(const std::vector<IpAddress>& addresses) {
  return strings(std::set<IpAddress>(addresses.begin(), addresses.end()));
}

std::vector<std::string> keys(const KernelState& state) {
  std::vector<std::string> out;
  for (const auto& [k, v] : state.virtualServers) out.push_back(formatVirtualServerKey(k));
  return out;
}

const DesiredVirtualServer* find(const ServiceDesired& d, const VirtualServerKey& key) {
  for (const auto& vs : d.virtualServers) {
    if (vs.server.key == key) return &vs;
  }
  return nullptr;
}

const ServiceDesired& Harness::put(const Service& svc) {
  services_[svc.key] = svc;
  return retranslate(svc.key);
}

const ServiceDesired& Harness::put(const EndpointSlice& slice) {
  slices_[slice.key] = slice;
  return retranslate(slice.serviceKey());
}

void Harness::removeService(const ObjectKey& key) {
  services_.erase(key);
  pending_.merge(desired.remove(key));
}

void Harness::removeSlice(const ObjectKey& sliceKey) {
  auto it = slices_.find(sliceKey);
  REQUIRE(it != slices_.end());
  const ObjectKey svc = it->second.serviceKey();
  slices_.erase(it);
  retranslate(svc);
}

const ServiceDesired& Harness::retranslate(const ObjectKey& svcKey) {
  static const ServiceDesired kNone;
  auto it = services_.find(svcKey);
  if (it == services_.end()) return kNone;
  std::vector<const EndpointSlice*> mine;
  for (const auto& [k, s] : slices_) {
    if (s.serviceKey() == svcKey) mine.push_back(&s);
  }
  pending_.merge(desired.update(svcKey, translate(it->second, mine, node_)));
  return *desired.service(svcKey);
}

Plan Harness::applyPlan(Plan plan) {
  const auto report = kernel.apply(plan.operations);
  for (std::size_t i = 0; i < plan.operations.size(); ++i) {
    INFO(describe(plan.operations[i]));
    CHECK_FALSE(report.results[i]);
  }
  CHECK(report.idempotent == 0);
  pending_ = {};
  return plan;
}

Plan Harness::sync() {
  auto observed = kernel.observe();
  REQUIRE(observed.has_value());
  return applyPlan(diff(desired, *observed, options));
}

Plan Harness::syncChanged() {
  auto observed = kernel.observe();
  REQUIRE(observed.has_value());
  return applyPlan(diffKeys(desired, *observed, options, pending_));
}

const ObservedVirtualServer* Harness::vs(const VirtualServerKey& key) const {
  auto it = kernel.state().virtualServers.find(key);
  return it == kernel.state().virtualServers.end() ? nullptr : &it->second;
}

}  // namespace fx
