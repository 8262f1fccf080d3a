#include "agent/config.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace agent {
namespace {

using Errors = std::vector<std::string>;

constexpr std::array<std::string_view, 14> kKernelSchedulers = {
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"};

void add(Errors& out, std::string_view field, std::string_view message) {
  out.push_back(std::string(field) + ": " + std::string(message));
}

std::string quoted(std::string_view v) { return "\"" + std::string(v) + "\""; }

std::optional<ipvs::Cidr> parseStrictCidr(std::string_view text) {
  // A bare IP is not a CIDR here (Go's net.ParseCIDR requires the prefix length).
  if (text.find('/') == std::string_view::npos) return std::nullopt;
  return ipvs::Cidr::parse(text);
}

std::vector<std::string_view> splitComma(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

void checkPeriods(Errors& errs, std::string_view prefix, Duration sync, Duration minSync) {
  const std::string p(prefix);
  if (sync <= Duration::zero()) add(errs, p + ".syncPeriod", "must be greater than 0");
  if (minSync < Duration::zero()) {
    add(errs, p + ".minSyncPeriod", "must be greater than or equal to 0");
  }
  if (minSync > sync) {
    add(errs, p + ".minSyncPeriod",
        "must be less than or equal to " + p + ".syncPeriod (" + formatGoDuration(minSync) + " > " +
            formatGoDuration(sync) + ")");
  }
}

void checkNonNegative(Errors& errs, std::string_view field, Duration d) {
  if (d < Duration::zero()) add(errs, field, "must be greater than or equal to 0");
}

void checkHostPort(Errors& errs, std::string_view field, const std::string& value) {
  if (value.empty()) return;  // disables the server
  const auto parsed = parseBindAddress(value);
  if (!parsed) {
    add(errs, field, "must be IP:port, got " + quoted(value));
  } else if (parsed->port == 0) {
    add(errs, field, "must have a port in 1..65535, got " + quoted(value));
  }
}

void checkClusterCidr(Errors& errs, const std::string& value) {
  if (value.empty()) return;
  const auto parts = splitComma(value);
  if (parts.size() > 2) {
    add(errs, "clusterCIDR", "only one CIDR or a dual-stack pair allowed, got " + quoted(value));
    return;
  }
  std::vector<ipvs::Cidr> cidrs;
  for (auto part : parts) {
    const auto cidr = parseStrictCidr(part);
    if (!cidr) {
      add(errs, "clusterCIDR",
          "must be a valid CIDR block (e.g. 10.100.0.0/16), got " + quoted(part));
      return;
    }
    cidrs.push_back(*cidr);
  }
  if (cidrs.size() == 2 && cidrs[0].family() == cidrs[1].family()) {
    add(errs, "clusterCIDR", "two CIDRs must be one IPv4 and one IPv6, got " + quoted(value));
  }
}

void checkCidrList(Errors& errs, std::string_view field, const std::vector<std::string>& list,
                   bool keywords) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string& v = list[i];
    if (keywords && (v == "primary" || v == "all" || v == "localhost")) continue;
    if (!parseStrictCidr(v)) {
      add(errs, std::string(field) + "[" + std::to_string(i) + "]",
          "must be a valid IP block (CIDR)" +
              std::string(keywords ? " or one of primary, all, localhost" : "") + ", got " +
              quoted(v));
    }
  }
}

bool validPort(std::string_view s) {
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc{} && ptr == s.data() + s.size() && value <= 65535;
}

void checkPortRange(Errors& errs, const std::string& value) {
  if (value.empty()) return;
  const std::size_t sep = value.find_first_of("-+");
  const bool ok = sep == std::string::npos ? validPort(value)
                                           : validPort(std::string_view(value).substr(0, sep)) &&
                                                 validPort(std::string_view(value).substr(sep + 1));
  if (!ok)
    add(errs, "portRange", "must be a valid port range (e.g. 300-2000), got " + quoted(value));
}

void checkMode(Errors& errs, const std::string& mode) {
  if (mode.empty() || mode == "ipvs") return;
  if (mode == "iptables" || mode == "nftables" || mode == "kernelspace" || mode == "userspace") {
    add(errs, "mode",
        quoted(mode) +
            " is not supported: ipvs-agent implements kube-proxy's IPVS mode only. Set mode to "
            "\"ipvs\" (or leave it empty), or keep running kube-proxy for " +
            mode + " mode");
    return;
  }
  add(errs, "mode", "must be \"ipvs\" or empty, got " + quoted(mode));
}

void checkDetectLocal(Errors& errs, const Config& c) {
  const std::string mode = effectiveDetectLocalMode(c);
  if (mode == "ClusterCIDR" || mode == "NodeCIDR") return;
  if (mode == "BridgeInterface") {
    if (c.detectLocal.bridgeInterface.empty()) {
      add(errs, "detectLocal.bridgeInterface",
          "must be set when detectLocalMode is BridgeInterface");
    }
    return;
  }
  if (mode == "InterfaceNamePrefix") {
    if (c.detectLocal.interfaceNamePrefix.empty()) {
      add(errs, "detectLocal.interfaceNamePrefix",
          "must be set when detectLocalMode is InterfaceNamePrefix");
    }
    return;
  }
  add(errs, "detectLocalMode",
      "must be one of ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix, got " +
          quoted(mode));
}

void checkIpvs(Errors& errs, Errors& warns, const IpvsConfig& ipvsCfg) {
  checkPeriods(errs, "ipvs", ipvsCfg.syncPeriod, ipvsCfg.minSyncPeriod);
  checkNonNegative(errs, "ipvs.tcpTimeout", ipvsCfg.tcpTimeout);
  checkNonNegative(errs, "ipvs.tcpFinTimeout", ipvsCfg.tcpFinTimeout);
  checkNonNegative(errs, "ipvs.udpTimeout", ipvsCfg.udpTimeout);
  checkCidrList(errs, "ipvs.excludeCIDRs", ipvsCfg.excludeCIDRs, false);
  if (!ipvsCfg.scheduler.empty() && !isKnownScheduler(ipvsCfg.scheduler)) {
    add(warns, "ipvs.scheduler",
        quoted(ipvsCfg.scheduler) +
            " is not a scheduler of the Linux kernel (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, "
            "nq, fo, ovf, mh, twos); virtual servers will fail unless a module provides it");
  }
}

void checkConntrack(Errors& errs, const ConntrackConfig& ct) {
  if (ct.maxPerCore < 0) add(errs, "conntrack.maxPerCore", "must be greater than or equal to 0");
  if (ct.min < 0) add(errs, "conntrack.min", "must be greater than or equal to 0");
  checkNonNegative(errs, "conntrack.tcpEstablishedTimeout", ct.tcpEstablishedTimeout);
  checkNonNegative(errs, "conntrack.tcpCloseWaitTimeout", ct.tcpCloseWaitTimeout);
  checkNonNegative(errs, "conntrack.udpTimeout", ct.udpTimeout);
  checkNonNegative(errs, "conntrack.udpStreamTimeout", ct.udpStreamTimeout);
}

// Upstream's gate registry (k8s.io/component-base/featuregate) rejects a name it does not know.
void checkFeatureGates(Errors& errs, const Config& c) {
  for (const auto& [gate, enabled] : c.featureGates) {
    if (!isKnownFeatureGate(gate)) {
      add(errs, "featureGates", "unrecognized feature gate: " + gate);
    }
  }
}

}  // namespace

