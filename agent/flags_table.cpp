#include "agent/flags_table.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace agent {
namespace {

using R = Resolution;
using V = const std::string&;

bool toBool(V v) {
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}
Duration toDuration(V v) { return parseGoDuration(v).value_or(Duration::zero()); }
std::int32_t toInt(V v) { return parseInt32(v).value_or(0); }
float toFloat(V v) {
  double d = 0;
  std::from_chars(v.data(), v.data() + v.size(), d);
  return static_cast<float>(d);
}
void setList(std::vector<std::string>& list, V v, bool first) {
  if (first) list.clear();
  for (auto& item : splitList(v)) list.push_back(std::move(item));
}
// Go's IPPortVar accepts a bare IP; the server's default port is added here.
std::string withPort(V v, std::uint16_t port) {
  if (v.empty() || parseBindAddress(v)) return v;
  const bool v6 = v.find(':') != std::string::npos;
  return (v6 ? "[" + v + "]" : v) + ":" + std::to_string(port);
}

constexpr FlagKind S = FlagKind::kString, B = FlagKind::kBool, D = FlagKind::kDuration,
                   I = FlagKind::kInt32, L = FlagKind::kStringList;
constexpr FlagScope kOpt = FlagScope::kOption, kCfg = FlagScope::kConfig,
                    kOver = FlagScope::kOverFile, kIgn = FlagScope::kIgnored;

const std::array kFlags = std::to_array<FlagSpec>({
    // --- not configuration fields ---
    {"config", S, kOpt, "",
     "Path to a KubeProxyConfiguration (v1alpha1) file; it wins over most flags.",
     [](R& r, V v, bool) { r.opts.configFile = v; }},
    {"write-config-to", S, kOpt, "",
     "Write the effective configuration as YAML to this file and exit.",
     [](R& r, V v, bool) { r.opts.writeConfigTo = v; }},
    {"cleanup", B, kOpt, "false", "Remove what the agent (and kube-proxy) programmed, then exit.",
     [](R& r, V v, bool) { r.opts.cleanup = toBool(v); }},
    {"init-only", B, kOpt, "false", "Do the privileged initialisation (sysctls), then exit.",
     [](R& r, V v, bool) { r.opts.initOnly = toBool(v); }},
    {"master", S, kOpt, "", "Kubernetes API server address (overrides the kubeconfig's server).",
     [](R& r, V v, bool) { r.opts.master = v; }},
    {"help", B, kOpt, "", "Print this help and exit.",
     [](R& r, V v, bool) { r.opts.help = toBool(v); }},
    {"version", B, kOpt, "", "Print the version and exit.",
     [](R& r, V v, bool) { r.opts.version = toBool(v); }},
    // --- over the file: node name, logging, ipvs-agent's own ---
    {"hostname-override", S, kOver, "", "Node name to use instead of the hostname (lower-cased).",
     [](R& r, V v, bool) { r.hostnameOverride = v; }},
    {"v", I, kOver, "0", "Log verbosity (klog levels); also -v N.",
     [](R& r, V v, bool) { r.opts.config.logging.verbosity = toInt(v); }},
    {"logging-format", S, kOver, "text", "Log format; only text (key=value lines) is produced.",
     [](R& r, V v, bool) { r.opts.config.logging.format = v; }},
    {"log-flush-frequency", D, kOver, "5s", "Accepted; every log line is written at once.",
     [](R& r, V v, bool) { r.opts.config.logging.flushFrequency = toDuration(v); }},
    {"vmodule", S, kOver, "", "Accepted; a start-up warning says it is not supported.",
     [](R& r, V v, bool) { r.opts.config.logging.vmodule = !v.empty(); }},
    {"log-json-info-buffer-size", S, kOver, "0", "Accepted; warned about unless 0.",
     [](R& r, V v, bool) { r.opts.config.logging.options.jsonInfoBufferSize = v; }},
    {"log-json-split-stream", B, kOver, "false", "Accepted; warned about when true.",
     [](R& r, V v, bool) { r.opts.config.logging.options.jsonSplitStream = toBool(v); }},
    {"log-text-info-buffer-size", S, kOver, "0", "Accepted; warned about unless 0.",
     [](R& r, V v, bool) { r.opts.config.logging.options.textInfoBufferSize = v; }},
    {"log-text-split-stream", B, kOver, "false", "Accepted; warned about when true.",
     [](R& r, V v, bool) { r.opts.config.logging.options.textSplitStream = toBool(v); }},
    {"source", S, kOver, "",
     "Standalone mode: read Services and EndpointSlices from this manifest file or directory "
     "instead of the API server.",
     [](R& r, V v, bool) { r.opts.config.agent.source = v; }},
    {"dry-run", B, kOver, "false", "Print the plan instead of programming the kernel.",
     [](R& r, V v, bool) { r.opts.config.agent.dryRun = toBool(v); }},
    {"graceful-termination-timeout", D, kOver, "0s",
     "Longest time a removed real server with live connections stays at weight 0 before "
     "deletion; 0 waits for the connections to end, as kube-proxy.",
     [](R& r, V v, bool) { r.opts.config.agent.gracefulTerminationTimeout = toDuration(v); }},
    // --- configuration fields (ignored with --config) ---
    {"kubeconfig", S, kCfg, "", "Path to a kubeconfig file; empty means in-cluster configuration.",
     [](R& r, V v, bool) { r.opts.config.clientConnection.kubeconfig = v; }},
    {"kube-api-content-type", S, kCfg, "application/vnd.kubernetes.protobuf",
     "Content type of requests to the API server.",
     [](R& r, V v, bool) { r.opts.config.clientConnection.contentType = v; }},
    {"kube-api-qps", FlagKind::kFloat, kCfg, "5", "QPS towards the API server.",
     [](R& r, V v, bool) { r.opts.config.clientConnection.qps = toFloat(v); }},
    {"kube-api-burst", I, kCfg, "10", "Burst towards the API server.",
     [](R& r, V v, bool) { r.opts.config.clientConnection.burst = toInt(v); }},
    {"proxy-mode", S, kCfg, "ipvs", "Proxy mode; only ipvs (or empty) is implemented.",
     [](R& r, V v, bool) { r.opts.config.mode = v; }},
    {"bind-address", FlagKind::kIp, kCfg, "0.0.0.0",
     "Override of the node's primary IP (no socket is bound to it).",
     [](R& r, V v, bool) { r.opts.config.bindAddress = v; }},
    {"bind-address-hard-fail", B, kCfg, "false",
     "Exit if a health or metrics port cannot be bound.",
     [](R& r, V v, bool) { r.opts.config.bindAddressHardFail = toBool(v); }},
    {"healthz-bind-address", FlagKind::kHostPort, kCfg, "0.0.0.0:10256",
     "IP:port of /healthz and /livez; empty disables.",
     [](R& r, V v, bool) { r.opts.config.healthzBindAddress = withPort(v, kDefaultHealthzPort); }},
    {"metrics-bind-address", FlagKind::kHostPort, kCfg, "127.0.0.1:10249",
     "IP:port of /metrics, /proxyMode, /configz; empty disables.",
     [](R& r, V v, bool) { r.opts.config.metricsBindAddress = withPort(v, kDefaultMetricsPort); }},
    {"healthz-port", I, kCfg, "10256", "Deprecated: 0 disables the healthz server.",
     [](R& r, V v, bool) { r.healthzPort = toInt(v); }},
    {"metrics-port", I, kCfg, "10249", "Deprecated: 0 disables the metrics server.",
     [](R& r, V v, bool) { r.metricsPort = toInt(v); }},
    {"profiling", B, kCfg, "false", "Accepted; no pprof endpoint is served.",
     [](R& r, V v, bool) { r.opts.config.enableProfiling = toBool(v); }},
    {"show-hidden-metrics-for-version", S, kCfg, "", "Accepted and ignored.",
     [](R& r, V v, bool) { r.opts.config.showHiddenMetricsForVersion = v; }},
    {"feature-gates", FlagKind::kBoolMap, kCfg, "",
     "Name=true|false pairs. WatchListClient=true lists by streaming; other known gates change "
     "nothing (a warning).",
     [](R& r, V v, bool) {
       for (const auto& item : splitList(v)) {
         const auto eq = item.find('=');
         r.opts.config.featureGates[item.substr(0, eq)] = toBool(item.substr(eq + 1));
       }
     }},
    {"ipvs-scheduler", S, kCfg, "rr",
     "Default IPVS scheduler (Services may override it by annotation).",
     [](R& r, V v, bool) { r.opts.config.ipvs.scheduler = v; }},
    {"ipvs-sync-period", D, kCfg, "30s",
     "Full resync period: the kernel is re-read off the sync thread, compared with what the "
     "agent wrote, and only the drift found is repaired (ipvs_agent_resync_drift_total).",
     [](R& r, V v, bool) { r.opts.config.ipvs.syncPeriod = toDuration(v); }},
    {"sync-period", D, kCfg, "30s", "Same as --ipvs-sync-period (kube-proxy's newer name).",
     [](R& r, V v, bool) { r.opts.config.ipvs.syncPeriod = toDuration(v); }},
    {"ipvs-min-sync-period", D, kCfg, "0s",
     "Minimum time between syncs; 0 syncs every change at once.",
     [](R& r, V v, bool) { r.opts.config.ipvs.minSyncPeriod = toDuration(v); }},
    {"min-sync-period", D, kCfg, "0s", "Same as --ipvs-min-sync-period (kube-proxy's newer name).",
     [](R& r, V v, bool) { r.opts.config.ipvs.minSyncPeriod = toDuration(v); }},
    {"ipvs-strict-arp", B, kCfg, "false", "Set arp_ignore=1 and arp_announce=2.",
     [](R& r, V v, bool) { r.opts.config.ipvs.strictARP = toBool(v); }},
    {"ipvs-exclude-cidrs", L, kCfg, "",
     "Comma-separated CIDRs whose virtual servers are never touched.",
     [](R& r, V v, bool first) { setList(r.opts.config.ipvs.excludeCIDRs, v, first); }},
    {"ipvs-tcp-timeout", D, kCfg, "0s", "IPVS idle TCP timeout; 0 leaves it as is.",
     [](R& r, V v, bool) { r.opts.config.ipvs.tcpTimeout = toDuration(v); }},
    {"ipvs-tcpfin-timeout", D, kCfg, "0s", "IPVS TCP FIN timeout; 0 leaves it as is.",
     [](R& r, V v, bool) { r.opts.config.ipvs.tcpFinTimeout = toDuration(v); }},
    {"ipvs-udp-timeout", D, kCfg, "0s", "IPVS UDP timeout; 0 leaves it as is.",
     [](R& r, V v, bool) { r.opts.config.ipvs.udpTimeout = toDuration(v); }},
    {"iptables-masquerade-bit", I, kCfg, "14", "fwmark bit for packets that need SNAT, 0..31.",
     [](R& r, V v, bool) { r.opts.config.iptables.masqueradeBit = toInt(v); }},
    {"ipvs-masquerade-bit", I, kCfg, "14",
     "Same as --iptables-masquerade-bit (kube-proxy's newer name).",
     [](R& r, V v, bool) { r.opts.config.iptables.masqueradeBit = toInt(v); }},
    {"masquerade-all", B, kCfg, "false", "SNAT all traffic sent to Service cluster IPs.",
     [](R& r, V v, bool) { r.opts.config.iptables.masqueradeAll = toBool(v); }},
    {"iptables-sync-period", D, kCfg, "30s", "iptables mode only; kept for compatibility.",
     [](R& r, V v, bool) { r.opts.config.iptables.syncPeriod = toDuration(v); }},
    {"iptables-min-sync-period", D, kCfg, "1s", "iptables mode only; kept for compatibility.",
     [](R& r, V v, bool) { r.opts.config.iptables.minSyncPeriod = toDuration(v); }},
    {"iptables-localhost-nodeports", B, kCfg, "true", "iptables mode only; kept for compatibility.",
     [](R& r, V v, bool) { r.opts.config.iptables.localhostNodePorts = toBool(v); }},
    {"cluster-cidr", S, kCfg, "",
     "Pod CIDR (or a dual-stack pair) used to tell local traffic apart.",
     [](R& r, V v, bool) { r.opts.config.clusterCIDR = v; }},
    {"detect-local-mode", S, kCfg, "ClusterCIDR",
     "ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix.",
     [](R& r, V v, bool) { r.opts.config.detectLocalMode = v; }},
    {"pod-bridge-interface", S, kCfg, "", "Bridge for --detect-local-mode=BridgeInterface.",
     [](R& r, V v, bool) { r.opts.config.detectLocal.bridgeInterface = v; }},
    {"pod-interface-name-prefix", S, kCfg, "",
     "Prefix for --detect-local-mode=InterfaceNamePrefix.",
     [](R& r, V v, bool) { r.opts.config.detectLocal.interfaceNamePrefix = v; }},
    {"nodeport-addresses", L, kCfg, "",
     "CIDRs (or primary) of the node IPs that accept NodePorts; empty means all.",
     [](R& r, V v, bool first) { setList(r.opts.config.nodePortAddresses, v, first); }},
    {"oom-score-adj", I, kCfg, "-999", "oom_score_adj of the process, -1000..1000.",
     [](R& r, V v, bool) { r.opts.config.oomScoreAdj = toInt(v); }},
    {"config-sync-period", D, kCfg, "15m0s", "Resync period of the API watches.",
     [](R& r, V v, bool) { r.opts.config.configSyncPeriod = toDuration(v); }},
    {"conntrack-max-per-core", I, kCfg, "32768", "nf_conntrack_max per CPU; 0 leaves it as is.",
     [](R& r, V v, bool) { r.opts.config.conntrack.maxPerCore = toInt(v); }},
    {"conntrack-min", I, kCfg, "131072", "Lower bound of nf_conntrack_max.",
     [](R& r, V v, bool) { r.opts.config.conntrack.min = toInt(v); }},
    {"conntrack-tcp-timeout-established", D, kCfg, "24h0m0s",
     "Conntrack established TCP timeout; 0 leaves it as is.",
     [](R& r, V v, bool) { r.opts.config.conntrack.tcpEstablishedTimeout = toDuration(v); }},
    {"conntrack-tcp-timeout-close-wait", D, kCfg, "1h0m0s", "Conntrack CLOSE_WAIT timeout.",
     [](R& r, V v, bool) { r.opts.config.conntrack.tcpCloseWaitTimeout = toDuration(v); }},
    {"conntrack-tcp-be-liberal", B, kCfg, "false", "Set nf_conntrack_tcp_be_liberal=1.",
     [](R& r, V v, bool) { r.opts.config.conntrack.tcpBeLiberal = toBool(v); }},
    {"conntrack-udp-timeout", D, kCfg, "0s", "Conntrack UDP timeout; 0 leaves it as is.",
     [](R& r, V v, bool) { r.opts.config.conntrack.udpTimeout = toDuration(v); }},
    {"conntrack-udp-timeout-stream", D, kCfg, "0s",
     "Conntrack UDP stream timeout; 0 leaves it as is.",
     [](R& r, V v, bool) { r.opts.config.conntrack.udpStreamTimeout = toDuration(v); }},
    // --- klog flags removed from kube-proxy in 1.26, still found in old manifests ---
    {"logtostderr", B, kIgn, "", "Accepted and ignored (logs always go to stderr).", nullptr},
    {"alsologtostderr", B, kIgn, "", "Accepted and ignored (logs always go to stderr).", nullptr},
});

std::string_view kindName(FlagKind k) {
  switch (k) {
    case FlagKind::kBool:
      return "";
    case FlagKind::kDuration:
      return " duration";
    case FlagKind::kInt32:
      return " int";
    case FlagKind::kFloat:
      return " float";
    case FlagKind::kStringList:
      return " strings";
    case FlagKind::kBoolMap:
      return " mapStringBool";
    case FlagKind::kIp:
      return " ip";
    case FlagKind::kHostPort:
      return " ipport";
    case FlagKind::kString:
      return " string";
  }
  return "";
}

}  // namespace

