#include "reconcile/background_dump.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <optional>
#include <string_view>
#include <type_traits>
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

// The dump's thread reads the mirror this many members at a time under its lock, so a change
// arriving meanwhile waits for one chunk at most, never for a walk of the whole cluster.
constexpr std::size_t kCompareChunk = 256;

template <typename T>
const T& memberKey(const T& member) {
  return member;
}
template <typename K, typename V>
const K& memberKey(const std::pair<const K, V>& entry) {
  return entry.first;
}

// Calls fn(member) for every member of a sorted set or map, in order, kCompareChunk at a time
// under `mutex`, resuming after the last member seen (the container may change in between).
template <typename Container, typename Fn>
void forEachLocked(const Container& container, MirrorLock& mutex, Fn&& fn) {
  std::optional<std::remove_cvref_t<decltype(memberKey(*container.begin()))>> after;
  for (bool more = true; more;) {
    const std::lock_guard lock(mutex);
    auto it = after ? container.upper_bound(*after) : container.begin();
    for (std::size_t n = 0; it != container.end() && n < kCompareChunk; ++n, ++it) fn(*it);
    more = it != container.end();
    if (more) after = memberKey(*std::prev(it));
  }
}

// The kernel's ipset members are kept only as these hashes while the dump runs, to find the
// mirror's members the kernel lacks: 8 bytes each instead of a set of strings (1 MiB at 10k
// Services). If a member the kernel lacks shared its hash with one the kernel has, this check
// would miss the lack: odds of about 10^-11 at 10^4 members.
std::uint64_t memberHash(const ipvs::IpsetEntry& e) {
  const auto setAndFamily =
      static_cast<std::uint64_t>(e.set) << 8 | static_cast<std::uint64_t>(e.family);
  return std::hash<std::string_view>{}(e.entry) ^ (setAndFamily + 1) * 0x9e3779b97f4a7c15ULL;
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
                               const ipvs::KernelState& mirror, MirrorLock& mirrorMutex,
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
    // Not niced, unlike the iptables repair (host_rules.cpp): this thread holds the mirror's lock,
    // and the kernel's IPVS mutex, in short stretches, and a niced holder preempted there keeps the
    // sync thread waiting behind every other task on the CPU (a 93 ms plan phase at 10k in the
    // bench). At the same nice value, a woken sync thread preempts the dump at once.
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
  std::deque<ipvs::VirtualServerKey> seen;  // every virtual server the kernel has (no regrowth)
  std::vector<std::uint64_t> members;       // memberHash() of every ipset member the kernel has
  ipvs::KernelReader::Sinks sinks;
  sinks.virtualServer = [&](ipvs::ObservedVirtualServer&& vs) {
    seen.push_back(vs.server.key);
    const std::lock_guard lock(mirrorMutex_);
    const auto it = mirror_.virtualServers.find(vs.server.key);
    if (it == mirror_.virtualServers.end() || !sameConfig(it->second, vs))
      drift.virtualServers.insert_or_assign(vs.server.key, std::move(vs));
  };
  sinks.ipsetEntry = [&](ipvs::IpsetEntry&& e) {
    members.push_back(memberHash(e));
    const std::lock_guard lock(mirrorMutex_);
    if (mirror_.ipsetEntries.count(e) == 0) drift.ipsetEntries.emplace(std::move(e), true);
  };
  std::vector<ipvs::IpAddress> addresses;  // every address on kube-ipvs0
  sinks.boundAddress = [&](const ipvs::IpAddress& a) {
    addresses.push_back(a);
    const std::lock_guard lock(mirrorMutex_);
    if (mirror_.boundAddresses.count(a) == 0) drift.addresses.emplace(a, true);
  };
  auto state = reader_->observeEach(sinks);
  if (!state) return state.error();
  std::sort(seen.begin(), seen.end());
  forEachLocked(mirror_.virtualServers, mirrorMutex_, [&](const auto& entry) {
    if (!std::binary_search(seen.begin(), seen.end(), entry.first))
      drift.virtualServers.emplace(entry.first, std::nullopt);
  });
  std::sort(members.begin(), members.end());
  forEachLocked(mirror_.ipsetEntries, mirrorMutex_, [&](const ipvs::IpsetEntry& m) {
    if (!std::binary_search(members.begin(), members.end(), memberHash(m)))
      drift.ipsetEntries.emplace(m, false);
  });
  std::sort(addresses.begin(), addresses.end());
  forEachLocked(mirror_.boundAddresses, mirrorMutex_, [&](const ipvs::IpAddress& a) {
    if (!std::binary_search(addresses.begin(), addresses.end(), a))
      drift.addresses.emplace(a, false);
  });
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
