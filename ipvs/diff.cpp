#include "ipvs/diff.h"

#include <algorithm>

#include "ipvs/ipset_entries.h"
#include "ipvs/key_order.h"

namespace ipvs {
namespace {

std::uint32_t fullNetmask(const VirtualServerKey& k) { return k.address.isV4() ? 32 : 128; }

bool sameSettings(const VirtualServer& a, const VirtualServer& b) {
  const auto norm = [](const VirtualServer& v) {
    return v.netmask == 0 ? fullNetmask(v.key) : v.netmask;
  };
  return a.scheduler == b.scheduler && (a.flags & ~kFlagHashed) == (b.flags & ~kFlagHashed) &&
         a.timeout == b.timeout && norm(a) == norm(b);
}

// Builds the plan in the order of diff.h. The caller feeds ipset entries first, then virtual
// servers, then addresses, each in key order: adds and per-VS work go straight into the plan
// (no second copy of a 165k-operation initial plan), the removal phases wait in side lists.
class Planner {
 public:
  Planner(const KernelState& observed, const DiffOptions& options, const PlanSink* sink = nullptr)
      : observed_(observed), options_(options), sink_(sink) {}

  void reserveMore(std::size_t n) { plan_.operations.reserve(plan_.operations.size() + n); }
  void ipsetEntry(const IpsetEntry& e, bool want, bool have);
  void virtualServer(const VirtualServerKey& key, const DesiredVirtualServer* want,
                     const ObservedVirtualServer* have);
  void address(const IpAddress& ip, bool want, bool have);
  // A point where the diff holds no iterator into the observed state and no decision left to
  // make reads what the operations so far change: a full chunk may go, and be applied to the
  // observed state, without changing the plan (diff.h, PlanSink).
  void safePoint() {
    if (sink_ != nullptr && plan_.operations.size() >= sink_->chunk) {
      sink_->take(plan_.operations);
      plan_.operations.clear();
    }
  }
  Plan finish();

 private:
  bool handles(Family f) const {
    return std::find(options_.families.begin(), options_.families.end(), f) !=
           options_.families.end();
  }
  bool excluded(const IpAddress& ip) const {
    return std::any_of(options_.excludeCIDRs.begin(), options_.excludeCIDRs.end(),
                       [&](const Cidr& c) { return c.contains(ip); });
  }
  void sync(const DesiredVirtualServer& want, const ObservedVirtualServer& have);
  void removeRealServer(const VirtualServerKey& vs, const ObservedRealServer& rs);
  void emit(Operation op) { plan_.operations.push_back(std::move(op)); }

