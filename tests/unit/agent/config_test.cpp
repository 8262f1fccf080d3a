#include "agent/config.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "agent/config_defaults.h"
#include "agent/config_file.h"

using namespace agent;
using namespace std::chrono_literals;

namespace {

constexpr const char* kHeader =
    "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";

Config parse(const std::string& body, std::vector<std::string>* warningsOut = nullptr) {
  std::vector<std::string> warnings;
  Config c = parseConfigYaml(std::string(kHeader) + body, warnings);
  if (warningsOut) *warningsOut = warnings;
  return c;
}

std::string parseError(const std::string& yaml) {
  std::vector<std::string> warnings;
  try {
    parseConfigYaml(yaml, warnings);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> errorsOf(const Config& c) { return validateConfig(c).errors; }

bool hasMessage(const std::vector<std::string>& list, const std::string& needle) {
  for (const auto& s : list) {
    if (s.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Defaults are kube-proxy's v1alpha1 defaults, mode ipvs", "[config]") {
  const Config c;
  CHECK(c.mode == "ipvs");
  CHECK(c.ipvs.syncPeriod == 30s);
  CHECK(c.ipvs.minSyncPeriod == 0s);
  CHECK(c.ipvs.scheduler.empty());
  CHECK(effectiveScheduler(c) == "rr");
  CHECK(c.iptables.masqueradeBit == 14);
  CHECK(c.iptables.minSyncPeriod == 1s);
  CHECK(c.healthzBindAddress == "0.0.0.0:10256");
  CHECK(c.metricsBindAddress == "127.0.0.1:10249");
  CHECK(c.bindAddress == "0.0.0.0");
  CHECK(c.clientConnection.contentType == "application/vnd.kubernetes.protobuf");
  CHECK(c.clientConnection.qps == 5);
  CHECK(c.clientConnection.burst == 10);
  CHECK(c.configSyncPeriod == 15min);
  CHECK(c.oomScoreAdj == -999);
  CHECK(c.conntrack.maxPerCore == 32768);
  CHECK(c.conntrack.min == 131072);
  CHECK(c.conntrack.tcpEstablishedTimeout == 24h);
  CHECK(c.conntrack.tcpCloseWaitTimeout == 1h);
  CHECK(effectiveDetectLocalMode(c) == "ClusterCIDR");
  CHECK(c.agent.gracefulTerminationTimeout == 0s);
  CHECK(validateConfig(c).errors.empty());
  CHECK(validateConfig(c).warnings.empty());
}

TEST_CASE("A full KubeProxyConfiguration loads", "[config]") {
  std::vector<std::string> warnings;
  const Config c = parse(R"(
mode: ipvs
clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
hostnameOverride: node-a
bindAddress: 10.0.0.5
healthzBindAddress: 0.0.0.0:20256
metricsBindAddress: "[::1]:20249"
bindAddressHardFail: true
featureGates:
  TopologyAwareHints: true
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 50
  burst: 100
  contentType: application/json
iptables:
  masqueradeAll: true
  masqueradeBit: 15
ipvs:
  scheduler: lc
  syncPeriod: 1m30s
  minSyncPeriod: 500ms
  excludeCIDRs: [10.0.0.0/8, 192.168.0.0/16]
  strictARP: true
  tcpTimeout: 900s
  tcpFinTimeout: 2m
  udpTimeout: 300ms
nodePortAddresses: [primary, 10.0.0.0/24]
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 12h
oomScoreAdj: -500
configSyncPeriod: 0h10m
logging:
  verbosity: 4
ipvsAgent:
  source: /etc/ipvs-agent/manifests
  dryRun: true
  gracefulTerminationTimeout: 10m
)",
                         &warnings);
  CHECK(c.clusterCIDR == "10.244.0.0/16,fd00:10:244::/56");
  CHECK(c.hostnameOverride == "node-a");
  CHECK(c.bindAddress == "10.0.0.5");
  CHECK(c.healthzBindAddress == "0.0.0.0:20256");
  CHECK(c.metricsBindAddress == "[::1]:20249");
  CHECK(c.bindAddressHardFail);
  CHECK(c.featureGates.at("TopologyAwareHints"));
  CHECK(c.clientConnection.kubeconfig == "/var/lib/kube-proxy/kubeconfig.conf");
  CHECK(c.clientConnection.qps == 50);
  CHECK(c.clientConnection.burst == 100);
  CHECK(c.clientConnection.contentType == "application/json");
  CHECK(c.iptables.masqueradeAll);
  CHECK(c.iptables.masqueradeBit == 15);
  CHECK(c.ipvs.scheduler == "lc");
  CHECK(c.ipvs.syncPeriod == 90s);
  CHECK(c.ipvs.minSyncPeriod == 500ms);
  CHECK(c.ipvs.excludeCIDRs == std::vector<std::string>{"10.0.0.0/8", "192.168.0.0/16"});
  CHECK(c.ipvs.strictARP);
  CHECK(c.ipvs.tcpTimeout == 900s);
  CHECK(c.ipvs.tcpFinTimeout == 2min);
  CHECK(c.ipvs.udpTimeout == 300ms);
  CHECK(c.nodePortAddresses == std::vector<std::string>{"primary", "10.0.0.0/24"});
  CHECK(c.conntrack.maxPerCore == 0);
  CHECK(c.conntrack.min == 131072);  // untouched default
  CHECK(c.conntrack.tcpEstablishedTimeout == 12h);
  CHECK(c.oomScoreAdj == -500);
  CHECK(c.configSyncPeriod == 10min);
  CHECK(c.logging.verbosity == 4);
  CHECK(c.agent.source == "/etc/ipvs-agent/manifests");
  CHECK(c.agent.dryRun);
  CHECK(c.agent.gracefulTerminationTimeout == 10min);
  CHECK(warnings.empty());
  CHECK(errorsOf(c).empty());
}

TEST_CASE("kube-proxy's own default file (--write-config-to output) loads", "[config]") {
  // The layout kube-proxy v1.2x writes, including fields that mean nothing in IPVS mode.
  std::vector<std::string> warnings;
  const Config c = parse(R"(bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 10
  contentType: application/vnd.kubernetes.protobuf
  kubeconfig: ""
  qps: 5
clusterCIDR: ""
configSyncPeriod: 15m0s
conntrack:
  maxPerCore: 32768
  min: 131072
  tcpCloseWaitTimeout: 1h0m0s
  tcpEstablishedTimeout: 24h0m0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: 0.0.0.0:10256
hostnameOverride: ""
iptables:
  localhostNodePorts: true
  masqueradeAll: false
  masqueradeBit: 14
  minSyncPeriod: 1s
  syncPeriod: 30s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 30s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
metricsBindAddress: 127.0.0.1:10249
mode: ""
nodePortAddresses: null
oomScoreAdj: -999
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
)",
                         &warnings);
  CHECK(warnings.empty());
  Config expected;
  expected.mode = "";
  CHECK(c == expected);
  CHECK(errorsOf(c).empty());
}

TEST_CASE("Unknown fields are warnings naming the path, as kube-proxy's lenient decoding",
          "[config]") {
  std::vector<std::string> warnings;
  const Config c = parse("ipvs:\n  syncPeriod: 10s\n  sched: wrr\nfoo: 1\n", &warnings);
  CHECK(c.ipvs.syncPeriod == 10s);
  REQUIRE(warnings.size() == 2);
  CHECK(hasMessage(warnings, "unknown field \"ipvs.sched\" ignored"));
  CHECK(hasMessage(warnings, "unknown field \"foo\" ignored"));
}

TEST_CASE("Type errors name the field", "[config]") {
  const std::string h = kHeader;
  CHECK(parseError(h + "ipvs:\n  syncPeriod: 30\n") ==
        "ipvs.syncPeriod: must be a duration string such as \"30s\", got a number");
  CHECK(parseError(h + "ipvs:\n  syncPeriod: soon\n")
            .starts_with("ipvs.syncPeriod: invalid duration"));
  CHECK(parseError(h + "iptables:\n  masqueradeBit: high\n") ==
        "iptables.masqueradeBit: must be an integer, got a string");
  CHECK(parseError(h + "iptables:\n  masqueradeBit: 99999999999\n") ==
        "iptables.masqueradeBit: must fit in a 32-bit integer, got 99999999999");
  CHECK(parseError(h + "ipvs:\n  strictARP: maybe\n") ==
        "ipvs.strictARP: must be true or false, got a string");
  CHECK(parseError(h + "ipvs: [1, 2]\n") == "ipvs: must be a mapping, got a list");
  CHECK(parseError(h + "ipvs:\n  excludeCIDRs: 10.0.0.0/8\n") ==
        "ipvs.excludeCIDRs: must be a list of strings, got a string");
  CHECK(parseError(h + "ipvs:\n  excludeCIDRs: [10.0.0.0/8, [x]]\n") ==
        "ipvs.excludeCIDRs[1]: must be a string, got a list");
  CHECK(parseError(h + "hostnameOverride: 12\n") ==
        "hostnameOverride: must be a string, got a number");
  CHECK(parseError(h + "featureGates:\n  A: sometimes\n") ==
        "featureGates.A: must be true or false");
}

TEST_CASE("Wrong kind, version, bad or empty YAML are rejected clearly", "[config]") {
  CHECK(parseError("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n") ==
        "kind: \"KubeletConfiguration\" is not supported; expected \"KubeProxyConfiguration\"");
  CHECK(
      parseError("apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n") ==
      "apiVersion: \"kubeproxy.config.k8s.io/v1alpha2\" is not supported; ipvs-agent reads "
      "\"kubeproxy.config.k8s.io/v1alpha1\"");
  CHECK(parseError("kind: KubeProxyConfiguration\n").starts_with("apiVersion: missing"));
  CHECK(parseError("apiVersion: kubeproxy.config.k8s.io/v1alpha1\n").starts_with("kind: missing"));
  CHECK(parseError("") == "the configuration is empty");
  CHECK(parseError("- a\n- b\n") == "the configuration must be a YAML mapping");
  CHECK(parseError("ipvs: {syncPeriod: 30s\n").starts_with("invalid YAML at line"));
  CHECK(parseError(std::string(kHeader) + "ipvs:\n\tsyncPeriod: 1s\n").starts_with("invalid YAML"));
}

TEST_CASE("Validation names the field path", "[config]") {
  Config c;
  c.ipvs.syncPeriod = 0s;
  CHECK(errorsOf(c) == std::vector<std::string>{"ipvs.syncPeriod: must be greater than 0"});

  c = Config{};
  c.ipvs.minSyncPeriod = -1s;
  CHECK(errorsOf(c) ==
        std::vector<std::string>{"ipvs.minSyncPeriod: must be greater than or equal to 0"});

  c = Config{};
  c.ipvs.minSyncPeriod = 1min;
  CHECK(errorsOf(c) == std::vector<std::string>{
                           "ipvs.minSyncPeriod: must be less than or equal to ipvs.syncPeriod "
                           "(1m0s > 30s)"});

  c = Config{};
  c.iptables.masqueradeBit = 32;
  CHECK(errorsOf(c) == std::vector<std::string>{
                           "iptables.masqueradeBit: must be within the range [0, 31], got 32"});
  c.iptables.masqueradeBit = -1;
  CHECK(errorsOf(c).size() == 1);
  c.iptables.masqueradeBit = 31;
  CHECK(errorsOf(c).empty());

  c = Config{};
  c.ipvs.tcpTimeout = -1s;
  c.ipvs.udpTimeout = -1s;
  CHECK(errorsOf(c) ==
        std::vector<std::string>{"ipvs.tcpTimeout: must be greater than or equal to 0",
                                 "ipvs.udpTimeout: must be greater than or equal to 0"});
}

TEST_CASE("Validation of addresses and CIDRs", "[config]") {
  Config c;
  c.clusterCIDR = "10.244.0.0";
  CHECK(hasMessage(errorsOf(c), "clusterCIDR: must be a valid CIDR block"));
  c.clusterCIDR = "10.244.0.0/16,10.245.0.0/16";
  CHECK(hasMessage(errorsOf(c), "clusterCIDR: two CIDRs must be one IPv4 and one IPv6"));
  c.clusterCIDR = "10.0.0.0/8,fd00::/64,fd01::/64";
  CHECK(hasMessage(errorsOf(c), "clusterCIDR: only one CIDR or a dual-stack pair allowed"));
  c.clusterCIDR = "fd00::/64,10.0.0.0/8";
  CHECK(errorsOf(c).empty());

  c = Config{};
  c.ipvs.excludeCIDRs = {"10.0.0.0/8", "nope"};
  CHECK(errorsOf(c) == std::vector<std::string>{
                           "ipvs.excludeCIDRs[1]: must be a valid IP block (CIDR), got \"nope\""});

  c = Config{};
  c.nodePortAddresses = {"primary", "10.0.0.0/8", "10.0.0.1"};
  CHECK(errorsOf(c) ==
        std::vector<std::string>{"nodePortAddresses[2]: must be a valid IP block (CIDR) or one of "
                                 "primary, all, localhost, got \"10.0.0.1\""});

  c = Config{};
  c.healthzBindAddress = "0.0.0.0";
  c.metricsBindAddress = "localhost:10249";
  CHECK(errorsOf(c) ==
        std::vector<std::string>{"healthzBindAddress: must be IP:port, got \"0.0.0.0\"",
                                 "metricsBindAddress: must be IP:port, got \"localhost:10249\""});
  c.healthzBindAddress = "0.0.0.0:0";
  c.metricsBindAddress = "";  // disabled
  CHECK(errorsOf(c) == std::vector<std::string>{
                           "healthzBindAddress: must have a port in 1..65535, got \"0.0.0.0:0\""});
  c.healthzBindAddress = "[::]:10256";
  CHECK(errorsOf(c).empty());

  c = Config{};
  c.bindAddress = "node-a";
  CHECK(hasMessage(errorsOf(c), "bindAddress: not a valid textual representation of an IP"));
}

TEST_CASE("Validation of mode, scheduler and the rest", "[config]") {
  Config c;
  c.mode = "iptables";
  const auto errs = errorsOf(c);
  REQUIRE(errs.size() == 1);
  CHECK(
      errs[0].starts_with("mode: \"iptables\" is not supported: ipvs-agent implements "
                          "kube-proxy's IPVS mode only"));
  c.mode = "nftables";
  CHECK(hasMessage(errorsOf(c), "keep running kube-proxy for nftables mode"));
  c.mode = "fast";
  CHECK(errorsOf(c) == std::vector<std::string>{"mode: must be \"ipvs\" or empty, got \"fast\""});
  c.mode = "";
  CHECK(errorsOf(c).empty());

  c = Config{};
  c.ipvs.scheduler = "mh";
  CHECK(validateConfig(c).warnings.empty());
  c.ipvs.scheduler = "fancy";
  CHECK(errorsOf(c).empty());
  CHECK(hasMessage(validateConfig(c).warnings, "ipvs.scheduler: \"fancy\" is not a scheduler"));

  c = Config{};
  c.oomScoreAdj = -1001;
  c.configSyncPeriod = 0s;
  c.clientConnection.burst = -1;
  c.conntrack.min = -1;
  c.portRange = "x-2";
  c.detectLocalMode = "BridgeInterface";
  c.agent.gracefulTerminationTimeout = -1s;
  CHECK(errorsOf(c) ==
        std::vector<std::string>{
            "conntrack.min: must be greater than or equal to 0",
            "clientConnection.burst: must be greater than or equal to 0",
            "oomScoreAdj: must be within the range [-1000, 1000], got -1001",
            "configSyncPeriod: must be greater than 0",
            "detectLocal.bridgeInterface: must be set when detectLocalMode is BridgeInterface",
            "portRange: must be a valid port range (e.g. 300-2000), got \"x-2\"",
            "ipvsAgent.gracefulTerminationTimeout: must be greater than or equal to 0"});
}

TEST_CASE("The effective config written as YAML loads back identical", "[config]") {
  Config c;
  c.mode = "";
  c.hostnameOverride = "12345";  // must stay a string
  c.clusterCIDR = "10.244.0.0/16";
  c.ipvs.scheduler = "wrr";
  c.ipvs.syncPeriod = 90s;
  c.ipvs.minSyncPeriod = 1500ms;
  c.ipvs.excludeCIDRs = {"10.0.0.0/8", "fd00::/8"};
  c.ipvs.strictARP = true;
  c.ipvs.tcpFinTimeout = 2min;
  c.nodePortAddresses = {"primary"};
  c.featureGates = {{"A", true}, {"B", false}};
  c.clientConnection.qps = 0.5f;
  c.clientConnection.kubeconfig = "/path with spaces/kube config";
  c.detectLocalMode = "InterfaceNamePrefix";
  c.detectLocal.interfaceNamePrefix = "veth";
  c.showHiddenMetricsForVersion = "1.29";
  c.portRange = "yes";  // would be a YAML bool if written plain
  c.logging.verbosity = 3;
  c.agent.source = "/srv/manifests";
  c.agent.dryRun = true;
  c.agent.gracefulTerminationTimeout = 5min;

  const std::string yaml = configToYaml(c);
  INFO(yaml);
  std::vector<std::string> warnings;
  const Config back = parseConfigYaml(yaml, warnings);
  CHECK(warnings.empty());
  CHECK(back == c);
  CHECK(yaml.find("apiVersion: kubeproxy.config.k8s.io/v1alpha1") != std::string::npos);
  CHECK(yaml.find("syncPeriod: 1m30s") != std::string::npos);
  CHECK(yaml.find("hostnameOverride: \"12345\"") != std::string::npos);

  // Defaults round-trip too, through a file.
  const std::string path = "agentif_roundtrip_test.yaml";
  writeConfigFile(path, Config{});
  CHECK(loadConfigFile(path, warnings) == Config{});
  std::remove(path.c_str());
}

TEST_CASE("Missing and unwritable files are clear errors", "[config]") {
  std::vector<std::string> warnings;
  try {
    loadConfigFile("/nonexistent/kube-proxy.yaml", warnings);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).starts_with("--config: cannot read /nonexistent/kube-proxy.yaml"));
  }
  CHECK_THROWS_AS(writeConfigFile("/nonexistent/dir/out.yaml", Config{}), ConfigError);

  std::ofstream("agentif_bad_test.yaml") << kHeader << "ipvs:\n  syncPeriod: 7\n";
  try {
    loadConfigFile("agentif_bad_test.yaml", warnings);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "agentif_bad_test.yaml: ipvs.syncPeriod: must be a duration string such as \"30s\", "
          "got a number");
  }
  std::remove("agentif_bad_test.yaml");
}

