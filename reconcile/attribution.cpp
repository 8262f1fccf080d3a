#include "reconcile/attribution.h"

#include <type_traits>
#include <variant>

namespace reconcile {

ipvs::ChangedKeys keyOf(const ipvs::Operation& op) {
  ipvs::ChangedKeys keys;
  std::visit(
      [&keys](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, ipvs::AddVirtualServer> ||
                      std::is_same_v<T, ipvs::EditVirtualServer>) {
          keys.virtualServers.push_back(o.server.key);
        } else if constexpr (std::is_same_v<T, ipvs::DeleteVirtualServer>) {
          keys.virtualServers.push_back(o.key);
        } else if constexpr (std::is_same_v<T, ipvs::AddRealServer> ||
                             std::is_same_v<T, ipvs::EditRealServer> ||
                             std::is_same_v<T, ipvs::DeleteRealServer>) {
          keys.virtualServers.push_back(o.virtualServer);
        } else if constexpr (std::is_same_v<T, ipvs::AddIpsetEntry> ||
                             std::is_same_v<T, ipvs::DeleteIpsetEntry>) {
          keys.ipsetEntries.push_back(o.entry);
        } else {
          keys.addresses.push_back(o.address);
        }
      },
      op);
  return keys;
}

void Attribution::add(const ipvs::ObjectKey& service, const ipvs::ChangedKeys& keys) {
  for (const auto& k : keys.virtualServers) virtualServers_[k].push_back(service);
  for (const auto& k : keys.ipsetEntries) entries_[k].push_back(service);
  for (const auto& k : keys.addresses) addresses_[k].push_back(service);
}

std::vector<ipvs::ObjectKey> Attribution::owners(const ipvs::Operation& op,
                                                 const ipvs::DesiredState& desired) const {
  const ipvs::ChangedKeys key = keyOf(op);
  if (!key.virtualServers.empty()) {
    const auto& vs = key.virtualServers.front();
    if (auto it = virtualServers_.find(vs); it != virtualServers_.end()) return it->second;
    if (const ipvs::ObjectKey* owner = desired.virtualServerOwner(vs)) return {*owner};
    return {};
  }
  if (!key.ipsetEntries.empty()) {
    auto it = entries_.find(key.ipsetEntries.front());
    return it == entries_.end() ? Owners{} : it->second;
  }
  auto it = addresses_.find(key.addresses.front());
  return it == addresses_.end() ? Owners{} : it->second;
}

}  // namespace reconcile
