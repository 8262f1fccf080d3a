#pragma once
// The agent's long-running modes: watching the API server (the default) or a manifest source
// (--source without --dry-run), programming the kernel until SIGTERM or SIGINT.

#include "agent/flags.h"

namespace agent {

// Returns the process exit code: 0 after a clean stop, 1 if start-up failed.
int runAgent(const Options& options);

// --init-only: the privileged part of start-up (load ip_vs, set the sysctls), then exit.
int runInitOnly(const Options& options);

}  // namespace agent
