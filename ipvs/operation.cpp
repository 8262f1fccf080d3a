#include "ipvs/operation.h"

#include <algorithm>

#include "ipvs/apply_outcome.h"
#include "ipvs/kernel_text.h"
#include "ipvs/scheduler.h"

namespace ipvs {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::string describeVirtualServer(const VirtualServer& vs) {
  std::string out = formatVirtualServerKey(vs.key) + " " + vs.scheduler;
  const std::string flags = formatSchedulerFlags(vs.scheduler, vs.flags);
  if (!flags.empty()) out += " (" + flags + ")";
  if ((vs.flags & kFlagPersistent) != 0) out += " persistent " + std::to_string(vs.timeout);
  return out;
}

std::string describeRealServer(const RealServer& rs) {
  return formatAddressPort(rs.key.address, rs.key.port) + " w" + std::to_string(rs.weight);
}

std::string describeEntry(const IpsetEntry& e) {
  return ipsetName(e.set, e.family) + " " + e.entry;
}

auto findRealServer(std::vector<ObservedRealServer>& v, const RealServerKey& key) {
  return std::lower_bound(
      v.begin(), v.end(), key,
      [](const ObservedRealServer& o, const RealServerKey& k) { return o.server.key < k; });
}

ApplyOutcome addRealServer(KernelState& s, const AddRealServer& op) {
  auto vs = s.virtualServers.find(op.virtualServer);
  if (vs == s.virtualServers.end()) return ApplyOutcome::kNoVirtualServer;
  auto& rss = vs->second.realServers;
  auto it = findRealServer(rss, op.server.key);
  if (it != rss.end() && it->server.key == op.server.key) return ApplyOutcome::kExists;
  if (rss.size() == rss.capacity()) {
    // Plans add a replacement before removing the old real server, so a full vector would
    // double for one transient element; grow by a quarter instead (still amortized O(1)).
    const auto pos = it - rss.begin();
    rss.reserve(rss.size() + rss.size() / 4 + 1);
    it = rss.begin() + pos;
  }
  rss.insert(it, ObservedRealServer{op.server, {}});
  return ApplyOutcome::kApplied;
}

ApplyOutcome editRealServer(KernelState& s, const EditRealServer& op) {
  auto vs = s.virtualServers.find(op.virtualServer);
  if (vs == s.virtualServers.end()) return ApplyOutcome::kNoVirtualServer;
  auto& rss = vs->second.realServers;
  auto it = findRealServer(rss, op.server.key);
  if (it == rss.end() || it->server.key != op.server.key) return ApplyOutcome::kMissing;
  it->server = op.server;  // counters survive an edit, as in the kernel
  return ApplyOutcome::kApplied;
}

ApplyOutcome deleteRealServer(KernelState& s, const DeleteRealServer& op) {
  auto vs = s.virtualServers.find(op.virtualServer);
  if (vs == s.virtualServers.end()) return ApplyOutcome::kNoVirtualServer;
  auto& rss = vs->second.realServers;
  auto it = findRealServer(rss, op.key);
  if (it == rss.end() || it->server.key != op.key) return ApplyOutcome::kMissing;
  rss.erase(it);
  return ApplyOutcome::kApplied;
}

}  // namespace

std::string_view operationKind(const Operation& op) {
  return std::visit(Overloaded{
                        [](const AddVirtualServer&) { return "add_virtual_server"; },
                        [](const EditVirtualServer&) { return "edit_virtual_server"; },
                        [](const DeleteVirtualServer&) { return "delete_virtual_server"; },
                        [](const AddRealServer&) { return "add_real_server"; },
                        [](const EditRealServer&) { return "edit_real_server"; },
                        [](const DeleteRealServer&) { return "delete_real_server"; },
                        [](const AddIpsetEntry&) { return "add_ipset_entry"; },
                        [](const DeleteIpsetEntry&) { return "delete_ipset_entry"; },
                        [](const BindAddress&) { return "bind_address"; },
                        [](const UnbindAddress&) { return "unbind_address"; },
                    },
                    op);
}

std::string describe(const Operation& op) {
  return std::visit(
      Overloaded{
          [](const AddVirtualServer& o) {
            return "add virtual server " + describeVirtualServer(o.server);
          },
          [](const EditVirtualServer& o) {
            return "edit virtual server " + describeVirtualServer(o.server);
          },
          [](const DeleteVirtualServer& o) {
            return "delete virtual server " + formatVirtualServerKey(o.key);
          },
          [](const AddRealServer& o) {
            return "add real server " + describeRealServer(o.server) + " to " +
                   formatVirtualServerKey(o.virtualServer);
          },
          [](const EditRealServer& o) {
            return "edit real server " + describeRealServer(o.server) + " in " +
                   formatVirtualServerKey(o.virtualServer);
          },
          [](const DeleteRealServer& o) {
            return "delete real server " + formatAddressPort(o.key.address, o.key.port) + " from " +
                   formatVirtualServerKey(o.virtualServer);
          },
          [](const AddIpsetEntry& o) { return "add ipset entry " + describeEntry(o.entry); },
          [](const DeleteIpsetEntry& o) { return "delete ipset entry " + describeEntry(o.entry); },
          [](const BindAddress& o) { return "bind " + o.address.toString() + " to kube-ipvs0"; },
          [](const UnbindAddress& o) {
            return "unbind " + o.address.toString() + " from kube-ipvs0";
          },
      },
      op);
}

ApplyOutcome applyOperation(KernelState& s, const Operation& op) {
  using O = ApplyOutcome;
  return std::visit(
      Overloaded{
          [&](const AddVirtualServer& o) {
            ObservedVirtualServer vs;
            vs.server = o.server;
            vs.server.flags &= ~kFlagHashed;
            return s.virtualServers.try_emplace(o.server.key, std::move(vs)).second ? O::kApplied
                                                                                    : O::kExists;
          },
          [&](const EditVirtualServer& o) {
            auto it = s.virtualServers.find(o.server.key);
            if (it == s.virtualServers.end()) return O::kMissing;
            it->second.server = o.server;
            it->second.server.flags &= ~kFlagHashed;
            return O::kApplied;
          },
          [&](const DeleteVirtualServer& o) {
            return s.virtualServers.erase(o.key) != 0 ? O::kApplied : O::kMissing;
          },
          [&](const AddRealServer& o) { return addRealServer(s, o); },
          [&](const EditRealServer& o) { return editRealServer(s, o); },
          [&](const DeleteRealServer& o) { return deleteRealServer(s, o); },
          [&](const AddIpsetEntry& o) {
            return s.ipsetEntries.insert(o.entry).second ? O::kApplied : O::kExists;
          },
          [&](const DeleteIpsetEntry& o) {
            return s.ipsetEntries.erase(o.entry) != 0 ? O::kApplied : O::kMissing;
          },
          [&](const BindAddress& o) {
            return s.boundAddresses.insert(o.address).second ? O::kApplied : O::kExists;
          },
          [&](const UnbindAddress& o) {
            return s.boundAddresses.erase(o.address) != 0 ? O::kApplied : O::kMissing;
          },
      },
      op);
}

bool applyTo(KernelState& state, const Operation& op) {
  return applyOperation(state, op) == ApplyOutcome::kApplied;
}

}  // namespace ipvs
