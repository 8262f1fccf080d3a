#include "reconcile/sync_schedule.h"

#include <algorithm>
#include <utility>

namespace reconcile {

std::string_view syncStateName(SyncState state) {
  switch (state) {
    case SyncState::kAwaiting:
      return "awaiting";
    case SyncState::kSyncing:
      return "syncing";
    case SyncState::kSynced:
      return "synced";
  }
  return "unknown";
}

Clock::Duration Backoff::next(const RetryPolicy& policy, const ipvs::RandomFn& random) {
  const Clock::Duration max = policy.max;
  const Clock::Duration base = std::min(current_, max);
  current_ = std::min(base * 2, max);
  const double r = random ? std::clamp(random(), 0.0, 1.0) : 0.0;
  const auto jittered = std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double, Clock::Duration::period>(base.count()) *
      (1.0 + r * policy.jitter));
  return std::min(jittered, max);
}

SyncSchedule::SyncSchedule(RetryPolicy policy, ipvs::RandomFn random)
    : policy_(policy), random_(std::move(random)), fullBackoff_(policy_) {}

void SyncSchedule::changed(const ipvs::ObjectKey& key, Clock::TimePoint now) {
  dueAt_.insert_or_assign(key, now);
  if (auto it = failing_.find(key); it != failing_.end()) it->second.backoff.reset(policy_);
}

std::vector<ipvs::ObjectKey> SyncSchedule::takeDue(Clock::TimePoint now) {
  std::vector<ipvs::ObjectKey> due;
  due.reserve(dueAt_.size());  // exact at the first sync, when every Service is due
  for (auto it = dueAt_.begin(); it != dueAt_.end();) {
    if (it->second <= now) {
      due.push_back(std::move(dueAt_.extract(it++).key()));  // the names move, not copied
    } else {
      ++it;
    }
  }
  return due;
}

std::optional<Clock::TimePoint> SyncSchedule::nextDue(bool withFull) const {
  std::optional<Clock::TimePoint> next;
  if (fullWanted_ && withFull) next = fullAt_;
  for (const auto& [key, at] : dueAt_)
    if (!next || at < *next) next = at;
  if (drainAt_ && (!next || *drainAt_ < *next)) next = drainAt_;
  return next;
}

void SyncSchedule::drainsRemain(bool remain, bool checked, Clock::TimePoint now) {
  if (!remain) {
    drainAt_.reset();
  } else if (checked || !drainAt_) {
    drainAt_ = now + kDrainCheckInterval;
  }
}

void SyncSchedule::fullFailed(Clock::TimePoint now) {
  fullWanted_ = true;
  fullAt_ = now + fullBackoff_.next(policy_, random_);
}

void SyncSchedule::fullSucceeded() {
  awaiting_ = false;
  fullWanted_ = false;
  fullBackoff_.reset(policy_);
}

const ipvs::ChangedKeys* SyncSchedule::failedKeys(const ipvs::ObjectKey& key) const {
  auto it = failing_.find(key);
  return it == failing_.end() ? nullptr : &it->second.keys;
}

std::optional<ServiceEvent> SyncSchedule::serviceFailed(const ipvs::ObjectKey& key,
                                                        std::string reason, ipvs::ChangedKeys keys,
                                                        Clock::TimePoint now) {
  auto [it, first] = failing_.try_emplace(key, Failing{Backoff(policy_), now, now, 0, {}});
  Failing& f = it->second;
  ++f.attempts;
  f.keys = std::move(keys);
  const Clock::Duration delay = f.backoff.next(policy_, random_);
  // A change that arrived meanwhile keeps its earlier time: it is replanned at once.
  auto [due, inserted] = dueAt_.try_emplace(key, now + delay);
  if (!inserted) due->second = std::min(due->second, now + delay);
  ServiceEvent event{
      ServiceEvent::Kind::kFailing, key, std::move(reason), f.since, f.attempts, delay};
  if (first) return event;
  if (now - f.lastReported < policy_.summaryEvery) return std::nullopt;
  f.lastReported = now;
  event.kind = ServiceEvent::Kind::kStillFailing;
  return event;
}

std::optional<ServiceEvent> SyncSchedule::serviceSucceeded(const ipvs::ObjectKey& key) {
  auto it = failing_.find(key);
  if (it == failing_.end()) return std::nullopt;
  ServiceEvent event{
      ServiceEvent::Kind::kRecovered, key, {}, it->second.since, it->second.attempts, {}};
  failing_.erase(it);
  return event;
}

SyncState SyncSchedule::state() const {
  if (awaiting_) return SyncState::kAwaiting;
  if (fullWanted_ || !dueAt_.empty()) return SyncState::kSyncing;
  return SyncState::kSynced;
}

}  // namespace reconcile
