#include "agent/config_notices.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>

namespace agent {
namespace {

using Lines = std::vector<std::string>;

constexpr std::string_view kProtobuf = "application/vnd.kubernetes.protobuf";
constexpr std::string_view kJson = "application/json";

// Gates kube-proxy's code or its libraries read in 1.27-1.33, and the generic ones. Upstream
// knows every Kubernetes gate; a gate missing here that kube-proxy accepts is a bug to report.
constexpr std::array<std::string_view, 28> kFeatureGates = {
    "AllAlpha",
    "AllBeta",
    "ComponentSLIs",
    "ContextualLogging",
    "EndpointSliceTerminatingCondition",
    "IPTablesOwnershipCleanup",
    "InPlacePodVerticalScaling",
    "KubeProxyDrainingTerminatingNodes",
    "LoadBalancerIPMode",
    "LoggingAlphaOptions",
    "LoggingBetaOptions",
    "MinimizeIPTablesRestore",
    "MultiCIDRServiceAllocator",
    "NFTablesProxyMode",
    "PreferSameTrafficDistribution",
    "ProxyTerminatingEndpoints",
    "ServiceInternalTrafficPolicy",
    "ServiceIPStaticSubrange",
    "ServiceNodePortStaticSubrange",
    "ServiceTrafficDistribution",
    "TopologyAwareHints",
    "TopologyAwareHintsPreferZone",
    "UnknownVersionInteroperabilityProxy",
    "WatchListClient",
    "WinDSR",
    "WinOverlay",
    "WindowsHostNetwork",
    "IPv6DualStack",
};

void add(Lines& out, std::string_view field, std::string_view message) {
  out.push_back(std::string(field) + ": " + std::string(message));
}

void clientNotices(ConfigNotices& n, const ClientConnectionConfig& cc) {
  if (cc.contentType == kProtobuf) {
    add(n.infos, "clientConnection.contentType (--kube-api-content-type)",
        "application/vnd.kubernetes.protobuf accepted; the API client uses application/json");
  } else if (!cc.contentType.empty() && cc.contentType != kJson) {
    add(n.warnings, "clientConnection.contentType (--kube-api-content-type)",
        "\"" + cc.contentType + "\" is not supported; the API client uses application/json");
  }
  if (!cc.acceptContentTypes.empty()) {
    add(n.warnings, "clientConnection.acceptContentTypes",
        "not applied: the API client accepts application/json");
  }
}

void loggingNotices(Lines& warns, const LoggingConfig& l) {
  if (!l.format.empty() && l.format != "text") {
    add(warns, "logging.format (--logging-format)",
        "\"" + l.format + "\" is not supported; using text");
  }
  if (l.flushFrequency != 5s) {
    add(warns, "logging.flushFrequency (--log-flush-frequency)",
        "not applied: every log line is written at once");
  }
  if (l.vmodule) add(warns, "logging.vmodule (--vmodule)", "not supported; -v applies to all");
  const LoggingOptions& o = l.options;
  if (o.jsonSplitStream || o.textSplitStream) {
    add(warns, "logging.options.*.splitStream (--log-*-split-stream)",
        "not applied: every line goes to stderr");
  }
  if (o.jsonInfoBufferSize != "0" || o.textInfoBufferSize != "0") {
    add(warns, "logging.options.*.infoBufferSize (--log-*-info-buffer-size)",
        "not applied: lines are not buffered");
  }
}

// Every detectLocalMode is applied (agent/node_context_builder.cpp); only a setting that the
// chosen mode does not read is worth a line, as kube-proxy silently ignores it.
void detectLocalNotices(Lines& warns, const Config& c) {
  const std::string mode = effectiveDetectLocalMode(c);
  if (!c.detectLocal.bridgeInterface.empty() && mode != "BridgeInterface") {
    add(warns, "detectLocal.bridgeInterface (--pod-bridge-interface)",
        "not used: detectLocalMode is " + mode);
  }
  if (!c.detectLocal.interfaceNamePrefix.empty() && mode != "InterfaceNamePrefix") {
    add(warns, "detectLocal.interfaceNamePrefix (--pod-interface-name-prefix)",
        "not used: detectLocalMode is " + mode);
  }
}

void otherNotices(Lines& warns, const Config& c) {
  for (const auto& [gate, enabled] : c.featureGates) {
    if (gate == "WatchListClient") continue;  // acted on: the API client's streaming lists
    add(warns, "featureGates." + gate + " (--feature-gates)",
        std::string("accepted (") + (enabled ? "true" : "false") +
            "); no gate but WatchListClient changes ipvs-agent's behaviour");
  }
  if (c.enableProfiling) add(warns, "enableProfiling (--profiling)", "no pprof endpoint");
  if (!c.showHiddenMetricsForVersion.empty()) {
    add(warns, "showHiddenMetricsForVersion (--show-hidden-metrics-for-version)",
        "not applied: ipvs-agent has no hidden metrics");
  }
  if (c.configSyncPeriod != 15min) {
    add(warns, "configSyncPeriod (--config-sync-period)",
        "not applied: the watches do not resync; the periodic full sync is ipvs.syncPeriod");
  }
  if (!c.portRange.empty()) add(warns, "portRange", "not used (as in kube-proxy since 1.26)");
  if (c.iptables.syncPeriod != 30s || c.iptables.minSyncPeriod != 1s ||
      !c.iptables.localhostNodePorts) {
    add(warns, "iptables.syncPeriod/minSyncPeriod/localhostNodePorts",
        "iptables mode only: not used in IPVS mode, as in kube-proxy");
  }
}

}  // namespace

bool isKnownFeatureGate(std::string_view name) {
  return std::find(kFeatureGates.begin(), kFeatureGates.end(), name) != kFeatureGates.end();
}

ConfigNotices unusedSettings(const Config& c) {
  ConfigNotices n;
  clientNotices(n, c.clientConnection);
  loggingNotices(n.warnings, c.logging);
  detectLocalNotices(n.warnings, c);
  otherNotices(n.warnings, c);
  return n;
}

std::error_code writeOomScoreAdj(const std::string& path, std::int32_t value) {
  std::ofstream out(path, std::ios::trunc);
  if (out) out << value;
  if (out) out.flush();
  if (!out) return {errno ? errno : EIO, std::generic_category()};
  return {};
}

}  // namespace agent