bool isKnownScheduler(std::string_view name) {
  return std::find(kKernelSchedulers.begin(), kKernelSchedulers.end(), name) !=
         kKernelSchedulers.end();
}

std::string effectiveScheduler(const Config& config) {
  return config.ipvs.scheduler.empty() ? "rr" : config.ipvs.scheduler;
}

std::string effectiveDetectLocalMode(const Config& config) {
  return config.detectLocalMode.empty() ? "ClusterCIDR" : config.detectLocalMode;
}

std::optional<BindAddress> parseBindAddress(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  const auto ip = ipvs::IpAddress::parse(host);
  if (!ip || port.empty() || !validPort(port)) return std::nullopt;
  unsigned value = 0;
  std::from_chars(port.data(), port.data() + port.size(), value);
  return BindAddress{*ip, static_cast<std::uint16_t>(value)};
}

ConfigDiagnostics validateConfig(const Config& c) {
  ConfigDiagnostics d;
  Errors& errs = d.errors;
  checkMode(errs, c.mode);
  checkIpvs(errs, d.warnings, c.ipvs);
  if (c.iptables.masqueradeBit < 0 || c.iptables.masqueradeBit > 31) {
    add(errs, "iptables.masqueradeBit",
        "must be within the range [0, 31], got " + std::to_string(c.iptables.masqueradeBit));
  }
  checkPeriods(errs, "iptables", c.iptables.syncPeriod, c.iptables.minSyncPeriod);
  checkConntrack(errs, c.conntrack);
  if (c.clientConnection.burst < 0) {
    add(errs, "clientConnection.burst", "must be greater than or equal to 0");
  }
  if (c.clientConnection.qps < 0)
    add(errs, "clientConnection.qps", "must be greater than or equal to 0");
  if (c.oomScoreAdj < -1000 || c.oomScoreAdj > 1000) {
    add(errs, "oomScoreAdj",
        "must be within the range [-1000, 1000], got " + std::to_string(c.oomScoreAdj));
  }
  if (c.configSyncPeriod <= Duration::zero())
    add(errs, "configSyncPeriod", "must be greater than 0");
  if (!ipvs::IpAddress::parse(c.bindAddress)) {
    add(errs, "bindAddress",
        "not a valid textual representation of an IP address, got " + quoted(c.bindAddress));
  }
  checkHostPort(errs, "healthzBindAddress", c.healthzBindAddress);
  checkHostPort(errs, "metricsBindAddress", c.metricsBindAddress);
  checkClusterCidr(errs, c.clusterCIDR);
  checkDetectLocal(errs, c);
  checkCidrList(errs, "nodePortAddresses", c.nodePortAddresses, true);
  checkPortRange(errs, c.portRange);
  if (c.logging.verbosity < 0) add(errs, "logging.verbosity", "must be greater than or equal to 0");
  checkNonNegative(errs, "ipvsAgent.gracefulTerminationTimeout",
                   c.agent.gracefulTerminationTimeout);
  checkFeatureGates(errs, c);
  return d;
}

}  // namespace agent