TEST_CASE("configz is the config as JSON under kube-proxy's group, redacted", "[config]") {
  Config c;
  c.clientConnection.kubeconfig = "https://admin:hunter2@example.invalid/config";
  const auto body = boost::json::parse(configzBody(c)).as_object();
  const auto& cfg = body.at("kubeproxy.config.k8s.io").as_object();
  CHECK(cfg.at("mode").as_string() == "ipvs");
  CHECK(cfg.at("ipvs").as_object().at("syncPeriod").as_string() == "30s");
  CHECK(cfg.at("clientConnection").as_object().at("qps").as_int64() == 5);
  CHECK(cfg.at("clientConnection").as_object().at("kubeconfig").as_string() ==
        "https://<redacted>@example.invalid/config");
}

TEST_CASE("Bind addresses parse like Go's SplitHostPort with an IP", "[config]") {
  auto a = parseBindAddress("127.0.0.1:10249");
  REQUIRE(a);
  CHECK(a->ip.toString() == "127.0.0.1");
  CHECK(a->port == 10249);
  a = parseBindAddress("[::1]:0");
  REQUIRE(a);
  CHECK_FALSE(a->ip.isV4());
  CHECK(a->port == 0);
  for (const char* bad : {"", "127.0.0.1", ":80", "::1:80", "[::1]", "[::1]80", "host:80",
                          "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:http"}) {
    INFO(bad);
    CHECK_FALSE(parseBindAddress(bad));
  }
}

