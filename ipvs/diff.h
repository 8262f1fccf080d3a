#pragma once
// diff(desired, observed) -> an ordered plan of kernel operations. Pure.
//
// Ownership (the plan never edits or deletes what the agent does not own): a virtual server is
// owned if it is desired, or its address is bound on kube-ipvs0, or one of the agent's ipsets
// marks it: "addr,proto:port" in KUBE-CLUSTER-IP / KUBE-EXTERNAL-IP(-LOCAL) /
// KUBE-LOAD-BALANCER, its port in KUBE-NODE-PORT-TCP/UDP, or "addr,sctp:port" in
// KUBE-NODE-PORT-SCTP-HASH (KUBE-6-* for IPv6). The ipset markers go beyond the bound-address
// rule so that an externalIP VS whose address lives on another interface (never bound) is still
// recognised as ours after a restart; since the plan deletes a VS before its marker, a VS never
// outlives its marker. A VS inside excludeCIDRs is never touched, not even its real servers,
// even if desired (then it is listed in Plan::excludedDesired), and an address inside them is
// never unbound. Virtual servers, entries and addresses of families not in
// DiffOptions::families are never touched (an empty list touches nothing).
//
// Order: ipset adds; then per VS (those in the kernel in key order, then new ones in key
// order): its add or in-place edit (only scheduler/flags/timeout/netmask differ; kFlagHashed
// ignored), then its real-server adds and edits (a weight-0 RS being re-added is deleted just
// before its add); address binds (so an address attracts
// traffic only once its VS is ready); RS weight-0 edits and deletes; unbinds; VS deletes (each
// takes its RS); ipset deletes.
//
// Graceful termination (docs/kube-proxy-behaviour.md#graceful-termination): an undesired RS of a
// kept VS is deleted at once, unless the VS is TCP and the RS has ActiveConn+InactConn > 0: then it
// is set to weight 0 (if not already) and listed in Plan::draining, until the counters reach 0 or
// DiffOptions::drainExpired says its deadline passed. UDP and SCTP real servers are deleted at
// once. A desired RS found at weight 0 (a drain that came back) is deleted and re-added with weight
// 1, as kube-proxy does (MoveRSOutofGracefulDeleteList); the kernel revives it from its dest trash,
// so live connections survive. With DiffOptions::resetWeights (the first sync after start,
// kube-proxy's initialSync) it is edited back instead. Any other drift is edited in place.
//
// diffKeys() looks only at the given keys, so its cost follows the change, not the cluster.
// Draining real servers are re-examined only when their VS key is passed again: the agent puts
// the VS keys of Plan::draining into the ChangedKeys of its periodic drain check.

#include <cstdint>
#include <functional>
#include <vector>

#include "ipvs/desired_state.h"
#include "ipvs/kernel_objects.h"
#include "ipvs/operation.h"

namespace ipvs {

struct DiffOptions {
  std::vector<Cidr> excludeCIDRs;
  std::vector<Family> families;  // families the agent handles; others are never touched
  bool resetWeights = false;     // first sync after start: edit desired weight-0 RS back
  // True if the drain of this RS has lasted past the configured limit: delete it even with
  // connections. The agent owns the clock; the planner only asks. Null: nothing expired.
  std::function<bool(const VirtualServerKey&, const RealServerKey&)> drainExpired;
};

struct DrainingRealServer {
  VirtualServerKey virtualServer;
  RealServerKey realServer;
  std::uint32_t activeConns = 0;
  std::uint32_t inactiveConns = 0;

  bool operator==(const DrainingRealServer&) const = default;
};

struct Plan {
  std::vector<Operation> operations;
  std::vector<DrainingRealServer> draining;       // kept at weight 0 for their connections
  std::vector<VirtualServerKey> excludedDesired;  // desired but inside excludeCIDRs: left alone
};

// Takes the plan's operations in order, a chunk at a time, while the diff still runs, so a large
// plan (the first sync at 10k Services is 140k operations) is never held whole. The diff hands
// over chunks of at least `chunk` operations only while it adds the virtual servers and the
// addresses the kernel lacks (where a large plan's volume is): by then it holds no iterator
// into `observed`, and no decision left to make reads what those chunks change (the real servers
// to keep and the virtual servers owned are decided before). So the sink may apply a chunk and
// update `observed` (the caller's mirror) at once, and the plan stays exactly the one diff()
// returns without a sink. What is left when the diff ends is returned in Plan::operations.
struct PlanSink {
  std::size_t chunk = 4096;
  std::function<void(std::vector<Operation>& operations)> take;
};

// With a sink, the operations go to it as above; the Plan keeps the rest, and all of draining
// and excludedDesired.
Plan diff(const DesiredState& desired, const KernelState& observed, const DiffOptions& options,
          const PlanSink* sink = nullptr);
Plan diffKeys(const DesiredState& desired, const KernelState& observed, const DiffOptions& options,
              const ChangedKeys& changed);

// The ownership rule above, without the "desired" part.
bool ownedByMarkers(const KernelState& observed, const VirtualServerKey& key);

}  // namespace ipvs
