#include "reconcile/background_dump.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "reconcile/attribution.h"

namespace reconcile {
namespace {

std::chrono::nanoseconds threadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Whether the mirror holds the virtual server as the kernel does. The connection counters are
// not compared: they change all the time, and the planner re-reads them before it decides on
// them (graceful termination, the drain check).
bool sameConfig(const ipvs::ObservedVirtualServer& a, const ipvs::ObservedVirtualServer& b) {
  return a.server == b.server &&
         std::equal(a.realServers.begin(), a.realServers.end(), b.realServers.begin(),
                    b.realServers.end(),
                    [](const auto& x, const auto& y) { return x.server == y.server; });
}

// Records in `out` every member of one sorted set missing from the other: true for those only
// the kernel has, false for those only the mirror has.
template <typename T>
void symmetricDifference(const std::set<T>& kernel, const std::set<T>& mirror,
                         std::map<T, bool>& out) {
  auto k = kernel.begin();
  auto m = mirror.begin();
  while (k != kernel.end() || m != mirror.end()) {
    if (m == mirror.end() || (k != kernel.end() && *k < *m)) {
      out.emplace_hint(out.end(), *k++, true);
    } else if (k == kernel.end() || *m < *k) {
      out.emplace_hint(out.end(), *m++, false);
    } else {
      ++k;
      ++m;
    }
  }
}

// Puts the drift of a set of members (ipset entries, addresses) into the mirror's set, except
// the members touched meanwhile, and lists what it corrected in `corrected`.
template <typename T>
void correct(const std::map<T, bool>& drift, const std::set<T>& touched, std::set<T>& mirror,
             std::vector<T>& corrected) {
  for (const auto& [member, present] : drift) {
    if (touched.count(member) != 0) continue;
    if (present) {
      mirror.insert(member);
    } else {
      mirror.erase(member);
    }
    corrected.push_back(member);
  }
}

}  // namespace

BackgroundDump::BackgroundDump(std::unique_ptr<ipvs::KernelReader> reader,
                               const ipvs::KernelState& mirror, std::mutex& mirrorMutex,
                               std::function<void()> onDone)
    : reader_(std::move(reader)),
      mirror_(mirror),
      mirrorMutex_(mirrorMutex),
      onDone_(std::move(onDone)) {}

BackgroundDump::~BackgroundDump() {
  if (thread_.joinable()) thread_.join();
}

void BackgroundDump::start() {
  if (running()) return;
  virtualServers_.clear();
  ipsetEntries_.clear();
  addresses_.clear();
  tainted_ = false;
  std::promise<ipvs::Result<Drift>> promise;
  result_ = promise.get_future();
  // The result is set before onDone runs, so whoever onDone wakes finds ready() true.
  thread_ = std::thread([this, promise = std::move(promise)]() mutable {
    const auto wallStart = std::chrono::steady_clock::now();
    const auto cpuStart = threadCpuTime();
    ipvs::Result<Drift> drift = compare();
    times_.cpu = threadCpuTime() - cpuStart;
    times_.wall = std::chrono::steady_clock::now() - wallStart;
    promise.set_value(std::move(drift));  // publishes times_ to whoever gets the future
    if (onDone_) onDone_();
  });
}

ipvs::Result<BackgroundDump::Drift> BackgroundDump::compare() {
  Drift drift;
  std::vector<ipvs::VirtualServerKey> seen;  // every virtual server the kernel has
  auto state = reader_->observeEach([&](ipvs::ObservedVirtualServer&& vs) {
    seen.push_back(vs.server.key);
    const std::lock_guard lock(mirrorMutex_);
    const auto it = mirror_.virtualServers.find(vs.server.key);
    if (it == mirror_.virtualServers.end() || !sameConfig(it->second, vs))
      drift.virtualServers.insert_or_assign(vs.server.key, std::move(vs));
  });
  if (!state) return state.error();
  std::sort(seen.begin(), seen.end());
  const std::lock_guard lock(mirrorMutex_);
  for (const auto& [key, vs] : mirror_.virtualServers)
    if (!std::binary_search(seen.begin(), seen.end(), key))
      drift.virtualServers.emplace(key, std::nullopt);
  symmetricDifference(state->ipsetEntries, mirror_.ipsetEntries, drift.ipsetEntries);
  symmetricDifference(state->boundAddresses, mirror_.boundAddresses, drift.addresses);
  return drift;
}

bool BackgroundDump::running() const { return result_.valid(); }

bool BackgroundDump::ready() const {
  return running() && result_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

void BackgroundDump::touched(const ipvs::Operation& op) {
  if (!running()) return;
  const ipvs::ChangedKeys key = keyOf(op);
  virtualServers_.insert(key.virtualServers.begin(), key.virtualServers.end());
  ipsetEntries_.insert(key.ipsetEntries.begin(), key.ipsetEntries.end());
  addresses_.insert(key.addresses.begin(), key.addresses.end());
}

void BackgroundDump::touched(const ipvs::VirtualServerKey& key) {
  if (running()) virtualServers_.insert(key);
}

BackgroundDump::Taken BackgroundDump::take(ipvs::KernelState& mirror) {
  ipvs::Result<Drift> drift = result_.get();
  thread_.join();
  Taken taken{{}, tainted_, times_, {}};
  if (!drift) taken.error = drift.error();
  if (!drift || taken.tainted) return taken;
  // Drift found in an object the sync thread wrote or re-read meanwhile is not drift: the
  // dump may predate that write, and the mirror holds what the kernel acknowledged.
  for (auto& [key, vs] : drift->virtualServers) {
    if (virtualServers_.count(key) != 0) continue;
    if (vs) {
      mirror.virtualServers.insert_or_assign(key, std::move(*vs));
    } else {
      mirror.virtualServers.erase(key);
    }
    taken.drift.virtualServers.push_back(key);
  }
  correct(drift->ipsetEntries, ipsetEntries_, mirror.ipsetEntries, taken.drift.ipsetEntries);
  correct(drift->addresses, addresses_, mirror.boundAddresses, taken.drift.addresses);
  taken.drift.normalize();
  return taken;
}

}  // namespace reconcile