TEST_CASE("Zero values mean default exactly where upstream's defaults.go says so", "[config]") {
  const Config c = parse(R"(
bindAddress: ""
healthzBindAddress: ""
metricsBindAddress: ""
configSyncPeriod: 0s
clientConnection: {qps: 0, burst: 0, contentType: ""}
iptables: {syncPeriod: 0s, minSyncPeriod: 0s, masqueradeBit: null, localhostNodePorts: null}
ipvs: {syncPeriod: 0s, minSyncPeriod: 0s, tcpTimeout: 0s}
conntrack: {maxPerCore: null, min: null, tcpEstablishedTimeout: null, tcpCloseWaitTimeout: null}
oomScoreAdj: null
logging: {flushFrequency: 0, format: ""}
)");
  CHECK(c.bindAddress == "0.0.0.0");
  CHECK(c.healthzBindAddress == "0.0.0.0:10256");
  CHECK(c.metricsBindAddress == "127.0.0.1:10249");
  CHECK(c.configSyncPeriod == 15min);
  CHECK(c.clientConnection.qps == 5);
  CHECK(c.clientConnection.burst == 10);
  CHECK(c.clientConnection.contentType == "application/vnd.kubernetes.protobuf");
  CHECK(c.iptables.syncPeriod == 30s);
  CHECK(c.iptables.minSyncPeriod == 1s);
  CHECK(c.iptables.masqueradeBit == 14);
  CHECK(c.iptables.localhostNodePorts);
  CHECK(c.ipvs.syncPeriod == 30s);
  CHECK(c.ipvs.minSyncPeriod == 0s);  // no default upstream
  CHECK(c.ipvs.tcpTimeout == 0s);
  CHECK(c.conntrack.maxPerCore == 32768);
  CHECK(c.conntrack.min == 131072);
  CHECK(c.conntrack.tcpEstablishedTimeout == 24h);
  CHECK(c.conntrack.tcpCloseWaitTimeout == 1h);
  CHECK(c.oomScoreAdj == -999);
  CHECK(c.logging.flushFrequency == 5s);
  CHECK(c.logging.format == "text");
  CHECK(c.mode.empty());  // not defaulted upstream
  CHECK(errorsOf(c).empty());
}

