#include "reconcile/reconciler.h"

#include <set>
#include <utility>

#include "ipvs/apply_outcome.h"
#include "ipvs/translate.h"

namespace reconcile {

Reconciler::Reconciler(ipvs::Dataplane& dataplane, Options options)
    : dataplane_(dataplane), options_(std::move(options)) {}

void Reconciler::markDirty(const std::vector<ipvs::ObjectKey>& keys) {
  dirty_.insert(keys.begin(), keys.end());
}

void Reconciler::upsertService(ipvs::Service svc) {
  markDirty(cache_.upsertService(std::move(svc)));
}

void Reconciler::deleteService(const ipvs::ObjectKey& key) { markDirty(cache_.deleteService(key)); }

void Reconciler::upsertSlice(ipvs::EndpointSlice slice) {
  markDirty(cache_.upsertSlice(std::move(slice)));
}

void Reconciler::deleteSlice(const ipvs::ObjectKey& sliceKey) {
  markDirty(cache_.deleteSlice(sliceKey));
}

void Reconciler::setNode(ipvs::NodeContext node) {
  options_.node = std::move(node);
  markDirty(cache_.serviceKeys());
}

ipvs::ChangedKeys Reconciler::replanDirty(SyncResult& result) {
  ipvs::ChangedKeys changed;
  for (const auto& key : dirty_) {
    const ipvs::Service* svc = cache_.service(key);
    if (svc == nullptr) {
      changed.merge(desired_.remove(key));
      continue;
    }
    const auto slices = cache_.slicesOf(key);
    ipvs::ServiceDesired plan = ipvs::translate(*svc, slices, options_.node);
    result.diagnostics.insert(result.diagnostics.end(), plan.diagnostics.begin(),
                              plan.diagnostics.end());
    changed.merge(desired_.update(key, std::move(plan)));
    const auto conflicts = desired_.conflicts(key);
    result.diagnostics.insert(result.diagnostics.end(), conflicts.begin(), conflicts.end());
  }
  result.servicesReplanned = dirty_.size();
  result.replanned.assign(dirty_.begin(), dirty_.end());
  dirty_.clear();
  changed.normalize();
  return changed;
}

ipvs::DiffOptions Reconciler::diffOptions(Clock::time_point now, bool resetWeights) const {
  ipvs::DiffOptions opts;
  opts.excludeCIDRs = options_.node.excludeCIDRs;
  opts.families = options_.node.families;
  opts.resetWeights = resetWeights;
  if (options_.drainLimit) {
    opts.drainExpired = [this, now](const ipvs::VirtualServerKey& vs,
                                    const ipvs::RealServerKey& rs) {
      auto it = drainSince_.find({vs, rs});
      return it != drainSince_.end() && now - it->second >= *options_.drainLimit;
    };
  }
  return opts;
}

SyncResult Reconciler::sync(Clock::time_point now, bool full) {
  SyncResult result;
  result.full = full || needsFull_;
  ipvs::ChangedKeys changed = replanDirty(result);
  if (result.full) {
    auto observed = dataplane_.observe();
    if (!observed) {
      result.observeFailed = true;
      needsFull_ = true;
      return result;
    }
    observed_ = std::move(*observed);
  }
  const bool resetWeights = firstSync_ && result.full;
  const ipvs::DiffOptions opts = diffOptions(now, resetWeights);
  ipvs::Plan plan = result.full ? ipvs::diff(desired_, observed_, opts)
                                : ipvs::diffKeys(desired_, observed_, opts, changed);
  if (!result.full && refreshCounters(plan))
    plan = ipvs::diffKeys(desired_, observed_, opts, changed);
  apply(plan, result);
  trackDrains(plan, now, result.full);
  result.draining = drainSince_.size();
  if (result.full && result.failures.empty()) {
    needsFull_ = false;
    firstSync_ = false;
  }
  return result;
}

bool Reconciler::refreshCounters(const ipvs::Plan& plan) {
  // The mirror's connection counters date from the last full dump. Before the plan deletes a
  // TCP real server (graceful termination keeps one with connections), read that virtual
  // server's real servers again: one dump request, only when a delete is planned.
  std::set<ipvs::VirtualServerKey> stale;
  for (const auto& op : plan.operations) {
    const auto* del = std::get_if<ipvs::DeleteRealServer>(&op);
    if (del != nullptr && del->virtualServer.protocol == ipvs::Protocol::kTcp)
      stale.insert(del->virtualServer);
  }
  for (const auto& key : stale) {
    auto fresh = dataplane_.observeRealServers(key);
    auto it = observed_.virtualServers.find(key);
    if (it == observed_.virtualServers.end()) continue;
    if (fresh) {
      it->second.realServers = std::move(*fresh);
    } else {
      needsFull_ = true;  // the mirror is wrong about this VS; the next sync re-reads everything
    }
  }
  return !stale.empty();
}

void Reconciler::apply(const ipvs::Plan& plan, SyncResult& result) {
  if (plan.operations.empty()) return;
  const ipvs::ApplyReport report = dataplane_.apply(plan.operations);
  result.operations = plan.operations.size();
  result.idempotent = report.idempotent;
  for (std::size_t i = 0; i < plan.operations.size(); ++i) {
    const std::error_code ec = i < report.results.size() ? report.results[i] : std::error_code{};
    if (ec) {
      result.failures.push_back({plan.operations[i], ec});
    } else {
      // Acknowledged (or idempotent): the kernel now holds what the operation says.
      (void)ipvs::applyOperation(observed_, plan.operations[i]);
    }
  }
  if (!result.failures.empty() || report.stateUncertain) needsFull_ = true;
}

void Reconciler::trackDrains(const ipvs::Plan& plan, Clock::time_point now, bool full) {
  // A full diff sees every drain; an incremental one only those of the keys it looked at, so
  // it may add drains but not prove that others ended.
  std::map<std::pair<ipvs::VirtualServerKey, ipvs::RealServerKey>, Clock::time_point> next;
  if (!full) next = drainSince_;
  for (const auto& d : plan.draining) {
    const auto key = std::make_pair(d.virtualServer, d.realServer);
    auto it = drainSince_.find(key);
    next[key] = it == drainSince_.end() ? now : it->second;
  }
  if (!full) {
    // Drains whose real server the incremental plan deleted or revived are over.
    std::erase_if(next, [this](const auto& entry) {
      const auto vs = observed_.virtualServers.find(entry.first.first);
      if (vs == observed_.virtualServers.end()) return true;
      for (const auto& rs : vs->second.realServers)
        if (rs.server.key == entry.first.second) return rs.server.weight != 0;
      return true;
    });
  }
  drainSince_ = std::move(next);
}

}  // namespace reconcile
