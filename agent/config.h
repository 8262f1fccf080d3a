#pragma once
// The agent's configuration: kube-proxy's v1alpha1 KubeProxyConfiguration (the fields that mean
// something in IPVS mode, plus the rest so that a kube-proxy file loads unchanged) and
// ipvs-agent's own settings under the `ipvsAgent` key. Field names follow the YAML spelling;
// defaults are kube-proxy's v1alpha1 defaults, except that an empty `mode` means ipvs.
//
// Errors: loading and validation throw ConfigError (start-up only, see house-style.md); the
// message names the field path, e.g. "ipvs.syncPeriod: must be greater than 0".

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config_duration.h"
#include "ipvs/address.h"
#include "k8swatch/config_error.h"

namespace agent {

using namespace std::chrono_literals;

inline constexpr std::string_view kConfigApiVersion = "kubeproxy.config.k8s.io/v1alpha1";
inline constexpr std::string_view kConfigKind = "KubeProxyConfiguration";
inline constexpr std::string_view kDefaultHealthzBindAddress = "0.0.0.0:10256";
inline constexpr std::string_view kDefaultMetricsBindAddress = "127.0.0.1:10249";
inline constexpr std::uint16_t kDefaultHealthzPort = 10256;
inline constexpr std::uint16_t kDefaultMetricsPort = 10249;

// A start-up error: bad flag, unreadable or invalid configuration, bad kubeconfig. main prints
// what() and exits 1. One type for the whole agent: k8swatch's, which agent/ builds on.
using ConfigError = k8swatch::ConfigError;

struct ClientConnectionConfig {
  std::string kubeconfig;
  std::string acceptContentTypes;
  std::string contentType = "application/vnd.kubernetes.protobuf";
  float qps = 5;
  std::int32_t burst = 10;
  bool operator==(const ClientConnectionConfig&) const = default;
};

// logging.options (component-base's FormatOptions): accepted, warned about when not default.
struct LoggingOptions {
  bool jsonSplitStream = false;
  std::string jsonInfoBufferSize = "0";  // a resource.Quantity
  bool textSplitStream = false;
  std::string textInfoBufferSize = "0";
  bool operator==(const LoggingOptions&) const = default;
};

struct LoggingConfig {
  std::string format = "text";   // only "text" (key=value lines) is produced
  Duration flushFrequency = 5s;  // accepted; every line is written at once
  std::int32_t verbosity = 0;    // klog -v
  bool vmodule = false;          // a non-empty vmodule was given (not supported)
  LoggingOptions options;
  bool operator==(const LoggingConfig&) const = default;
};

struct IptablesConfig {
  std::int32_t masqueradeBit = 14;
  bool masqueradeAll = false;
  bool localhostNodePorts = true;  // iptables mode only; kept for round trips
  Duration syncPeriod = 30s;       // iptables mode only; validated as upstream does
  Duration minSyncPeriod = 1s;
  bool operator==(const IptablesConfig&) const = default;
};

struct IpvsConfig {
  Duration syncPeriod = 30s;
  Duration minSyncPeriod = 0s;
  std::string scheduler;  // "" means rr
  std::vector<std::string> excludeCIDRs;
  bool strictARP = false;
  Duration tcpTimeout = 0s;  // 0: leave the kernel's value
  Duration tcpFinTimeout = 0s;
  Duration udpTimeout = 0s;
  bool operator==(const IpvsConfig&) const = default;
};

struct ConntrackConfig {
  std::int32_t maxPerCore = 32768;
  std::int32_t min = 131072;
  Duration tcpEstablishedTimeout = 24h;
  Duration tcpCloseWaitTimeout = 1h;
  bool tcpBeLiberal = false;
  Duration udpTimeout = 0s;
  Duration udpStreamTimeout = 0s;
  bool operator==(const ConntrackConfig&) const = default;
};

struct DetectLocalConfig {
  std::string bridgeInterface;
  std::string interfaceNamePrefix;
  bool operator==(const DetectLocalConfig&) const = default;
};

// ipvs-agent's own settings (YAML key `ipvsAgent`; kube-proxy ignores it with a warning).
struct AgentConfig {
  std::string source;   // standalone mode: manifest file or directory instead of the API server
  bool dryRun = false;  // print the plan, write nothing
  // Upper bound on how long a real server with live connections is kept at weight 0 before it
  // is deleted anyway. 0 (the default) means no bound: wait for the connections to end, as
  // kube-proxy does.
  Duration gracefulTerminationTimeout = 0s;
  bool operator==(const AgentConfig&) const = default;
};

struct Config {
  std::map<std::string, bool> featureGates;  // known gates only; none changes behaviour yet
  ClientConnectionConfig clientConnection;
  LoggingConfig logging;
  std::string hostnameOverride;
  std::string bindAddress = "0.0.0.0";  // node primary IP override; no socket is bound to it
  std::string healthzBindAddress{kDefaultHealthzBindAddress};  // "" disables
  std::string metricsBindAddress{kDefaultMetricsBindAddress};  // "" disables
  bool bindAddressHardFail = false;
  bool enableProfiling = false;  // accepted; no pprof endpoint
  std::string showHiddenMetricsForVersion;
  std::string mode = "ipvs";  // "" also means ipvs here (kube-proxy: iptables)
  IptablesConfig iptables;
  IpvsConfig ipvs;
  std::string detectLocalMode;  // "" means ClusterCIDR
  DetectLocalConfig detectLocal;
  std::string clusterCIDR;                     // one CIDR or a dual-stack pair, comma-separated
  std::vector<std::string> nodePortAddresses;  // CIDRs and/or keywords primary, all, localhost
  std::int32_t oomScoreAdj = -999;
  ConntrackConfig conntrack;
  Duration configSyncPeriod = 15min;
  std::string portRange;  // unused (userspace leftover)
  // Handle only Services labelled service.kubernetes.io/service-proxy-name=<this> ("": those
  // without the label), so the agent can run beside another proxy.
  std::string serviceProxyName;
  AgentConfig agent;

  bool operator==(const Config&) const = default;
};

// Problems found in a configuration, each "field.path: message".
struct ConfigDiagnostics {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

// kube-proxy's validation (pkg/proxy/apis/config/validation) for the v1alpha1 fields, plus the
// agent's own. Warnings cover unknown schedulers; accepted-but-unused settings are reported by
// unusedSettings() (config_notices.h).
ConfigDiagnostics validateConfig(const Config& config);

// The feature gates kube-proxy reads (1.27-1.33) and the generic ones (AllAlpha, AllBeta, the
// logging gates); any other name is an error, as kube-proxy's "unrecognized feature gate".
bool isKnownFeatureGate(std::string_view name);

// The IPVS schedulers of the Linux kernel; others are warned about (a module may add one).
bool isKnownScheduler(std::string_view name);

// "IP:port" or "[IPv6]:port" (Go's net.SplitHostPort with an IP host). Port 0 is accepted here
// (tests bind to an ephemeral port); validateConfig requires 1..65535 as kube-proxy does.
struct BindAddress {
  ipvs::IpAddress ip;
  std::uint16_t port = 0;
};
std::optional<BindAddress> parseBindAddress(std::string_view text);

// Effective values, with the empty-means-default rules applied.
std::string effectiveScheduler(const Config& config);        // "" -> "rr"
std::string effectiveDetectLocalMode(const Config& config);  // "" -> "ClusterCIDR"

}  // namespace agent
