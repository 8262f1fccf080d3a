#include "ipvs/diff.h"

#include <algorithm>
#include <array>
#include <deque>

#include "ipvs/ipset_entries.h"

namespace ipvs {
namespace {

// Plan phases, in the order they are emitted (see diff.h).
enum Phase : std::size_t {
  kIpsetAdds,
  kVirtualServerAdds,
  kReaddDeletes,
  kRealServerAdds,
  kRealServerEdits,
  kBinds,
  kRealServerRemovals,
  kUnbinds,
  kVirtualServerDeletes,
  kIpsetDeletes,
  kPhaseCount
};

std::uint32_t fullNetmask(const VirtualServerKey& k) { return k.address.isV4() ? 32 : 128; }

bool sameSettings(const VirtualServer& a, const VirtualServer& b) {
  const auto norm = [](const VirtualServer& v) {
    return v.netmask == 0 ? fullNetmask(v.key) : v.netmask;
  };
  return a.scheduler == b.scheduler && (a.flags & ~kFlagHashed) == (b.flags & ~kFlagHashed) &&
         a.timeout == b.timeout && norm(a) == norm(b);
}

class Planner {
 public:
  Planner(const KernelState& observed, const DiffOptions& options)
      : observed_(observed), options_(options) {}

  void virtualServer(const VirtualServerKey& key, const DesiredVirtualServer* want,
                     const ObservedVirtualServer* have);
  void ipsetEntry(const IpsetEntry& e, bool want, bool have);
  void address(const IpAddress& ip, bool want, bool have);
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
  void emit(Phase p, Operation op) { phases_[p].push_back(std::move(op)); }

