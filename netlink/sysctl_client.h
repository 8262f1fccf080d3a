#pragma once
// Kernel tunables kube-proxy's IPVS mode sets at start-up (docs/kube-proxy-behaviour.md#sysctls),
// read and written through /proc/sys, plus the kernel-version rule for net/ipv4/vs/conn_reuse_mode.
//
// Threading: one thread at a time; counters() may be read from any thread (relaxed atomics).
// Ownership: opens and closes each /proc/sys file per call (there are only a handful).
// Errors: errno of open/read/write in the generic category; a key that is not a plain relative
//   path ("..", leading "/", odd characters) is invalid_argument and never touches the disk;
//   content that is not an integer is bad_message. lastError() names the key.
// Metrics: counters() — writes done, writes skipped because the value was already right,
//   failures.

#include <atomic>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/result.h"

namespace netlink {

struct KernelVersion {
  unsigned major = 0;
  unsigned minor = 0;
  unsigned patch = 0;

  auto operator<=>(const KernelVersion&) const = default;
};

// "6.1.0-26-cloud-amd64" -> 6.1.0; "5.10" -> 5.10.0; "4.19.0+" -> 4.19.0. Needs at least
// "MAJOR.MINOR" at the start; nullopt otherwise.
std::optional<KernelVersion> parseKernelVersion(std::string_view release);

// The running kernel's version, from uname(2).
ipvs::Result<KernelVersion> runningKernelVersion();

// net/ipv4/vs/conn_reuse_mode exists since 4.1 (torvalds/linux d752c364); kube-proxy sets it to
// 0 below 5.9, where the kernel fixed the 1-second delay of reused connections, and leaves it
// alone from 5.9 on (kubernetes #93297, PR #102122).
inline constexpr KernelVersion kConnReuseModeMinKernel{4, 1, 0};
inline constexpr KernelVersion kConnReuseModeFixedKernel{5, 9, 0};

enum class ConnReuseAction {
  kUnsupported,  // kernel older than 4.1: the sysctl does not exist; log, set nothing
  kSetZero,      // 4.1 <= kernel < 5.9
  kLeaveAsIs,    // kernel >= 5.9
};
ConnReuseAction connReuseModeAction(KernelVersion kernel);

struct SysctlSetting {
  std::string key;  // "net/ipv4/vs/conntrack"
  int value = 0;

  bool operator==(const SysctlSetting&) const = default;
};

// What kube-proxy's NewProxier sets for IPVS mode, in its order.
std::vector<SysctlSetting> ipvsSysctls(KernelVersion kernel, bool strictArp);

struct SysctlCounters {
  using Counter = std::atomic<std::uint64_t>;
  Counter writes{0};
  Counter unchanged{0};
  Counter failures{0};
};

class SysctlClient {
 public:
  // `root` is /proc/sys in production; unit tests point it at a temporary directory.
  explicit SysctlClient(std::string root = "/proc/sys");

  [[nodiscard]] ipvs::Result<int> read(std::string_view key);
  [[nodiscard]] ipvs::Result<void> write(std::string_view key, int value);
  // Writes only when the current value differs (or cannot be read).
  [[nodiscard]] ipvs::Result<void> ensure(std::string_view key, int value);
  // ensure() for each setting, in order; stops at the first failure (kube-proxy does too: a
  // sysctl it cannot set is a start-up error).
  [[nodiscard]] ipvs::Result<void> ensureAll(const std::vector<SysctlSetting>& settings);

  const SysctlCounters& counters() const { return *counters_; }
  const std::string& lastError() const { return lastError_; }

 private:
  ipvs::Result<std::string> pathOf(std::string_view key);
  std::error_code fail(std::error_code ec, std::string message);

  std::string root_;
  std::unique_ptr<SysctlCounters> counters_;
  std::string lastError_;
};

}  // namespace netlink
