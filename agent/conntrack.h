#pragma once
// Conntrack tuning at start-up, as kube-proxy's setupConntrack (cmd/kube-proxy/app/
// server_linux.go) and realConntracker (cmd/kube-proxy/app/conntrack.go) do it:
//   - net/netfilter/nf_conntrack_max = max(maxPerCore x CPUs, min) when maxPerCore > 0, raised
//     but never lowered; then the hash table (/sys/module/nf_conntrack/parameters/hashsize) is
//     raised to max/4 when it is smaller and sysfs is mounted read-write;
//   - nf_conntrack_tcp_timeout_established / _close_wait when the timeout is > 0;
//   - nf_conntrack_tcp_be_liberal = 1 when tcpBeLiberal;
//   - nf_conntrack_udp_timeout / _udp_timeout_stream when > 0.
//
// Threading: start-up only (the agent and --init-only call it once).
// Ownership: every file is opened and closed per access, through netlink::SysctlClient.
// Errors: a read-only /proc/sys or /sys for the limits is not fatal: one warning with
//   kube-proxy's own message (it sends it as a Node event), and the rest still runs. Any other
//   failure is logged per key (component=conntrack) and makes applyConntrack return false.
//   A value that is already right is never written, so a read-only /proc/sys whose values an
//   init container already set causes no warning at all.

#include <string>

#include "agent/config.h"
#include "agent/log.h"

namespace agent {

// Where the files live and how many CPUs there are; tests point the paths at a temporary tree.
struct ConntrackEnv {
  std::string procSys = "/proc/sys";
  std::string sys = "/sys";
  std::string mounts = "/proc/mounts";  // to tell a read-only sysfs, as kube-proxy does
  int cpus = 0;                         // 0: the online CPUs of the host
};

// kube-proxy's getConntrackMax: 0 means leave nf_conntrack_max alone.
long long conntrackMax(const ConntrackConfig& config, int cpus);

// kube-proxy's message when the conntrack limits cannot be modified (read-only /sys or
// /proc/sys); it is the one line logged in that case.
inline constexpr std::string_view kConntrackReadOnlyMessage =
    "CRI error: /sys is read-only: cannot modify conntrack limits, problems may arise later (If "
    "running Docker, see docker issue #24000)";

// Applies `config`; true when nothing failed (a read-only file system counts as no failure).
bool applyConntrack(const ConntrackConfig& config, const Logger& log, const ConntrackEnv& env = {});

}  // namespace agent