std::span<const FlagSpec> flagTable() { return kFlags; }

const FlagSpec* findFlag(std::string_view name) {
  for (const auto& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<std::int32_t> parseInt32(std::string_view text) {
  std::int32_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc{} || r.ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string checkProxyMode(std::string_view mode) {
  if (mode.empty() || mode == "ipvs") return "";
  const std::string m(mode);
  if (mode == "iptables" || mode == "nftables" || mode == "kernelspace" || mode == "userspace") {
    return "ipvs-agent implements kube-proxy's IPVS mode only; run it with --proxy-mode=ipvs (or "
           "without --proxy-mode), or keep kube-proxy for " +
           m + " mode";
  }
  return "the only proxy mode is ipvs";
}

std::string versionText() {
  return "ipvs-agent v" + std::string(kAgentVersion) +
         " (kube-proxy IPVS mode, KubeProxyConfiguration " + std::string(kConfigApiVersion) + ")\n";
}

std::string usage() {
  std::string out =
      "Usage: ipvs-agent [flags]\n\n"
      "A drop-in successor to kube-proxy's IPVS mode. Flags keep kube-proxy's names and defaults;\n"
      "with --config the file wins over them, except --hostname-override, the logging flags and\n"
      "ipvs-agent's own (--source, --dry-run, --graceful-termination-timeout).\n\nFlags:\n";
  for (const auto& f : kFlags) {
    std::string line = "  --" + std::string(f.name) + std::string(kindName(f.kind));
    line.resize(std::max<std::size_t>(line.size() + 2, 48), ' ');
    line += std::string(f.help);
    if (!f.defaultText.empty() && f.defaultText != "false") {
      line += " (default " + std::string(f.defaultText) + ")";
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace agent
