#pragma once
// The abstract kernel the reconciler programs. netlink::KernelDataplane implements it against
// the real kernel (generic netlink, rtnetlink, libipset); ipvs::MemoryDataplane implements it in
// memory for tests and benchmarks.
//
// Threading: an implementation is used by one thread at a time; a KernelReader it opened may
// observe on another thread meanwhile.
// Errors: apply() never stops at the first failure. It reports one result per operation, in
// order. "Already exists" on an add and "not found" on a delete are success (idempotency lives in
// the implementation, in one place), counted separately.

#include <cerrno>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "ipvs/kernel_objects.h"
#include "ipvs/operation.h"
#include "ipvs/result.h"

namespace ipvs {

struct ApplyReport {
  std::vector<std::error_code> results;  // one per operation; a default (0) code is success
  std::size_t failed = 0;                // non-zero results
  std::size_t idempotent = 0;            // EEXIST on add / ENOENT on delete taken as success
  bool stateUncertain =
      false;  // e.g. ENOBUFS: the caller must re-read the kernel before trusting it
};

// A second reader of the same kernel, with its own sockets and sessions, so that its observe()
// may run on another thread while the Dataplane that opened it applies operations.
class KernelReader {
 public:
  virtual ~KernelReader() = default;
  virtual Result<KernelState> observe() = 0;

  // Where a streamed dump (observeEach) hands each object as soon as it is read.
  struct Sinks {
    std::function<void(ObservedVirtualServer&&)> virtualServer;  // required
    // The agent's ipset members and kube-ipvs0's addresses; each when null goes into the
    // result, as with observe().
    std::function<void(IpsetEntry&&)> ipsetEntry;
    std::function<void(const IpAddress&)> boundAddress;
  };

  // The same dump, but each virtual server (with its real servers), and each ipset member and
  // address when asked, goes to `sinks` as soon as it is read instead of into the result; so a
  // caller that only compares never holds a second copy of the kernel state. On an error, the
  // objects handed over so far are a part of it only. The default reads the whole state, then
  // hands it over.
  virtual Result<KernelState> observeEach(const Sinks& sinks) {
    Result<KernelState> state = observe();
    if (!state) return state;
    for (auto& [key, vs] : state->virtualServers) sinks.virtualServer(std::move(vs));
    state->virtualServers.clear();
    if (sinks.ipsetEntry) {
      while (!state->ipsetEntries.empty())
        sinks.ipsetEntry(
            std::move(state->ipsetEntries.extract(state->ipsetEntries.begin()).value()));
    }
    if (sinks.boundAddress) {
      for (const IpAddress& a : state->boundAddresses) sinks.boundAddress(a);
      state->boundAddresses.clear();
    }
    return state;
  }
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;

  // Dumps every IPVS virtual server with its real servers and counters, the members of the
  // agent's ipsets, and the addresses on kube-ipvs0.
  virtual Result<KernelState> observe() = 0;

  // A reader for full dumps off the applying thread (see KernelReader). Null, the default: the
  // implementation cannot be read concurrently, and the caller dumps with observe().
  virtual std::unique_ptr<KernelReader> openReader() { return nullptr; }

  // Applies the operations in order; see the header comment for the error contract.
  virtual ApplyReport apply(std::span<const Operation> ops) = 0;

  // The real servers of one virtual server with fresh connection counters: graceful
  // termination must not decide on counters from the last full dump. ENOENT if the virtual
  // server is gone. The default reads everything; implementations should do better.
  virtual Result<std::vector<ObservedRealServer>> observeRealServers(const VirtualServerKey& key) {
    auto state = observe();
    if (!state) return state.error();
    auto it = state->virtualServers.find(key);
    if (it == state->virtualServers.end()) return errnoCode(ENOENT);
    return std::move(it->second.realServers);
  }
};

}  // namespace ipvs
