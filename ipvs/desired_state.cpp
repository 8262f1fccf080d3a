#include "ipvs/desired_state.h"

#include <algorithm>

#include "ipvs/kernel_text.h"
#include "ipvs/key_order.h"

namespace ipvs {
namespace {

template <class T>
void sortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Walks two sorted, unique vectors and moves reference counts from `before` to `after`,
// recording every key whose count went to or from zero.
template <class T, class Map>
void moveRefcounts(const std::vector<T>& before, const std::vector<T>& after, Map& counts,
                   std::vector<T>& changed) {
  auto i = before.begin();
  auto j = after.begin();
  while (i != before.end() || j != after.end()) {
    if (j == after.end() || (i != before.end() && *i < *j)) {
      auto it = counts.find(*i);
      if (it != counts.end() && --it->second == 0) {
        counts.erase(it);
        changed.push_back(*i);
      }
      ++i;
    } else if (i == before.end() || *j < *i) {
      if (++counts[*j] == 1) changed.push_back(*j);
      ++j;
    } else {
      ++i;
      ++j;
    }
  }
}

}  // namespace

void ChangedKeys::merge(const ChangedKeys& other) {
  virtualServers.insert(virtualServers.end(), other.virtualServers.begin(),
                        other.virtualServers.end());
  ipsetEntries.insert(ipsetEntries.end(), other.ipsetEntries.begin(), other.ipsetEntries.end());
  addresses.insert(addresses.end(), other.addresses.begin(), other.addresses.end());
}

void ChangedKeys::normalize() {
  sortUnique(virtualServers);
  sortUnique(ipsetEntries);
  sortUnique(addresses);
}

ChangedKeys DesiredState::update(const ObjectKey& key, ServiceDesired desired) {
  desired.key = key;
  ChangedKeys changed;
  auto [it, inserted] = services_.try_emplace(key);
  ServiceDesired old = std::move(it->second);
  it->second = std::move(desired);
  replace(&it->second, old, changed);
  return changed;
}

void DesiredState::reserve(std::size_t services) {
  services_.reserve(services);
  claims_.reserve(services + services / 4);
  entries_.reserve(2 * services + services / 4);
  addresses_.reserve(services);
}

ChangedKeys DesiredState::update(ServiceDesired desired) {
  const ObjectKey key = desired.key;
  return update(key, std::move(desired));
}

ChangedKeys DesiredState::remove(const ObjectKey& key) {
  ChangedKeys changed;
  auto it = services_.find(key);
  if (it == services_.end()) return changed;
  ServiceDesired old = std::move(it->second);
  it->second = ServiceDesired{};
  it->second.key = key;
  replace(&it->second, old, changed);
  services_.erase(it);
  return changed;
}

void DesiredState::replace(ServiceDesired* slot, const ServiceDesired& old, ChangedKeys& changed) {
  const auto& before = old.virtualServers;
  const auto& after = slot->virtualServers;
  std::size_t i = 0, j = 0;
  while (i < before.size() || j < after.size()) {
    if (j == after.size() || (i < before.size() && before[i].server.key < after[j].server.key)) {
      if (dropClaim(before[i].server.key, slot))
        changed.virtualServers.push_back(before[i].server.key);
      ++i;
    } else if (i == before.size() || after[j].server.key < before[i].server.key) {
      if (addClaim(after[j].server.key, slot, static_cast<std::uint32_t>(j))) {
        changed.virtualServers.push_back(after[j].server.key);
      }
      ++j;
    } else {
      const bool winner = retarget(after[j].server.key, slot, static_cast<std::uint32_t>(j));
      if (winner && !(before[i] == after[j])) changed.virtualServers.push_back(after[j].server.key);
      ++i;
      ++j;
    }
  }
  moveRefcounts(old.ipsetEntries, slot->ipsetEntries, entries_, changed.ipsetEntries);
  moveRefcounts(old.bindAddresses, slot->bindAddresses, addresses_, changed.addresses);
}

bool DesiredState::addClaim(const VirtualServerKey& key, const ServiceDesired* owner,
                            std::uint32_t index) {
  Claims& claims = claims_[key];
  auto pos = std::lower_bound(claims.begin(), claims.end(), owner->key,
                              [](const Claim& c, const ObjectKey& k) { return c.owner->key < k; });
  const bool winner = pos == claims.begin();
  claims.insert(pos, Claim{owner, index});
  return winner;
}

bool DesiredState::dropClaim(const VirtualServerKey& key, const ServiceDesired* owner) {
  auto it = claims_.find(key);
  if (it == claims_.end()) return false;
  Claims& claims = it->second;
  auto pos = std::find_if(claims.begin(), claims.end(),
                          [owner](const Claim& c) { return c.owner == owner; });
  if (pos == claims.end()) return false;
  const bool winner = pos == claims.begin();
  claims.erase(pos);
  if (claims.empty()) claims_.erase(it);
  return winner;
}

bool DesiredState::retarget(const VirtualServerKey& key, const ServiceDesired* owner,
                            std::uint32_t index) {
  auto it = claims_.find(key);
  if (it == claims_.end()) return addClaim(key, owner, index);
  for (auto& c : it->second) {
    if (c.owner == owner) {
      c.index = index;
      return &c == &it->second.front();
    }
  }
  return addClaim(key, owner, index);
}

const ServiceDesired* DesiredState::service(const ObjectKey& key) const {
  auto it = services_.find(key);
  return it == services_.end() ? nullptr : &it->second;
}

const DesiredVirtualServer* DesiredState::virtualServer(const VirtualServerKey& key) const {
  auto it = claims_.find(key);
  if (it == claims_.end()) return nullptr;
  const Claim& c = it->second.front();
  return &c.owner->virtualServers[c.index];
}

const ObjectKey* DesiredState::virtualServerOwner(const VirtualServerKey& key) const {
  auto it = claims_.find(key);
  return it == claims_.end() ? nullptr : &it->second.front().owner->key;
}

std::vector<const DesiredVirtualServer*> DesiredState::virtualServers() const {
  std::vector<const DesiredVirtualServer*> out;
  out.reserve(claims_.size());
  for (const auto& [key, claims] : claims_) {
    out.push_back(&claims.front().owner->virtualServers[claims.front().index]);
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return keyorder::less(a->server.key, b->server.key);
  });
  return out;
}

