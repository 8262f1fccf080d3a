#include "agent/metrics_process.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace agent {

namespace {

std::optional<double> toNumber(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string readSmallFile(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> openFds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  if (ec) return std::nullopt;
  return n;
}

struct ProcessGauges {
  Counter& cpu;
  Gauge& resident;
  Gauge& virtualMemory;
  Gauge& openFds;
  Gauge& maxFds;
  Gauge& startTime;
};

void collect(ProcessGauges& g) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (auto stat = parseProcStat(readSmallFile("/proc/self/stat"), ticks, page)) {
    g.cpu.inc(stat->cpuSeconds - g.cpu.value());
    g.resident.set(stat->residentBytes);
    g.virtualMemory.set(stat->virtualBytes);
    if (auto boot = parseBootTime(readSmallFile("/proc/stat")))
      g.startTime.set(*boot + stat->startTicks / ticks);
  }
  if (auto fds = openFds()) g.openFds.set(*fds);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) g.maxFds.set(static_cast<double>(limit.rlim_cur));
}

}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view text, double ticksPerSecond,
                                      double pageSize) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || ticksPerSecond <= 0) return std::nullopt;
  // Fields after the command, numbered from 3 (state) as in proc(5).
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  auto field = [&](std::size_t number) -> std::optional<double> {
    return number - 3 < fields.size() ? toNumber(fields[number - 3]) : std::nullopt;
  };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23),
             rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{(*utime + *stime) / ticksPerSecond, *vsize, *rss * pageSize, *start};
}

std::optional<double> parseBootTime(std::string_view procStat) {
  constexpr std::string_view kKey = "btime ";
  for (std::size_t pos = 0; pos < procStat.size();) {
    auto end = procStat.find('\n', pos);
    if (end == std::string_view::npos) end = procStat.size();
    const auto line = procStat.substr(pos, end - pos);
    if (line.starts_with(kKey)) return toNumber(line.substr(kKey.size()));
    pos = end + 1;
  }
  return std::nullopt;
}

void registerProcessMetrics(MetricsRegistry& r) {
  // Help texts as client_golang's process collector writes them.
  auto gauges = std::make_shared<ProcessGauges>(ProcessGauges{
      r.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
      r.gauge("process_resident_memory_bytes", "Resident memory size in bytes."),
      r.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes."),
      r.gauge("process_open_fds", "Number of open file descriptors."),
      r.gauge("process_max_fds", "Maximum number of open file descriptors."),
      r.gauge("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.")});
  r.addCollector([gauges] { collect(*gauges); });
}

}  // namespace agent
