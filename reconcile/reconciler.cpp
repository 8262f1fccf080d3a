#include "reconcile/reconciler.h"

#include <set>
#include <span>
#include <utility>
#include <variant>

#include "ipvs/apply_outcome.h"
#include "ipvs/translate.h"

namespace reconcile {
namespace {

// Operations of a full plan applied at a time (see ipvs::PlanSink).
constexpr std::size_t kApplyChunk = 4096;

// The phase an operation's time is charged to.
SyncPhase phaseOf(const ipvs::Operation& op) {
  if (std::holds_alternative<ipvs::AddIpsetEntry>(op) ||
      std::holds_alternative<ipvs::DeleteIpsetEntry>(op))
    return SyncPhase::kIpsets;
  if (std::holds_alternative<ipvs::BindAddress>(op) ||
      std::holds_alternative<ipvs::UnbindAddress>(op))
    return SyncPhase::kAddresses;
  return SyncPhase::kIpvs;
}

// Records the Service's UDP virtual servers, if it has any (most have none: no entry then).
void addUdpKeys(const ipvs::ServiceDesired* svc,
                std::map<ipvs::ObjectKey, std::set<ipvs::VirtualServerKey>>& keys) {
  if (svc == nullptr) return;
  for (const auto& vs : svc->virtualServers)
    if (vs.server.key.protocol == ipvs::Protocol::kUdp) keys[svc->key].insert(vs.server.key);
}

}  // namespace

Reconciler::Reconciler(ipvs::Dataplane& dataplane, Options options, ipvs::RandomFn random)
    : dataplane_(dataplane),
      options_(std::move(options)),
      schedule_(options_.retry, std::move(random)) {}

void Reconciler::dumpInBackground(std::unique_ptr<ipvs::KernelReader> reader,
                                  std::function<void()> wake) {
  if (reader == nullptr) return;
  dump_ = std::make_unique<BackgroundDump>(std::move(reader), observed_, observedMutex_,
                                           std::move(wake));
}

std::optional<Clock::TimePoint> Reconciler::nextDue() const {
  // While a dump runs, the full resync it serves is not due again: dumpReady() says when.
  if (dump_ != nullptr && dump_->running()) return schedule_.nextDue(/*withFull=*/false);
  return schedule_.nextDue();
}

void Reconciler::markDirty(const std::vector<ipvs::ObjectKey>& keys, Clock::TimePoint now) {
  for (const auto& key : keys) schedule_.changed(key, now);
}

void Reconciler::upsertService(ipvs::Service svc, Clock::TimePoint now) {
  markDirty(cache_.upsertService(std::move(svc)), now);
}

void Reconciler::deleteService(const ipvs::ObjectKey& key, Clock::TimePoint now) {
  markDirty(cache_.deleteService(key), now);
}

void Reconciler::upsertSlice(ipvs::EndpointSlice slice, Clock::TimePoint now) {
  markDirty(cache_.upsertSlice(std::move(slice)), now);
}

void Reconciler::deleteSlice(const ipvs::ObjectKey& sliceKey, Clock::TimePoint now) {
  markDirty(cache_.deleteSlice(sliceKey), now);
}

void Reconciler::setNode(ipvs::NodeContext node, Clock::TimePoint now) {
  options_.node = std::move(node);
  markDirty(cache_.serviceKeys(), now);
}

ipvs::ChangedKeys Reconciler::replan(const std::vector<ipvs::ObjectKey>& keys, SyncResult& result,
                                     Attribution& attribution) {
  ipvs::ChangedKeys changed;
  udpKeys_.clear();
  for (const auto& key : keys) {
    if (conntrack_ != nullptr) addUdpKeys(desired_.service(key), udpKeys_);
    ipvs::ChangedKeys mine;
    if (const ipvs::Service* svc = cache_.service(key); svc == nullptr) {
      mine = desired_.remove(key);
    } else {
      ipvs::ServiceDesired plan = ipvs::translate(*svc, cache_.slicesOf(key), options_.node);
      result.diagnostics.insert(result.diagnostics.end(), plan.diagnostics.begin(),
                                plan.diagnostics.end());
      mine = desired_.update(key, std::move(plan));
      const auto conflicts = desired_.conflicts(key);
      result.diagnostics.insert(result.diagnostics.end(), conflicts.begin(), conflicts.end());
    }
    if (conntrack_ != nullptr) addUdpKeys(desired_.service(key), udpKeys_);
    // A retry must look at what failed even when the Service itself did not change.
    if (const ipvs::ChangedKeys* failed = schedule_.failedKeys(key)) mine.merge(*failed);
    attribution.add(key, mine);
    changed.merge(mine);
  }
  result.servicesReplanned = keys.size();
  result.replanned = keys;
  changed.normalize();
  return changed;
}

ipvs::DiffOptions Reconciler::diffOptions(Clock::TimePoint now, bool resetWeights) const {
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

SyncResult Reconciler::sync(Clock::TimePoint now, bool full, PhaseTimer* timer) {
  const auto lap = [timer](SyncPhase phase) {
    if (timer != nullptr) timer->lap(phase);
  };
  // A background dump may be comparing with the mirror: it lets this thread go first.
  observedMutex_.lockFirst();
  const std::lock_guard lock(observedMutex_, std::adopt_lock);
  SyncResult result;
  result.dumpRunning = dump_ != nullptr && dump_->running();
  result.full = full || schedule_.fullDue(now) || dumpReady();
  const bool awaiting = schedule_.state() == SyncState::kAwaiting;
  const std::vector<ipvs::ObjectKey> keys = schedule_.takeDue(now);
  Attribution attribution;
  ipvs::ChangedKeys changed = replan(keys, result, attribution);
  lap(SyncPhase::kPlan);
  bool uncertain = result.full && observeAll(awaiting, result, changed);
  std::set<ipvs::VirtualServerKey> fresh;  // real servers re-read by this sync
  // A whole diff sees every drain anyway; otherwise the drain check reads only their VSs.
  result.drainCheck = !result.wholeDiff && schedule_.drainCheckDue(now);
  if (result.drainCheck) uncertain = readDrains(changed, fresh) || uncertain;
  lap(SyncPhase::kObserve);
  const ipvs::DiffOptions opts = diffOptions(now, awaiting && result.full);
  UdpSnapshot udpBefore;
  ipvs::Plan plan;
  if (result.wholeDiff) {
    changed = {};  // the whole diff looks at every key: free them for the plan's chunks
    udpBefore = snapshotUdp();
    lap(SyncPhase::kOther);
    // A whole plan goes out in chunks while the diff runs, so it is never held whole (the first
    // sync at 10k Services is 140k operations).
    const ipvs::PlanSink sink{kApplyChunk, [&](std::vector<ipvs::Operation>& ops) {
                                lap(SyncPhase::kPlan);
                                uncertain = apply(ops, attribution, result, timer) || uncertain;
                              }};
    plan = ipvs::diff(desired_, observed_, opts, &sink);
    lap(SyncPhase::kPlan);
  } else {
    plan = ipvs::diffKeys(desired_, observed_, opts, changed);
    lap(SyncPhase::kPlan);
    if (refreshCounters(plan, fresh, uncertain)) {
      lap(SyncPhase::kObserve);
      plan = ipvs::diffKeys(desired_, observed_, opts, changed);
      lap(SyncPhase::kPlan);
    }
    udpBefore = snapshotUdp();
    lap(SyncPhase::kOther);
  }
  uncertain = apply(plan.operations, attribution, result, timer) || uncertain;
  plan.operations = {};  // what trackDrains needs is plan.draining
  cleanConntrack(udpBefore, result);
  lap(SyncPhase::kConntrack);
  trackDrains(plan, now, result.wholeDiff);
  result.draining = drainSince_.size();
  schedule_.drainsRemain(!drainSince_.empty(), result.wholeDiff || result.drainCheck, now);
  uncertain = settle(keys, result, now) || uncertain;
  if (uncertain && dump_ != nullptr) dump_->taint();  // a dump in flight may predate the loss
  if (uncertain) {
    mirrorTrusted_ = false;
    schedule_.fullFailed(now);
    result.fullResyncScheduled = true;
  } else if (result.full) {
    mirrorTrusted_ = mirrorTrusted_ || result.wholeDiff;
    schedule_.fullSucceeded();
  }
  result.state = schedule_.state();
  result.failingServices = schedule_.failingServices();
  lap(SyncPhase::kOther);
  return result;
}

bool Reconciler::observeAll(bool awaiting, SyncResult& result, ipvs::ChangedKeys& changed) {
  // Returns whether the kernel state is uncertain. The first full sync always reads on this
  // thread: nothing may be written before the kernel has been read once.
  if (dump_ != nullptr && !awaiting) {
    if (!dump_->ready()) {
      dump_->start();  // no-op while one runs; this sync goes on with the changed keys only
      schedule_.fullStarted();
      result.full = false;
      result.dumpStarted = true;
      return false;
    }
    BackgroundDump::Taken taken = dump_->take(observed_);
    result.dump = taken.times;
    if (!taken.error && !taken.tainted) {
      result.drift = taken.drift.virtualServers.size() + taken.drift.ipsetEntries.size() +
                     taken.drift.addresses.size();
      result.wholeDiff = !mirrorTrusted_;
      changed.merge(taken.drift);
      changed.normalize();
      return false;
    }
  } else if (ipvs::Result<ipvs::KernelState> observed = dataplane_.observe()) {
    observed_ = std::move(*observed);
    result.wholeDiff = true;
    return false;
  }
  // The dump failed (or may predate lost replies): the full resync backs off, but the changed
  // Services still go out, diffed against the mirror.
  result.observeFailed = true;
  result.full = false;
  return true;
}

bool Reconciler::readDrains(ipvs::ChangedKeys& changed, std::set<ipvs::VirtualServerKey>& fresh) {
  // Only the virtual servers with drains are read, one dump request each, so the check costs
  // what drains, not the cluster. Their keys join the diff, which deletes the real servers
  // whose connections ended (or whose drain limit passed).
  bool uncertain = false;
  for (const auto& [drain, since] : drainSince_) {
    const ipvs::VirtualServerKey& key = drain.first;
    if (!fresh.insert(key).second) continue;  // the map is sorted: a VS's drains are adjacent
    changed.virtualServers.push_back(key);
    auto rs = dataplane_.observeRealServers(key);
    if (dump_ != nullptr) dump_->touched(key);
    auto it = observed_.virtualServers.find(key);
    if (rs && it != observed_.virtualServers.end()) {
      it->second.realServers = std::move(*rs);
    } else {
      uncertain = true;  // unreadable, or gone behind our back: re-read everything
    }
  }
  changed.normalize();
  return uncertain;
}

bool Reconciler::settle(const std::vector<ipvs::ObjectKey>& replanned, SyncResult& result,
                        Clock::TimePoint now) {
  // Group the failures by Service: each failing Service is re-dirtied with its own backoff.
  std::map<ipvs::ObjectKey, std::pair<std::string, ipvs::ChangedKeys>> failed;
  bool unattributed = false;
  for (const auto& f : result.failures) {
    if (f.services.empty()) unattributed = true;
    for (const auto& key : f.services) {
      auto [it, first] = failed.try_emplace(key);
      if (first) it->second.first = ipvs::describe(f.operation) + ": " + f.error.message();
      it->second.second.merge(keyOf(f.operation));
    }
  }
  for (auto& [key, why] : failed) {
    why.second.normalize();
    if (auto e = schedule_.serviceFailed(key, why.first, std::move(why.second), now))
      result.serviceEvents.push_back(std::move(*e));
  }
  for (const auto& key : replanned) {
    if (failed.count(key)) continue;
    if (auto e = schedule_.serviceSucceeded(key)) result.serviceEvents.push_back(std::move(*e));
  }
  return unattributed;
}

bool Reconciler::refreshCounters(const ipvs::Plan& plan,
                                 const std::set<ipvs::VirtualServerKey>& fresh, bool& uncertain) {
  // The mirror's connection counters date from the last full dump. Before the plan deletes a
  // TCP real server (graceful termination keeps one with connections), read that virtual
  // server's real servers again: one dump request, only when a delete is planned, and not
  // for a VS this sync has just read.
  std::set<ipvs::VirtualServerKey> stale;
  for (const auto& op : plan.operations) {
    const auto* del = std::get_if<ipvs::DeleteRealServer>(&op);
    if (del != nullptr && del->virtualServer.protocol == ipvs::Protocol::kTcp &&
        fresh.count(del->virtualServer) == 0)
      stale.insert(del->virtualServer);
  }
  for (const auto& key : stale) {
    auto it = observed_.virtualServers.find(key);
    if (it == observed_.virtualServers.end()) continue;
    if (dump_ != nullptr) dump_->touched(key);
    if (auto rs = dataplane_.observeRealServers(key)) {
      it->second.realServers = std::move(*rs);
    } else {
      uncertain = true;  // the mirror is wrong about this VS: re-read everything
    }
  }
  return !stale.empty();
}

bool Reconciler::apply(std::span<const ipvs::Operation> ops, const Attribution& attribution,
                       SyncResult& result, PhaseTimer* timer) {
  if (ops.empty()) return false;
  // One dataplane call per run of operations of one kind (IPVS, ipsets, addresses), in plan
  // order, so each run is timed as its phase. The kernel dataplane batches by the same runs.
  bool uncertain = false;
  for (std::size_t begin = 0; begin < ops.size();) {
    const SyncPhase phase = phaseOf(ops[begin]);
    std::size_t end = begin + 1;
    while (end < ops.size() && phaseOf(ops[end]) == phase) ++end;
    const auto run = ops.subspan(begin, end - begin);
    ipvs::ApplyReport report = dataplane_.apply(run);
    if (timer != nullptr) timer->lap(phase);
    report.results.resize(run.size());  // a short report counts as success, as before
    record(run, report.results, attribution, result);
    result.idempotent += report.idempotent;
    uncertain = uncertain || report.stateUncertain;  // e.g. ENOBUFS: replies were lost
    begin = end;
  }
  result.operations += ops.size();
  if (timer != nullptr) timer->lap(SyncPhase::kOther);
  return uncertain;
}

void Reconciler::record(std::span<const ipvs::Operation> ops,
                        std::span<const std::error_code> results, const Attribution& attribution,
                        SyncResult& result) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const ipvs::Operation& op = ops[i];
    if (dump_ != nullptr) dump_->touched(op);  // the dump in flight may not have seen it
    if (results[i]) {
      result.failures.push_back({op, results[i], attribution.owners(op, desired_)});
    } else {
      // Acknowledged (or idempotent): the kernel now holds what the operation says.
      (void)ipvs::applyOperation(observed_, op);
      ++result.appliedByKind[ipvs::operationKind(op)];
    }
  }
}