  const KernelState& observed_;
  const DiffOptions& options_;
  const PlanSink* sink_;
  Plan plan_;
  std::vector<Operation> removals_, unbinds_, vsDeletes_, ipsetDeletes_;
};

void Planner::ipsetEntry(const IpsetEntry& e, bool want, bool have) {
  if (!handles(e.family) || want == have) return;
  if (want) {
    emit(AddIpsetEntry{e});
  } else {
    ipsetDeletes_.push_back(DeleteIpsetEntry{e});
  }
}

void Planner::virtualServer(const VirtualServerKey& key, const DesiredVirtualServer* want,
                            const ObservedVirtualServer* have) {
  if (!handles(key.family())) return;
  if (excluded(key.address)) {
    if (want != nullptr) plan_.excludedDesired.push_back(key);
    return;
  }
  if (want == nullptr) {
    if (have != nullptr && ownedByMarkers(observed_, key)) {
      vsDeletes_.push_back(DeleteVirtualServer{key});
    }
    return;
  }
  if (have == nullptr) {
    emit(AddVirtualServer{want->server});
    for (const auto& rs : want->realServers) emit(AddRealServer{key, rs});
    return;
  }
  sync(*want, *have);
}

void Planner::sync(const DesiredVirtualServer& want, const ObservedVirtualServer& have) {
  const VirtualServerKey& key = want.server.key;
  if (!sameSettings(want.server, have.server)) emit(EditVirtualServer{want.server});
  const auto& w = want.realServers;
  const auto& h = have.realServers;
  std::size_t i = 0, j = 0;
  while (i < w.size() || j < h.size()) {
    if (j == h.size() || (i < w.size() && keyorder::less(w[i].key, h[j].server.key))) {
      emit(AddRealServer{key, w[i]});
      ++i;
    } else if (i == w.size() || keyorder::less(h[j].server.key, w[i].key)) {
      removeRealServer(key, h[j]);
      ++j;
    } else {
      const RealServer& cur = h[j].server;
      if (cur.weight == 0 && w[i].weight != 0 && !options_.resetWeights) {
        emit(DeleteRealServer{key, cur.key});  // a drain that came back: re-add (kube-proxy)
        emit(AddRealServer{key, w[i]});
      } else if (!keyorder::equal(cur, w[i])) {
        emit(EditRealServer{key, w[i]});
      }
      ++i;
      ++j;
    }
  }
}

void Planner::removeRealServer(const VirtualServerKey& vs, const ObservedRealServer& rs) {
  const std::uint64_t conns = std::uint64_t{rs.conns.activeConns} + rs.conns.inactiveConns;
  const bool expired = options_.drainExpired && options_.drainExpired(vs, rs.server.key);
  if (expired || vs.protocol != Protocol::kTcp || conns == 0) {
    removals_.push_back(DeleteRealServer{vs, rs.server.key});
    return;
  }
  if (rs.server.weight != 0) {
    RealServer quiesced = rs.server;
    quiesced.weight = 0;
    removals_.push_back(EditRealServer{vs, quiesced});
  }
  plan_.draining.push_back({vs, rs.server.key, rs.conns.activeConns, rs.conns.inactiveConns});
}

void Planner::address(const IpAddress& ip, bool want, bool have) {
  if (!handles(ip.family()) || want == have) return;
  if (want) {
    emit(BindAddress{ip});
  } else if (!excluded(ip)) {
    unbinds_.push_back(UnbindAddress{ip});
  }
}

Plan Planner::finish() {
  for (auto* list : {&removals_, &unbinds_, &vsDeletes_, &ipsetDeletes_}) {
    std::move(list->begin(), list->end(), std::back_inserter(plan_.operations));
  }
  return std::move(plan_);
}

}  // namespace

bool ownedByMarkers(const KernelState& observed, const VirtualServerKey& key) {
  if (observed.boundAddresses.count(key.address) != 0) return true;
  if (key.fwmark != 0) return false;
  const auto has = [&](const IpsetEntry& e) { return observed.ipsetEntries.count(e) != 0; };
  for (IpsetId set : {IpsetId::kClusterIP, IpsetId::kExternalIP, IpsetId::kExternalIPLocal,
                      IpsetId::kLoadBalancer}) {
    if (has(ipPortEntry(set, key.address, key.protocol, key.port))) return true;
  }
  switch (key.protocol) {
    case Protocol::kTcp:
      return has(portEntry(IpsetId::kNodePortTcp, key.family(), key.port));
    case Protocol::kUdp:
      return has(portEntry(IpsetId::kNodePortUdp, key.family(), key.port));
    case Protocol::kSctp:
      return has(ipPortEntry(IpsetId::kNodePortSctp, key.address, key.protocol, key.port));
  }
  return false;
}

// The full diff walks the observed state (sorted) and looks the desired state up by hash; only
// desired objects missing from the kernel need the sorted desired listing, and a count tells
// whether there are any. A resync against a converged kernel therefore sorts nothing.
Plan diff(const DesiredState& desired, const KernelState& observed, const DiffOptions& options,
          const PlanSink* sink) {
  Planner planner(observed, options, sink);
  std::size_t seen = 0;
  for (const auto& e : observed.ipsetEntries) {
    const bool want = desired.hasIpsetEntry(e);
    seen += want ? 1 : 0;
    if (!want) planner.ipsetEntry(e, false, true);
  }
  if (seen != desired.ipsetEntryCount()) {
    for (const auto* e : desired.sortedIpsetEntries()) {
      if (observed.ipsetEntries.count(*e) == 0) planner.ipsetEntry(*e, true, false);
      planner.safePoint();  // 20k adds at a first sync of 10k Services: not held at once
    }
  }
  seen = 0;
  for (const auto& [key, have] : observed.virtualServers) {
    const DesiredVirtualServer* want = desired.virtualServer(key);
    seen += want ? 1 : 0;
    planner.virtualServer(key, want, &have);
  }
  if (seen != desired.virtualServerCount()) {
    const auto missing = desired.virtualServers();
    if (sink == nullptr) {  // untouched capacity costs no resident memory
      std::size_t estimate = desired.addressCount();
      for (const auto* vs : missing) estimate += 1 + vs->realServers.size();
      planner.reserveMore(estimate);
    }
    for (const auto* vs : missing) {
      if (observed.virtualServers.count(vs->server.key) == 0) {
        planner.virtualServer(vs->server.key, vs, nullptr);
      }
      planner.safePoint();
    }
  }
  seen = 0;
  for (const auto& ip : observed.boundAddresses) {
    const bool want = desired.hasAddress(ip);
    seen += want ? 1 : 0;
    if (!want) planner.address(ip, false, true);
  }
  if (seen != desired.addressCount()) {
    for (const auto& ip : desired.addresses()) {
      if (observed.boundAddresses.count(ip) == 0) planner.address(ip, true, false);
      planner.safePoint();
    }
  }
  return planner.finish();
}

Plan diffKeys(const DesiredState& desired, const KernelState& observed, const DiffOptions& options,
              const ChangedKeys& changed) {
  ChangedKeys keys = changed;
  keys.normalize();
  Planner planner(observed, options);
  for (const auto& e : keys.ipsetEntries) {
    planner.ipsetEntry(e, desired.hasIpsetEntry(e), observed.ipsetEntries.count(e) != 0);
  }
  for (const auto& key : keys.virtualServers) {
    auto h = observed.virtualServers.find(key);
    planner.virtualServer(key, desired.virtualServer(key),
                          h == observed.virtualServers.end() ? nullptr : &h->second);
  }
  for (const auto& ip : keys.addresses) {
    planner.address(ip, desired.hasAddress(ip), observed.boundAddresses.count(ip) != 0);
  }
  return planner.finish();
}

}  // namespace ipvs
