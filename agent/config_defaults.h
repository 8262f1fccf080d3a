#pragma once
// kube-proxy's v1alpha1 defaulting, applied to a decoded KubeProxyConfiguration file.
//
// kubeadm (and most generators) marshal the Go struct with its zero values: `syncPeriod: 0s`,
// `healthzBindAddress: ""`, `conntrack.maxPerCore: null`, `qps: 0`. kube-proxy reads those as
// "use the default" because its decoder runs SetDefaults_KubeProxyConfiguration after decoding.
// The rule differs per field, and it is followed exactly:
// - a field that is a pointer upstream (oomScoreAdj, iptables.masqueradeBit,
//   iptables.localhostNodePorts, the four conntrack sizes and TCP timeouts) is defaulted only when
//   missing or null: an explicit 0 stays 0 ("leave the kernel's value" for conntrack);
// - a plain field is defaulted when it holds its zero value ("" or 0), whether written or not;
// - every other field (ipvs.minSyncPeriod, ipvs.tcpTimeout, mode, detectLocalMode...) has no
//   default: its zero value is the value.
// Flags are not defaulted again: as upstream, they are applied over an already defaulted
// configuration (Config{}), so `--healthz-bind-address=` still turns the server off.

#include <cstdint>
#include <string>

#include "agent/config.h"

namespace agent {

// The configuration a decoder starts from: Go's zero values for plain fields, the defaults for
// fields that are pointers upstream (missing or null means default for those).
Config zeroValueConfig();

// SetDefaults_KubeProxyConfiguration (plus logsapi.SetRecommendedLoggingConfiguration for the
// `logging` section), in place.
void setKubeProxyDefaults(Config& config);

// proxyutil.AppendPortIfNeeded: "IP" -> "IP:port", "IPv6" -> "[IPv6]:port"; "IP:port" and
// anything that is not an IP are returned unchanged (validation reports the latter).
std::string appendPortIfNeeded(const std::string& address, std::uint16_t port);

}  // namespace agent
