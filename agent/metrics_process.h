#pragma once
// The process_* metrics client_golang's process collector exports (kube-proxy has them, and
// kube-prometheus's dashboards read process_resident_memory_bytes and
// process_cpu_seconds_total): CPU time, resident and virtual memory, open and maximum file
// descriptors, start time. Read from /proc/self at every scrape.
// Threading: the collector runs inside MetricsRegistry::render(), on the scraping thread.
// Errors: a /proc file that cannot be read or parsed leaves the previous values; the scrape
// still succeeds.

#include <optional>
#include <string_view>

#include "agent/metrics_registry.h"

namespace agent {

struct ProcStat {
  double cpuSeconds = 0;     // utime + stime
  double virtualBytes = 0;   // vsize
  double residentBytes = 0;  // rss pages * page size
  double startTicks = 0;     // starttime, clock ticks after boot
};

// /proc/[pid]/stat, whose second field (the command, in parentheses) may hold spaces and ')'.
std::optional<ProcStat> parseProcStat(std::string_view text, double ticksPerSecond,
                                      double pageSize);
// The "btime" line of /proc/stat: boot time, seconds since the epoch.
std::optional<double> parseBootTime(std::string_view procStat);

// Registers the six process_* families and the collector that refreshes them.
void registerProcessMetrics(MetricsRegistry& registry);

}  // namespace agent