DesiredState::Tally DesiredState::tally() const {
  Tally tally;
  for (const auto& [key, claims] : claims_) {
    const Claim& winner = claims.front();
    ++tally.schedulers[winner.owner->virtualServers[winner.index].server.scheduler];
  }
  for (const auto& [key, svc] : services_) {
    tally.noLocalInternal += svc.noLocalEndpointsInternal ? 1 : 0;
    tally.noLocalExternal += svc.noLocalEndpointsExternal ? 1 : 0;
  }
  return tally;
}

std::vector<const IpsetEntry*> DesiredState::sortedIpsetEntries() const {
  std::vector<const IpsetEntry*> out;
  out.reserve(entries_.size());
  for (const auto& [entry, count] : entries_) out.push_back(&entry);
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return *a < *b; });
  return out;
}

std::vector<IpsetEntry> DesiredState::ipsetEntries() const {
  std::vector<IpsetEntry> out;
  out.reserve(entries_.size());
  for (const auto& [entry, count] : entries_) out.push_back(entry);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<IpAddress> DesiredState::addresses() const {
  std::vector<IpAddress> out;
  out.reserve(addresses_.size());
  for (const auto& [ip, count] : addresses_) out.push_back(ip);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Diagnostic> DesiredState::conflicts(const ObjectKey& key) const {
  std::vector<Diagnostic> out;
  const ServiceDesired* svc = service(key);
  if (svc == nullptr) return out;
  for (const auto& vs : svc->virtualServers) {
    const ObjectKey* winner = virtualServerOwner(vs.server.key);
    if (winner != nullptr && *winner != key) {
      out.push_back({key, kReasonVirtualServerConflict,
                     "virtual server " + formatVirtualServerKey(vs.server.key) +
                         " is also wanted by " + winner->str() +
                         ", which keeps it (lowest namespace/name wins)"});
    }
  }
  return out;
}

}  // namespace ipvs
