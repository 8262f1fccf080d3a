#pragma once
// The agent's ipsets (docs/kube-proxy-behaviour.md#ipsets) through libipset, in process, no binary.
//
// Purpose: create kube-proxy's 17 sets per family with kube-proxy's exact options (so sets it
//   left behind are adopted by `create -exist`), add and delete members, list the members of the
//   agent's sets, destroy them, and resync one set in full through a temporary set that is
//   swapped in, so the live set is never seen empty.
// Threading: counters() may be read from any thread (relaxed atomics). libipset keeps
//   process-wide state (its type list and a cache of set names), so
//   every IpsetClient of the process must be used from one thread at a time.
// Ownership: owns one `struct ipset` (and through it a netlink session to the kernel), freed by
//   ipset_fini. Move-only. libipset's error and print handlers are replaced at open(), so the
//   library never prints to stdout/stderr and never exit()s the process; everything it says goes
//   to lastError(). Also owns a NETLINK_NETFILTER socket over which apply() pipelines member
//   changes (netlink/ipset_codec.h); entries the codec does not know go through libipset.
// Errors: ipsetCategory() codes (ipset_text.h), mapped to std::errc. Idempotency lives here:
//   adding a present entry, deleting an absent one and destroying a missing set succeed and are
//   counted as idempotent; "in use" is kSetInUse (≈ EBUSY).
// Metrics: counters().

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/address.h"
#include "ipvs/dataplane.h"
#include "ipvs/kernel_objects.h"
#include "ipvs/result.h"
#include "netlink/ipset_text.h"

struct ipset;

namespace netlink {

class NetlinkSocket;
class PackedRequests;

struct IpsetCounters {
  using Counter = std::atomic<std::uint64_t>;
  Counter creates{0};  // create commands that succeeded (incl. -exist no-ops)
  Counter adopted{0};  // existing sets of the right type kept despite other options
  Counter adds{0};     // entries added (single and bulk)
  Counter deletes{0};
  Counter idempotent{0};  // add of present / del of absent / destroy of missing
  Counter destroys{0};
  Counter resyncs{0};         // full resyncs swapped in
  Counter invalidEntries{0};  // entries rejected before or by parsing
  Counter missingSets{0};     // sets list() found absent
  Counter failures{0};        // operations that returned an error
};

struct IpsetResyncReport {
  std::size_t added = 0;
  std::size_t skipped = 0;   // invalid entries left out (one bad Service never blocks the set)
  std::string firstSkipped;  // the first skipped entry and why
};

struct IpsetSetInfo {
  std::string name;
  std::string type;
  std::string family;
};

// One member change of a batch; `entry` stays the caller's for the duration of the call.
struct IpsetChange {
  const ipvs::IpsetEntry* entry = nullptr;
  bool add = true;
};

struct IpsetHandleDeleter {
  void operator()(struct ipset* handle) const noexcept;
};

class IpsetClient {
 public:
  [[nodiscard]] static ipvs::Result<IpsetClient> open();

  IpsetClient(IpsetClient&&) noexcept;
  IpsetClient& operator=(IpsetClient&&) noexcept;
  IpsetClient(const IpsetClient&) = delete;
  IpsetClient& operator=(const IpsetClient&) = delete;
  ~IpsetClient();

  // `create -exist` with kube-proxy's options. A set of the same name and type but other options
  // (e.g. another maxelem) is adopted; another type is kTypeMismatch.
  [[nodiscard]] ipvs::Result<void> createSet(ipvs::IpsetId id, ipvs::Family family);
  // createSet for all 17 sets of the family; stops at the first failure.
  [[nodiscard]] ipvs::Result<void> createAll(ipvs::Family family);

  [[nodiscard]] ipvs::Result<void> add(const ipvs::IpsetEntry& entry);
  [[nodiscard]] ipvs::Result<void> del(const ipvs::IpsetEntry& entry);
  // The changes in order, many per sendmsg, with one result each (idempotent ones are success
  // and counted in the report); a failure affects only its own entry. lastError() names the last
  // entry that failed.
  ipvs::ApplyReport apply(std::span<const IpsetChange> changes);

  // The members of the family's 17 sets. Absent sets count as empty (and in missingSets).
  [[nodiscard]] ipvs::Result<std::set<ipvs::IpsetEntry>> list(ipvs::Family family);
  // The same members, each handed to `each` as it is read; none is held here meanwhile.
  [[nodiscard]] ipvs::Result<void> listEach(ipvs::Family family,
                                            const std::function<void(ipvs::IpsetEntry&&)>& each);
  // Name, type and family of a set, or kSetMissing.
  [[nodiscard]] ipvs::Result<IpsetSetInfo> describe(std::string_view name);

  // Missing is success (idempotent); referenced by iptables is kSetInUse.
  [[nodiscard]] ipvs::Result<void> destroy(ipvs::IpsetId id, ipvs::Family family);
  [[nodiscard]] ipvs::Result<void> destroyAll(ipvs::Family family);  // tries every set

  // Makes the set hold exactly `entries` (the text of each; the family's set of `id`): fills a
  // temporary set, swaps it with the live one and destroys it. Creates the live set if needed.
  [[nodiscard]] ipvs::Result<IpsetResyncReport> resync(ipvs::IpsetId id, ipvs::Family family,
                                                       std::span<const std::string> entries);

  const IpsetCounters& counters() const { return *counters_; }
  // The library's message (or ours) for the last failure, naming the set and entry.
  const std::string& lastError() const { return lastError_; }

  // The library's captured output and messages; used by the C callbacks.
  struct Capture;

 private:
  IpsetClient(std::unique_ptr<struct ipset, IpsetHandleDeleter> handle,
              std::unique_ptr<Capture> capture, std::unique_ptr<NetlinkSocket> socket);

  ipvs::Result<void> run(std::vector<std::string> args, bool exist);
  ipvs::Result<void> createNamed(std::string_view name, ipvs::IpsetId id, ipvs::Family family);
  ipvs::Result<void> destroyNamed(std::string_view name);
  ipvs::Result<void> change(const ipvs::IpsetEntry& entry, bool add);
  // Sends the encoded requests of changes[indexes[i]] and records their results.
  void flush(std::span<const IpsetChange> changes, std::vector<std::size_t>& indexes,
             ipvs::ApplyReport& report);
  void record(const IpsetChange& change, std::error_code& ec, ipvs::ApplyReport& report);
  ipvs::Result<IpsetResyncReport> fill(const std::string& name,
                                       std::span<const std::string> entries);
  std::error_code fail(std::error_code ec, const std::string& context);
  void resetCapture();
  void recordError(std::string message);

  std::unique_ptr<struct ipset, IpsetHandleDeleter> handle_;
  std::unique_ptr<Capture> capture_;
  std::unique_ptr<IpsetCounters> counters_;
  std::unique_ptr<NetlinkSocket> socket_;  // null: every change goes through libipset
  std::unique_ptr<PackedRequests> packed_;
  std::vector<std::uint8_t> scratch_;
  std::string lastError_;
};

}  // namespace netlink