TEST_CASE("An explicit 0 in a field that is a pointer upstream is kept", "[config]") {
  const Config c = parse(R"(
oomScoreAdj: 0
iptables: {masqueradeBit: 0, localhostNodePorts: false}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
)");
  CHECK(c.oomScoreAdj == 0);
  CHECK(c.iptables.masqueradeBit == 0);
  CHECK_FALSE(c.iptables.localhostNodePorts);
  CHECK(c.conntrack.maxPerCore == 0);
  CHECK(c.conntrack.min == 0);
  CHECK(c.conntrack.tcpEstablishedTimeout == 0s);
  CHECK(c.conntrack.tcpCloseWaitTimeout == 0s);
}

TEST_CASE("A bare IP in a bind address gets the default port - IPv6 binds default to [::]",
          "[config]") {
  Config c = parse("healthzBindAddress: 10.0.0.1\nmetricsBindAddress: \"::1\"\n");
  CHECK(c.healthzBindAddress == "10.0.0.1:10256");
  CHECK(c.metricsBindAddress == "[::1]:10249");
  c = parse("bindAddress: \"::\"\n");
  CHECK(c.healthzBindAddress == "[::]:10256");
  CHECK(c.metricsBindAddress == "[::1]:10249");
  CHECK(appendPortIfNeeded("1.2.3.4:80", 10256) == "1.2.3.4:80");
  CHECK(appendPortIfNeeded("not-an-ip", 10256) == "not-an-ip");  // left to validation
}

