#pragma once
// --dry-run: plan the kernel state for a manifest source and print it, touching nothing.
// The same reconciler as the real agent runs against an empty in-memory kernel, so what is
// printed is exactly what the agent would program on a fresh node.

#include <iosfwd>

#include "agent/flags.h"

namespace agent {

// Prints the IPVS rules (`ipvsadm -Sn` format), the ipset entries (`ipset save` format) and the
// kube-ipvs0 addresses to `out`; rejected objects and diagnostics to `err`. Returns the exit
// code: 0, or 1 if the source could not be read.
int runDryRun(const Options& options, std::ostream& out, std::ostream& err);

}  // namespace agent