  const KernelState& observed_;
  const DiffOptions& options_;
  // Deques, so finish() can hand their blocks back while it fills the one plan vector: a plan
  // of 165k operations (10k Services from scratch) is never held twice.
  std::array<std::deque<Operation>, kPhaseCount> phases_;
  Plan plan_;
};

void Planner::virtualServer(const VirtualServerKey& key, const DesiredVirtualServer* want,
                            const ObservedVirtualServer* have) {
  if (!handles(key.family())) return;
  if (excluded(key.address)) {
    if (want != nullptr) plan_.excludedDesired.push_back(key);
    return;
  }
  if (want == nullptr) {
    if (have != nullptr && ownedByMarkers(observed_, key)) {
      emit(kVirtualServerDeletes, DeleteVirtualServer{key});
    }
    return;
  }
  if (have == nullptr) {
    emit(kVirtualServerAdds, AddVirtualServer{want->server});
    for (const auto& rs : want->realServers) emit(kRealServerAdds, AddRealServer{key, rs});
    return;
  }
  sync(*want, *have);
}

void Planner::sync(const DesiredVirtualServer& want, const ObservedVirtualServer& have) {
  const VirtualServerKey& key = want.server.key;
  if (!sameSettings(want.server, have.server))
    emit(kVirtualServerAdds, EditVirtualServer{want.server});
  const auto& w = want.realServers;
  const auto& h = have.realServers;
  std::size_t i = 0, j = 0;
  while (i < w.size() || j < h.size()) {
    if (j == h.size() || (i < w.size() && w[i].key < h[j].server.key)) {
      emit(kRealServerAdds, AddRealServer{key, w[i]});
      ++i;
    } else if (i == w.size() || h[j].server.key < w[i].key) {
      removeRealServer(key, h[j]);
      ++j;
    } else {
      const RealServer& cur = h[j].server;
      if (cur.weight == 0 && w[i].weight != 0 && !options_.resetWeights) {
        emit(kReaddDeletes, DeleteRealServer{key, cur.key});
        emit(kRealServerAdds, AddRealServer{key, w[i]});
      } else if (!(cur == w[i])) {
        emit(kRealServerEdits, EditRealServer{key, w[i]});
      }
      ++i;
      ++j;
    }
  }
}

void Planner::removeRealServer(const VirtualServerKey& vs, const ObservedRealServer& rs) {
  const std::uint64_t conns = std::uint64_t{rs.stats.activeConns} + rs.stats.inactiveConns;
  const bool expired = options_.drainExpired && options_.drainExpired(vs, rs.server.key);
  if (expired || vs.protocol != Protocol::kTcp || conns == 0) {
    emit(kRealServerRemovals, DeleteRealServer{vs, rs.server.key});
    return;
  }
  if (rs.server.weight != 0) {
    RealServer quiesced = rs.server;
    quiesced.weight = 0;
    emit(kRealServerRemovals, EditRealServer{vs, quiesced});
  }
  plan_.draining.push_back({vs, rs.server.key, rs.stats.activeConns, rs.stats.inactiveConns});
}

void Planner::ipsetEntry(const IpsetEntry& e, bool want, bool have) {
  if (!handles(e.family) || want == have) return;
  if (want) {
    emit(kIpsetAdds, AddIpsetEntry{e});
  } else {
    emit(kIpsetDeletes, DeleteIpsetEntry{e});
  }
}

void Planner::address(const IpAddress& ip, bool want, bool have) {
  if (!handles(ip.family()) || want == have) return;
  if (want) {
    emit(kBinds, BindAddress{ip});
  } else if (!excluded(ip)) {
    emit(kUnbinds, UnbindAddress{ip});
  }
}

Plan Planner::finish() {
  std::size_t total = 0;
  for (const auto& p : phases_) total += p.size();
  plan_.operations.reserve(total);
  for (auto& p : phases_) {
    while (!p.empty()) {
      plan_.operations.push_back(std::move(p.front()));
      p.pop_front();
    }
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

Plan diff(const DesiredState& desired, const KernelState& observed, const DiffOptions& options) {
  Planner planner(observed, options);
  const auto want = desired.virtualServers();
  auto w = want.begin();
  auto h = observed.virtualServers.begin();
  while (w != want.end() || h != observed.virtualServers.end()) {
    if (h == observed.virtualServers.end() || (w != want.end() && (*w)->server.key < h->first)) {
      planner.virtualServer((*w)->server.key, *w, nullptr);
      ++w;
    } else if (w == want.end() || h->first < (*w)->server.key) {
      planner.virtualServer(h->first, nullptr, &h->second);
      ++h;
    } else {
      planner.virtualServer(h->first, *w, &h->second);
      ++w;
      ++h;
    }
  }
  const auto entries = desired.ipsetEntries();
  for (const auto& e : entries) planner.ipsetEntry(e, true, observed.ipsetEntries.count(e) != 0);
  for (const auto& e : observed.ipsetEntries) {
    if (!desired.hasIpsetEntry(e)) planner.ipsetEntry(e, false, true);
  }
  const auto addresses = desired.addresses();
  for (const auto& ip : addresses)
    planner.address(ip, true, observed.boundAddresses.count(ip) != 0);
  for (const auto& ip : observed.boundAddresses) {
    if (!desired.hasAddress(ip)) planner.address(ip, false, true);
  }
  return planner.finish();
}

Plan diffKeys(const DesiredState& desired, const KernelState& observed, const DiffOptions& options,
              const ChangedKeys& changed) {
  ChangedKeys keys = changed;
  keys.normalize();
  Planner planner(observed, options);
  for (const auto& key : keys.virtualServers) {
    auto h = observed.virtualServers.find(key);
    planner.virtualServer(key, desired.virtualServer(key),
                          h == observed.virtualServers.end() ? nullptr : &h->second);
  }
  for (const auto& e : keys.ipsetEntries) {
    planner.ipsetEntry(e, desired.hasIpsetEntry(e), observed.ipsetEntries.count(e) != 0);
  }
  for (const auto& ip : keys.addresses) {
    planner.address(ip, desired.hasAddress(ip), observed.boundAddresses.count(ip) != 0);
  }
  return planner.finish();
}

}  // namespace ipvs
