#include "agent/conntrack.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <fstream>
#include <sstream>
#include <vector>

#include "netlink/sysctl_client.h"

namespace agent {
namespace {

constexpr std::string_view kHashsizeKey = "module/nf_conntrack/parameters/hashsize";

int onlineCpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 && n < INT_MAX ? static_cast<int>(n) : 1;
}

int seconds(Duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return s > INT_MAX ? INT_MAX : static_cast<int>(s);
}

enum class SysfsState { kWritable, kReadOnly, kUnknown };

// kube-proxy's isSysFSWritable: the first sysfs mount decides, by its first option.
SysfsState sysfsState(const std::string& mountsPath) {
  std::ifstream in(mountsPath);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string device, mountPoint, type, options;
    if (!(fields >> device >> mountPoint >> type >> options) || type != "sysfs") continue;
    return options.substr(0, options.find(',')) == "rw" ? SysfsState::kWritable
                                                        : SysfsState::kReadOnly;
  }
  return SysfsState::kUnknown;
}

class Tuner {
 public:
  Tuner(const Logger& log, const ConntrackEnv& env)
      : log_(log), env_(env), procSys_(env.procSys), sys_(env.sys) {}

  // realConntracker.setIntSysCtl: writes only when the value differs (and, for the maximum,
  // only when it is lower).
  void set(std::string_view name, int value, bool raiseOnly = false) {
    const std::string key = "net/netfilter/" + std::string(name);
    const auto current = procSys_.read(key);
    if (current && (*current == value || (raiseOnly && *current > value))) return;
    log_.info("setting sysctl", {{"entry", key}, {"value", value}});
    if (auto r = procSys_.write(key, value); !r) failed(key, r.error(), procSys_.lastError());
  }

  // The second half of realConntracker.SetMax.
  void hashsize(int max) {
    const auto current = sys_.read(kHashsizeKey);
    if (!current) return failed(std::string(kHashsizeKey), current.error(), sys_.lastError());
    if (*current >= max / 4) return;
    if (sysfsState(env_.mounts) == SysfsState::kReadOnly) return readOnly();
    log_.info("setting conntrack hashsize", {{"hashsize", max / 4}});
    if (auto r = sys_.write(kHashsizeKey, max / 4); !r)
      failed(std::string(kHashsizeKey), r.error(), sys_.lastError());
  }

  bool ok() const { return ok_; }

 private:
  void failed(const std::string& key, std::error_code ec, const std::string& detail) {
    if (ec == std::errc::read_only_file_system) return readOnly();
    log_.error("cannot tune conntrack", {{"entry", key}, {"error", detail}});
    ok_ = false;
  }
  void readOnly() {
    if (readOnlyLogged_) return;
    readOnlyLogged_ = true;
    log_.warn(kConntrackReadOnlyMessage);
  }

  const Logger& log_;
  const ConntrackEnv& env_;
  netlink::SysctlClient procSys_;
  netlink::SysctlClient sys_;
  bool ok_ = true;
  bool readOnlyLogged_ = false;
};

}  // namespace

long long conntrackMax(const ConntrackConfig& config, int cpus) {
  if (config.maxPerCore <= 0) return 0;
  const long long scaled = static_cast<long long>(config.maxPerCore) * cpus;
  return scaled > config.min ? scaled : config.min;
}

bool applyConntrack(const ConntrackConfig& config, const Logger& log, const ConntrackEnv& env) {
  const Logger ctLog = log.withComponent("conntrack");
  Tuner tuner(ctLog, env);
  const long long max = conntrackMax(config, env.cpus > 0 ? env.cpus : onlineCpus());
  if (max > 0) {
    const int value = max > INT_MAX ? INT_MAX : static_cast<int>(max);
    tuner.set("nf_conntrack_max", value, true);
    tuner.hashsize(value);
  }
  if (config.tcpEstablishedTimeout > Duration::zero())
    tuner.set("nf_conntrack_tcp_timeout_established", seconds(config.tcpEstablishedTimeout));
  if (config.tcpCloseWaitTimeout > Duration::zero())
    tuner.set("nf_conntrack_tcp_timeout_close_wait", seconds(config.tcpCloseWaitTimeout));
  if (config.tcpBeLiberal) tuner.set("nf_conntrack_tcp_be_liberal", 1);
  if (config.udpTimeout > Duration::zero())
    tuner.set("nf_conntrack_udp_timeout", seconds(config.udpTimeout));
  if (config.udpStreamTimeout > Duration::zero())
    tuner.set("nf_conntrack_udp_timeout_stream", seconds(config.udpStreamTimeout));
  return tuner.ok();
}

}  // namespace agent