TEST_CASE("logging.flushFrequency takes a duration or integer nanoseconds", "[config]") {
  CHECK(parse("logging:\n  flushFrequency: 2000000000\n").logging.flushFrequency == 2s);
  CHECK(parse("logging:\n  flushFrequency: 3s\n").logging.flushFrequency == 3s);
  CHECK(parseError(std::string(kHeader) + "logging:\n  flushFrequency: -1\n") ==
        "logging.flushFrequency: must be greater than or equal to 0");
  const Config c = parse(
      "logging:\n  options:\n    json: {infoBufferSize: 64Ki, splitStream: true}\n"
      "    text: {infoBufferSize: 0}\n  vmodule: [{filePattern: x, verbosity: 2}]\n");
  CHECK(c.logging.options.jsonInfoBufferSize == "64Ki");
  CHECK(c.logging.options.jsonSplitStream);
  CHECK(c.logging.options.textInfoBufferSize == "0");
  CHECK(c.logging.vmodule);
}

TEST_CASE("Unknown feature gates are an error, as upstream", "[config]") {
  Config c;
  c.featureGates = {{"TopologyAwareHints", true}, {"NoSuchGate", false}};
  CHECK(errorsOf(c) ==
        std::vector<std::string>{"featureGates: unrecognized feature gate: NoSuchGate"});
  CHECK(isKnownFeatureGate("AllAlpha"));
  CHECK_FALSE(isKnownFeatureGate("allalpha"));
}

