#pragma once
// --cleanup: removes what the agent owns from the node, and nothing else.
//
// Unlike kube-proxy's cleanup, which flushes every IPVS virtual server on the host, this
// deletes only the virtual servers the ownership rule of ipvs/diff.h marks as the agent's (bound
// on kube-ipvs0 or recorded in its ipsets), never one inside excludeCIDRs, then the kube chains
// and kube-proxy's iptables-mode leftovers, the agent's ipsets, and kube-ipvs0.

#include "agent/flags.h"

namespace agent {

// Returns the exit code: 0 when everything owned is gone, 1 if any step failed.
int runCleanup(const Options& options);

}  // namespace agent
