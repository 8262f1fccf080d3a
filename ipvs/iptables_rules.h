#pragma once
// The iptables side of kube-proxy's IPVS mode (docs/kube-proxy-behaviour.md), as a
// pure function from a few inputs to `iptables-restore` text, plus the readers of
// `iptables-save` text that decide which jumps are missing and what a cleanup must remove.
//
// Why restore text: one `iptables-restore --noflush` per family rewrites every kube chain
// atomically. Declaring `:CHAIN - [0:0]` flushes that chain under --noflush, so the chain
// contents are replaced, while chains of other owners are left alone. Jumps from the built-in
// chains cannot be "ensured" that way (a second restore would add a second copy), so they are
// rendered only when missingJumps() does not find them in the current save text.
//
// The rule count depends on which sets are non-empty, not on the number of Services (the only
// exception, as upstream, is one OUT-FILTER drop per LoadBalancer IP and port whose source
// ranges exclude the node).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/address.h"
#include "ipvs/kernel_objects.h"
#include "ipvs/node_context.h"

namespace ipvs {

// A LoadBalancer IP:port/proto that must not be reachable from the node itself, because the
// node's IP is outside the loadBalancerSourceRanges (docs/kube-proxy-behaviour.md#source-ranges).
struct LbNoNodeAccess {
  IpAddress address;
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;

  bool operator==(const LbNoNodeAccess&) const = default;
};

struct IptablesRuleInputs {
  Family family = Family::kV4;
  bool masqueradeAll = false;
  // Tells local pod traffic apart (any detect-local-mode); none: node-originated traffic from a
  // VIP is masqueraded instead
  // (docs/kube-proxy-behaviour.md#masquerading-masqueradeall-clustercidr-detect-local).
  LocalDetector localDetector;
  unsigned masqueradeBit = 14;  // mark 1 << bit; 0..31
  // Which of the agent's ipsets (of `family`) currently hold members, indexed by IpsetId.
  // Rules matching an empty set are omitted, as upstream does.
  std::array<bool, kIpsetCount> nonEmpty{};
  std::vector<LbNoNodeAccess> lbNoNodeAccess;
  bool randomFully = false;  // iptables and kernel support MASQUERADE --random-fully

  bool operator==(const IptablesRuleInputs&) const = default;
};

struct KubeChain {
  std::string_view table;  // "nat" or "filter"
  std::string_view chain;
};

// A jump from a built-in chain into one of ours (kube-proxy's iptablesJumpChain).
struct JumpRule {
  std::string_view table;
  std::string_view from;  // built-in chain
  std::string_view to;    // our chain
  std::string_view comment;
};

std::span<const KubeChain> kubeChains();  // nat first, in declaration order
std::span<const JumpRule> jumpRules();

std::string masqueradeMark(unsigned bit);  // "0x4000" for 14

// The chain declarations and rules for tables nat and filter, each ending in COMMIT, without
// jumps from the built-in chains.
std::string renderRules(const IptablesRuleInputs& in);

// renderRules() plus `-I <builtin> 1 ...` for each of `missing`, inside the right table, so a
// single restore creates the chains before the jumps that reference them.
std::string renderRestore(const IptablesRuleInputs& in, std::span<const JumpRule> missing);

// The jump as `iptables-save` prints it: -A OUTPUT -m comment --comment "..." -j KUBE-SERVICES
std::string jumpSaveLine(const JumpRule& jump);

// The jumps of jumpRules() that `saveText` (output of iptables-save, all tables or some) does
// not contain. A table absent from the text counts as having none of them.
std::vector<JumpRule> missingJumps(std::string_view saveText);

// ---- cleanup (docs/kube-proxy-behaviour.md#cleanup) ----

struct CleanupScope {
  bool ipvsChains = true;          // the chains of kubeChains()
  bool iptablesModeChains = true;  // kube-proxy iptables-mode leftovers (KUBE-SVC-*, ...)
};

// Restore text that removes the chosen chains found in `saveText`: every rule in another chain
// that jumps to one of them is deleted (-D with the saved rule), then each is flushed and
// deleted (-X). Chains of other owners, including kubelet's KUBE-FIREWALL, KUBE-MARK-DROP and
// KUBE-KUBELET-CANARY, are never touched. Empty string when there is nothing to remove.
std::string renderCleanup(std::string_view saveText, CleanupScope scope);

// ---- iptables-save text ----

struct SavedRule {
  std::string chain;
  std::string target;               // after -j or -g; empty when none
  std::string spec;                 // everything after "-A <chain> ", as saved
  std::vector<std::string> tokens;  // spec split like a shell would (quotes removed)
};

struct SavedTable {
  std::string name;
  std::vector<std::string> chains;  // in declaration order, built-in ones included
  std::vector<SavedRule> rules;     // in order
};

// Tolerates counters ("[1:2] -A ..."), comments and blank lines; lines it does not understand
// are skipped.
std::vector<SavedTable> parseSave(std::string_view saveText);

// Splits a rule the way iptables-restore does: whitespace separated, double quotes group,
// backslash escapes inside quotes.
std::vector<std::string> splitRuleTokens(std::string_view spec);

}  // namespace ipvs
