#pragma once
// The ipvs::IptablesPort on the host: applies the rendered kube chains (ipvs/iptables_rules.h)
// with iptables-restore and reads the tables back with iptables-save, for IPv4 (iptables-*) and
// IPv6 (ip6tables-*).
//
// One sync is: save (to learn which jumps from built-in chains are missing), then one
// `iptables-restore -w N --noflush --counters` with every kube chain and only the missing jumps.
// Nothing is flushed that is not ours, and running it twice changes nothing. The iptables-mode
// cleanup that follows a sync reuses that sync's save when it held no iptables-mode leftovers
// (our restore never adds any), which saves one iptables-save per family on the first sync.
// prefetch() takes the first sync's save ahead of it, while the agent's first list runs.
//
// Threading: one thread at a time per runner; counters() may be read from any thread (relaxed
//   atomics). The xtables lock (-w) serialises us with every
//   other iptables user on the host.
// Ownership: no state but the configuration and counters; each call spawns and reaps its tool.
// Errors: a tool that exits non-zero is iptablesCategory() kToolFailed (≈ io_error), a timeout
//   kTimedOut (≈ timed_out), a signal kKilled (≈ interrupted); a binary that cannot be spawned is
//   its errno. lastError() holds the command and the tool's stderr.
// Metrics: counters() — restores, restore failures (kube-proxy's
//   sync_proxy_rules_iptables_restore_failures_total), saves, save failures.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "ipvs/address.h"
#include "ipvs/iptables_port.h"
#include "ipvs/iptables_rules.h"
#include "ipvs/result.h"

namespace netlink {

enum class IptablesError {
  kToolFailed = 1,
  kTimedOut = 2,
  kKilled = 3,
};
const std::error_category& iptablesCategory();
std::error_code make_error_code(IptablesError e);

struct IptablesTools {
  // Looked up in PATH unless absolute. The nft or legacy variant is whatever these name.
  std::string restore4 = "iptables-restore";
  std::string save4 = "iptables-save";
  std::string restore6 = "ip6tables-restore";
  std::string save6 = "ip6tables-save";
  std::string version4 = "iptables";  // for --version
  int lockWaitSeconds = 5;            // -w: wait this long for the xtables lock
  std::chrono::milliseconds timeout{60000};
};

struct IptablesCounters {
  using Counter = std::atomic<std::uint64_t>;
  Counter restores{0};
  Counter restoreFailures{0};
  Counter saves{0};
  Counter saveFailures{0};
};

// "iptables v1.8.9 (nf_tables)" -> true when >= 1.6.2, the first with MASQUERADE
// --random-fully (kube-proxy's HasRandomFully). False for anything it cannot read.
bool versionSupportsRandomFully(std::string_view versionOutput);

class IptablesRunner final : public ipvs::IptablesPort {
 public:
  explicit IptablesRunner(IptablesTools tools = {});

  // iptables-restore -w N --noflush --counters, `text` on stdin.
  [[nodiscard]] ipvs::Result<void> restore(ipvs::Family family, std::string_view text);
  // iptables-save of every table, or of one (-t).
  [[nodiscard]] ipvs::Result<std::string> save(ipvs::Family family, std::string_view table = {});

  // Reads the current jumps, then restores every kube chain of `in` plus the missing jumps.
  // That is one iptables-save and one iptables-restore per call; a caller that syncs often can
  // instead keep the result of ipvs::missingJumps() and call restore(renderRestore(...)) itself,
  // re-reading only after a failure or on the periodic resync.
  [[nodiscard]] ipvs::Result<void> sync(const ipvs::IptablesRuleInputs& in) override;
  // Runs the save the next sync() of `family` starts with now, so that sync() only restores.
  // The agent calls it while its first list runs, to take one tool run off the cold start. A
  // save older than kPrefetchMaxAge is not used (sync() saves again), nor one that failed: it
  // could miss a jump deleted since, or count one twice.
  void prefetch(ipvs::Family family);
  static constexpr std::chrono::seconds kPrefetchMaxAge{10};
  // Removes what renderCleanup() finds for `scope` in the family's tables (no-op when nothing).
  [[nodiscard]] ipvs::Result<void> cleanup(ipvs::Family family, ipvs::CleanupScope scope) override;

  // Runs `iptables --version` and applies versionSupportsRandomFully().
  [[nodiscard]] ipvs::Result<bool> supportsRandomFully() override;

  const IptablesCounters& counters() const { return *counters_; }
  const std::string& lastError() const { return lastError_; }

 private:
  std::error_code judge(const std::string& what, std::error_code spawnError, int exitStatus,
                        int signal, bool timedOut, const std::string& err);

  IptablesTools tools_;
  std::unique_ptr<IptablesCounters> counters_;
  // Per family (v4, v6): the last sync() succeeded and its save had no iptables-mode leftovers.
  // Taken (and cleared) by the next iptables-mode-only cleanup() of the family.
  std::array<bool, 2> cleanSinceSync_{};
  struct Prefetched {
    std::string text;
    std::chrono::steady_clock::time_point taken;
  };
  std::array<std::optional<Prefetched>, 2> prefetched_;  // per family, taken by the next sync()
  std::string lastError_;
};

}  // namespace netlink

namespace std {
template <>
struct is_error_code_enum<netlink::IptablesError> : true_type {};
}  // namespace std
