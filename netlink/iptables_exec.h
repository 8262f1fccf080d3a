#pragma once
// Runs one external tool (iptables-restore, iptables-save) without a shell: posix_spawnp with
// stdin fed from memory and stdout/stderr captured, under a wall-clock limit.
//
// Threading: runProcess is reentrant; it blocks the calling thread until the child is reaped.
// Ownership: every fd it opens is O_CLOEXEC and closed before it returns; the child is always
//   reaped (killed with SIGKILL on timeout), so no zombie or fd outlives the call.
// Errors: a spawn failure (binary missing: ENOENT, ...) is the errno in the generic category.
//   A child that ran is a success at this level: its exit status, signal, timeout and output are
//   in ProcessResult for the caller to judge.
// Signals: stdin is a socketpair written with MSG_NOSIGNAL, so a child that exits without
//   reading never raises SIGPIPE in the agent; the child starts with default signal dispositions
//   and an empty signal mask.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/result.h"

namespace netlink {

struct ProcessLimits {
  std::chrono::milliseconds timeout{30000};
  std::size_t maxStdout = 256u * 1024 * 1024;  // beyond this the output is cut (truncated=true)
  std::size_t maxStderr = 64u * 1024;
};

struct ProcessResult {
  int exitStatus = -1;  // 0..255 when the child exited, -1 when a signal ended it
  int signal = 0;       // the signal that ended it, 0 when it exited
  bool timedOut = false;
  bool truncated = false;  // stdout or stderr hit its limit
  std::string out;
  std::string err;

  bool ok() const { return exitStatus == 0 && !timedOut; }
};

// argv[0] is looked up in PATH (posix_spawnp). Empty argv is invalid_argument.
[[nodiscard]] ipvs::Result<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                                     std::string_view stdinText,
                                                     const ProcessLimits& limits = {});

}  // namespace netlink
