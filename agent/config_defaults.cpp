#include "agent/config_defaults.h"

namespace agent {

// Upstream: kubernetes/kubernetes pkg/proxy/apis/config/v1alpha1/defaults.go
// (SetDefaults_KubeProxyConfiguration, 1.27-1.33) and k8s.io/component-base/logs/api/v1
// (SetRecommendedLoggingConfiguration). Each `if` below is one of upstream's; the comment on a
// field says why its zero value does or does not mean "default".

Config zeroValueConfig() {
  Config c;  // starts with every default; the plain (non-pointer) fields are zeroed below
  c.clientConnection.qps = 0;
  c.clientConnection.burst = 0;
  c.clientConnection.contentType.clear();
  c.logging.format.clear();
  c.logging.flushFrequency = Duration::zero();
  c.bindAddress.clear();
  c.healthzBindAddress.clear();
  c.metricsBindAddress.clear();
  c.mode.clear();  // not defaulted upstream; "" means ipvs here (iptables upstream)
  c.iptables.syncPeriod = Duration::zero();
  c.iptables.minSyncPeriod = Duration::zero();
  c.ipvs.syncPeriod = Duration::zero();
  c.configSyncPeriod = Duration::zero();
  // Pointers upstream, so an explicit 0 is kept: oomScoreAdj, iptables.masqueradeBit,
  // iptables.localhostNodePorts, conntrack.{maxPerCore,min,tcpEstablishedTimeout,
  // tcpCloseWaitTimeout}. They keep their defaults here and are overwritten only when present.
  return c;
}

namespace {

bool isIpv4(const std::string& text) {
  const auto ip = ipvs::IpAddress::parse(text);
  return ip && ip->family() == ipvs::Family::kV4;
}

}  // namespace

std::string appendPortIfNeeded(const std::string& address, std::uint16_t port) {
  if (parseBindAddress(address)) return address;  // already IP:port
  const auto ip = ipvs::IpAddress::parse(address);
  if (!ip) return address;
  const std::string host = ip->family() == ipvs::Family::kV4 ? address : "[" + address + "]";
  return host + ":" + std::to_string(port);
}

void setKubeProxyDefaults(Config& c) {
  if (c.bindAddress.empty()) c.bindAddress = "0.0.0.0";
  // getDefaultAddresses: the servers follow bindAddress's family (anything not IPv4 is IPv6).
  const bool v4 = isIpv4(c.bindAddress);
  const std::string healthzHost = v4 ? "0.0.0.0" : "[::]";
  const std::string metricsHost = v4 ? "127.0.0.1" : "[::1]";
  c.healthzBindAddress = c.healthzBindAddress.empty()
                             ? healthzHost + ":" + std::to_string(kDefaultHealthzPort)
                             : appendPortIfNeeded(c.healthzBindAddress, kDefaultHealthzPort);
  c.metricsBindAddress = c.metricsBindAddress.empty()
                             ? metricsHost + ":" + std::to_string(kDefaultMetricsPort)
                             : appendPortIfNeeded(c.metricsBindAddress, kDefaultMetricsPort);
  if (c.iptables.syncPeriod == Duration::zero()) c.iptables.syncPeriod = 30s;
  if (c.iptables.minSyncPeriod == Duration::zero()) c.iptables.minSyncPeriod = 1s;
  if (c.ipvs.syncPeriod == Duration::zero()) c.ipvs.syncPeriod = 30s;
  if (c.configSyncPeriod == Duration::zero()) c.configSyncPeriod = 15min;
  if (c.clientConnection.contentType.empty()) {
    c.clientConnection.contentType = "application/vnd.kubernetes.protobuf";
  }
  if (c.clientConnection.qps == 0.0f) c.clientConnection.qps = 5;
  if (c.clientConnection.burst == 0) c.clientConnection.burst = 10;
  // SetRecommendedLoggingConfiguration; the info buffer sizes default to 0, which they are.
  if (c.logging.format.empty()) c.logging.format = "text";
  if (c.logging.flushFrequency == Duration::zero()) c.logging.flushFrequency = 5s;
}

}  // namespace agent
