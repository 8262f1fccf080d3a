#pragma once
// MemoryDataplane: the Dataplane in memory, for tests and benchmarks.
//
// Purpose: behaves like the kernel as the netlink layer reports it. Adding what exists or
// deleting what is missing counts as idempotent success (the Dataplane contract); editing
// something missing, or touching the real servers of a missing virtual server, fails with
// ESRCH/ENOENT like the kernel. Tests can seed foreign objects, set connection counters and
// inject errors.
// Threading: one thread at a time, like every Dataplane; the readers from openReader() may
// observe on other threads meanwhile (one mutex guards the state against them).
// Ownership: owns its KernelState.
// Errors: per operation in ApplyReport; an injected error leaves the state unchanged.
// Metrics: none (apply(), observe() and observeRealServers() calls are counted for tests).

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ipvs/dataplane.h"

namespace ipvs {

class MemoryDataplane final : public Dataplane {
 public:
  // Returns an error for an operation that must fail, or a default code to apply it normally.
  using ErrorInjector = std::function<std::error_code(const Operation&)>;

  MemoryDataplane() = default;
  explicit MemoryDataplane(KernelState initial) : state_(std::move(initial)) {}

  Result<KernelState> observe() override;
  std::unique_ptr<KernelReader> openReader() override;
  ApplyReport apply(std::span<const Operation> ops) override;
  // One virtual server's real servers; fails like observe() when failObserve() is set.
  Result<std::vector<ObservedRealServer>> observeRealServers(const VirtualServerKey& key) override;

  const KernelState& state() const { return state_; }
  KernelState& mutableState() { return state_; }  // seed foreign objects, edit counters

  // Sets the counters of one real server; false if it does not exist.
  bool setConnections(const VirtualServerKey& vs, const RealServerKey& rs,
                      std::uint32_t activeConns, std::uint32_t inactiveConns);

  void injectErrors(ErrorInjector injector) { injector_ = std::move(injector); }
  void failObserve(std::error_code ec) { observeError_ = ec; }
  // Fails adding or editing a virtual server with this scheduler with ENOENT, as a kernel
  // without the scheduler's module does (e.g. `twos` before 6.7).
  void rejectScheduler(std::string scheduler);

  // Runs after a reader's observe() has copied the state and before it returns, on the reader's
  // thread: a test holds a dump "in flight" here, so the copy is older than what is applied
  // meanwhile.
  void onReaderObserved(std::function<void()> hook) { readerHook_ = std::move(hook); }

  std::size_t observeCalls() const { return observeCalls_; }
  std::size_t applyCalls() const { return applyCalls_; }
  // The virtual servers observeRealServers() was asked for, in order.
  const std::vector<VirtualServerKey>& realServerReads() const { return realServerReads_; }

 private:
  class Reader;

  mutable std::mutex mutex_;
  KernelState state_;
  std::function<void()> readerHook_;
  ErrorInjector injector_;
  std::error_code observeError_;
  std::size_t observeCalls_ = 0;
  std::size_t applyCalls_ = 0;
  std::vector<VirtualServerKey> realServerReads_;
};

}  // namespace ipvs
