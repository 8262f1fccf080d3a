#include "reconcile/background_dump.h"

#include <time.h>

#include <chrono>
#include <utility>

#include "reconcile/attribution.h"

namespace reconcile {
namespace {

std::chrono::nanoseconds threadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

BackgroundDump::BackgroundDump(std::unique_ptr<ipvs::KernelReader> reader,
                               std::function<void()> onDone)
    : reader_(std::move(reader)), onDone_(std::move(onDone)) {}

BackgroundDump::~BackgroundDump() {
  if (thread_.joinable()) thread_.join();
}

void BackgroundDump::start() {
  if (running()) return;
  virtualServers_.clear();
  ipsetEntries_.clear();
  addresses_.clear();
  tainted_ = false;
  std::promise<ipvs::Result<ipvs::KernelState>> promise;
  result_ = promise.get_future();
  // The result is set before onDone runs, so whoever onDone wakes finds ready() true.
  thread_ = std::thread([this, promise = std::move(promise)]() mutable {
    const auto wallStart = std::chrono::steady_clock::now();
    const auto cpuStart = threadCpuTime();
    ipvs::Result<ipvs::KernelState> state = reader_->observe();
    times_.cpu = threadCpuTime() - cpuStart;
    times_.wall = std::chrono::steady_clock::now() - wallStart;
    promise.set_value(std::move(state));  // publishes times_ to whoever gets the future
    if (onDone_) onDone_();
  });
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

BackgroundDump::Taken BackgroundDump::take(const ipvs::KernelState& mirror) {
  Taken taken{result_.get(), tainted_, times_};
  thread_.join();
  if (!taken.state) return taken;
  ipvs::KernelState& state = *taken.state;
  for (const auto& key : virtualServers_) {
    if (auto it = mirror.virtualServers.find(key); it != mirror.virtualServers.end()) {
      state.virtualServers.insert_or_assign(key, it->second);
    } else {
      state.virtualServers.erase(key);
    }
  }
  for (const auto& entry : ipsetEntries_) {
    if (mirror.ipsetEntries.count(entry) != 0) {
      state.ipsetEntries.insert(entry);
    } else {
      state.ipsetEntries.erase(entry);
    }
  }
  for (const auto& address : addresses_) {
    if (mirror.boundAddresses.count(address) != 0) {
      state.boundAddresses.insert(address);
    } else {
      state.boundAddresses.erase(address);
    }
  }
  return taken;
}

}  // namespace reconcile