void Reconciler::trackDrains(const ipvs::Plan& plan, Clock::TimePoint now, bool full) {
  // A full diff sees every drain; an incremental one only those of the keys it looked at, so
  // it may add drains but not prove that others ended.
  std::map<std::pair<ipvs::VirtualServerKey, ipvs::RealServerKey>, Clock::TimePoint> next;
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

ipvs::UdpRealServers Reconciler::udpRealServers(
    const std::set<ipvs::VirtualServerKey>& keys) const {
  ipvs::UdpRealServers out;
  for (const auto& key : keys) {
    auto it = observed_.virtualServers.find(key);
    if (it == observed_.virtualServers.end()) continue;
    auto& rs = out[key];
    for (const auto& r : it->second.realServers) rs.push_back(r.server.key);
  }
  return out;
}

Reconciler::UdpSnapshot Reconciler::snapshotUdp() const {
  UdpSnapshot out;
  for (const auto& [svc, keys] : udpKeys_)
    if (!keys.empty()) out.emplace(svc, udpRealServers(keys));
  return out;
}

void Reconciler::cleanConntrack(const UdpSnapshot& before, SyncResult& result) {
  // The mirror holds only what the kernel acknowledged, so before/after is what changed there.
  if (conntrack_ == nullptr) return;
  std::set<ipvs::ConntrackFilter> filters;
  std::vector<ipvs::ObjectKey> services;
  for (const auto& [svc, was] : before) {
    const auto mine = ipvs::udpConntrackFlushes(was, udpRealServers(udpKeys_.at(svc)));
    if (mine.empty()) continue;
    services.push_back(svc);
    filters.insert(mine.begin(), mine.end());
  }
  if (filters.empty()) return;
  const std::vector<ipvs::ConntrackFilter> all(filters.begin(), filters.end());
  if (auto deleted = conntrack_->deleteEntries(all)) {
    result.conntrackDeleted = *deleted;
  } else {
    result.conntrackFailure = ConntrackFailure{std::move(services), deleted.error()};
  }
}

}  // namespace reconcile