// Without the bounded reader these crash (alias cycle), run out of memory (billion laughs) or
// never return (",\n"). The same inputs live in tests/fuzz/corpus/manifest/.
TEST_CASE("Hostile YAML in --config is a clear error, not a crash or a hang", "[config]") {
  std::string laughs = std::string(kHeader) + "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) laughs += std::string(i ? ", *" : "*") + char(c - 1);
    laughs += "]\n";
  }
  CHECK_THAT(parseError(laughs), Catch::Contains("expands to more than 100000 nodes"));
  CHECK(parseError(std::string(kHeader) + "ipvs: &i {x: *i}\n") ==
        "invalid YAML at line 3, column 14: ipvs.x: an alias refers to a node that contains it");
  // YAML::Load read one (empty) document here; LoadAll looped forever. It must end either way.
  CHECK(parseError(",\n") == "the configuration is empty");
  CHECK_THAT(
      parseError(std::string(kHeader) + "ipvs: " + std::string(40, '[') + std::string(40, ']')),
      Catch::Contains("nests deeper than 32 levels"));
  // Only the first document is read, as kube-proxy does: a broken second one is never parsed.
  CHECK(parseError(std::string(kHeader) + "---\n,\n").empty());

  std::ofstream("agentif_cycle_test.yaml") << kHeader << "ipvs: &i [*i]\n";
  std::vector<std::string> warnings;
  try {
    loadConfigFile("agentif_cycle_test.yaml", warnings);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("agentif_cycle_test.yaml: invalid YAML at line 3"));
  }
  std::remove("agentif_cycle_test.yaml");
}

// Fuzz finding: an invalid UTF-8 path was accepted, then --write-config-to wrote U+FFFD in its
// place, so the written file loaded back different. It is refused when read instead.
TEST_CASE("Invalid UTF-8 in --config is refused, so what is written loads back the same",
          "[config]") {
  const std::string bad =
      std::string(kHeader) + "clientConnection:\n  kubeconfig: /var/lib/ku\xff\xff/k\n";
  CHECK_THAT(parseError(bad),
             Catch::Contains("clientConnection.kubeconfig: a scalar is not valid UTF-8"));
  const std::string good =
      std::string(kHeader) + "clientConnection:\n  kubeconfig: /var/lib/k\xc3\xbc/k\n";
  std::vector<std::string> warnings;
  const Config c = parseConfigYaml(good, warnings);
  CHECK(parseConfigYaml(configToYaml(c), warnings) == c);
}

TEST_CASE("Duplicate fields in --config warn with their path", "[config]") {
  std::vector<std::string> warnings;
  parse("ipvs:\n  scheduler: rr\n  scheduler: wrr\n", &warnings);
  CHECK(warnings ==
        std::vector<std::string>{"duplicate field \"ipvs.scheduler\": the last one wins"});
}
