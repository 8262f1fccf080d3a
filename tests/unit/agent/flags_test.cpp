#include "agent/flags.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "agent/config_file.h"
#include "agent/config_notices.h"

using namespace agent;
using namespace std::chrono_literals;

namespace {

Options load(std::vector<std::string_view> args) { return loadOptions(args); }

std::string errorOf(std::vector<std::string_view> args) {
  try {
    loadOptions(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool hasWarning(const Options& o, const std::string& needle) {
  for (const auto& w : o.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

struct TempFile {
  explicit TempFile(std::string name, const std::string& text) : path(std::move(name)) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

}  // namespace

TEST_CASE("No flags gives the defaults", "[flags]") {
  const Options o = load({});
  CHECK(o.config == Config{});
  CHECK(o.configFile.empty());
  CHECK_FALSE(o.cleanup);
  CHECK_FALSE(o.help);
  CHECK(o.warnings.empty());  // the defaults are all applied (conntrack included)
  CHECK(o.notices == std::vector<std::string>{
                         "clientConnection.contentType (--kube-api-content-type): "
                         "application/vnd.kubernetes.protobuf accepted; the API client uses "
                         "application/json"});
}

TEST_CASE("Every kube-proxy flag reaches its field", "[flags]") {
  const Options o =
      load({"--kubeconfig=/k.conf",
            "--master",
            "https://10.0.0.1:6443",
            "--hostname-override=Node-A",
            "--proxy-mode=ipvs",
            "--ipvs-scheduler=wlc",
            "--ipvs-sync-period=1m",
            "--ipvs-min-sync-period",
            "2s",
            "--ipvs-strict-arp",
            "--ipvs-exclude-cidrs=10.0.0.0/8,192.168.0.0/16",
            "--ipvs-tcp-timeout=15m",
            "--ipvs-tcpfin-timeout=30s",
            "--ipvs-udp-timeout=5s",
            "--cluster-cidr=10.244.0.0/16",
            "--masquerade-all=true",
            "--nodeport-addresses=10.0.0.0/24",
            "--healthz-bind-address=127.0.0.1:30256",
            "--metrics-bind-address=0.0.0.0",
            "--cleanup",
            "--write-config-to=/tmp/out.yaml",
            "-v=4",
            "--iptables-masquerade-bit=13",
            "--bind-address=10.0.0.7",
            "--bind-address-hard-fail",
            "--config-sync-period=5m",
            "--kube-api-qps=20.5",
            "--kube-api-burst=40",
            "--kube-api-content-type=application/json",
            "--oom-score-adj=-100",
            "--feature-gates=TopologyAwareHints=true,ServiceTrafficDistribution=false",
            "--source=/srv/manifests",
            "--dry-run",
            "--graceful-termination-timeout=10m",
            "--detect-local-mode=InterfaceNamePrefix",
            "--pod-interface-name-prefix=veth",
            "--conntrack-max-per-core=0",
            "--init-only=false"});
  const Config& c = o.config;
  CHECK(c.clientConnection.kubeconfig == "/k.conf");
  CHECK(o.master == "https://10.0.0.1:6443");
  CHECK(c.hostnameOverride == "node-a");  // lower-cased, as upstream
  CHECK(c.mode == "ipvs");
  CHECK(c.ipvs.scheduler == "wlc");
  CHECK(c.ipvs.syncPeriod == 1min);
  CHECK(c.ipvs.minSyncPeriod == 2s);
  CHECK(c.ipvs.strictARP);
  CHECK(c.ipvs.excludeCIDRs == std::vector<std::string>{"10.0.0.0/8", "192.168.0.0/16"});
  CHECK(c.ipvs.tcpTimeout == 15min);
  CHECK(c.ipvs.tcpFinTimeout == 30s);
  CHECK(c.ipvs.udpTimeout == 5s);
  CHECK(c.clusterCIDR == "10.244.0.0/16");
  CHECK(c.iptables.masqueradeAll);
  CHECK(c.nodePortAddresses == std::vector<std::string>{"10.0.0.0/24"});
  CHECK(c.healthzBindAddress == "127.0.0.1:30256");
  CHECK(c.metricsBindAddress == "0.0.0.0:10249");  // a bare IP gets the default port
  CHECK(o.cleanup);
  CHECK(o.writeConfigTo == "/tmp/out.yaml");
  CHECK(c.logging.verbosity == 4);
  CHECK(c.iptables.masqueradeBit == 13);
  CHECK(c.bindAddress == "10.0.0.7");
  CHECK(c.bindAddressHardFail);
  CHECK(c.configSyncPeriod == 5min);
  CHECK(c.clientConnection.qps == 20.5f);
  CHECK(c.clientConnection.burst == 40);
  CHECK(c.clientConnection.contentType == "application/json");
  CHECK(c.oomScoreAdj == -100);
  CHECK(c.featureGates == std::map<std::string, bool>{{"TopologyAwareHints", true},
                                                      {"ServiceTrafficDistribution", false}});
  CHECK(c.agent.source == "/srv/manifests");
  CHECK(c.agent.dryRun);
  CHECK(c.agent.gracefulTerminationTimeout == 10min);
  CHECK(c.detectLocalMode == "InterfaceNamePrefix");
  CHECK(c.detectLocal.interfaceNamePrefix == "veth");
  CHECK(c.conntrack.maxPerCore == 0);
  CHECK_FALSE(o.initOnly);
  CHECK(hasWarning(o, "featureGates.TopologyAwareHints (--feature-gates): accepted (true)"));
}

TEST_CASE("Flag value forms", "[flags]") {
  CHECK(load({"--ipvs-strict-arp"}).config.ipvs.strictARP);
  CHECK_FALSE(load({"--ipvs-strict-arp=false"}).config.ipvs.strictARP);
  CHECK(load({"--ipvs-strict-arp=1"}).config.ipvs.strictARP);
  CHECK(load({"--ipvs-scheduler", "sh"}).config.ipvs.scheduler == "sh");
  CHECK(load({"--ipvs-scheduler=sh"}).config.ipvs.scheduler == "sh");
  CHECK(load({"-v", "5"}).config.logging.verbosity == 5);
  CHECK(load({"-v=6"}).config.logging.verbosity == 6);
  CHECK(load({"-v7"}).config.logging.verbosity == 7);
  CHECK(load({"--v=2"}).config.logging.verbosity == 2);
  CHECK(load({"--v", "3"}).config.logging.verbosity == 3);
  CHECK(load({"-h"}).help);
  CHECK(load({"--help"}).help);
  CHECK(load({"--help", "--config=/nonexistent.yaml", "--ipvs-sync-period=0s"}).help);
  CHECK(load({"--proxy-mode="}).config.mode.empty());
  CHECK(load({""}).config == Config{});  // empty arguments are skipped, as kube-proxy
  // Lists: the first occurrence replaces the default, later ones append (pflag StringSlice).
  CHECK(load({"--ipvs-exclude-cidrs=10.0.0.0/8", "--ipvs-exclude-cidrs", "fd00::/8"})
            .config.ipvs.excludeCIDRs == std::vector<std::string>{"10.0.0.0/8", "fd00::/8"});
  CHECK(load({"--nodeport-addresses="}).config.nodePortAddresses.empty());
  // Deprecated ports: 0 disables the server.
  CHECK(load({"--healthz-port=0"}).config.healthzBindAddress.empty());
  CHECK(load({"--metrics-port=0"}).config.metricsBindAddress.empty());
  CHECK(load({"--metrics-port=9999"}).config.metricsBindAddress == "127.0.0.1:10249");
  CHECK(load({"--healthz-bind-address=::"}).config.healthzBindAddress == "[::]:10256");
  CHECK(load({"--sync-period=45s"}).config.ipvs.syncPeriod == 45s);
}

TEST_CASE("Flag errors are clear", "[flags]") {
  CHECK(errorOf({"--no-such-flag"}) ==
        "unknown flag: --no-such-flag (run with --help for the flags)");
  CHECK(errorOf({"--no-such-flag=1"}) ==
        "unknown flag: --no-such-flag (run with --help for the flags)");
  CHECK(errorOf({"-x"}).starts_with("unknown shorthand flag \"-x\""));
  CHECK(errorOf({"stray"}) ==
        "ipvs-agent does not take positional arguments, got \"stray\" (run with --help for the "
        "flags)");
  CHECK(errorOf({"--ipvs-strict-arp", "true"})
            .starts_with("ipvs-agent does not take positional arguments, got \"true\""));
  CHECK(errorOf({"--ipvs-scheduler"}) == "flag needs an argument: --ipvs-scheduler");
  CHECK(errorOf({"--ipvs-sync-period=30"}) ==
        "invalid argument \"30\" for --ipvs-sync-period: must be a duration such as 500ms, 30s, "
        "1m30s");
  CHECK(errorOf({"--masquerade-all=maybe"}) ==
        "invalid argument \"maybe\" for --masquerade-all: must be true or false");
  CHECK(errorOf({"--oom-score-adj=low"}) ==
        "invalid argument \"low\" for --oom-score-adj: must be a 32-bit integer");
  CHECK(errorOf({"--bind-address=node"}) ==
        "invalid argument \"node\" for --bind-address: must be an IP address");
  CHECK(errorOf({"--healthz-bind-address=host:1"}) ==
        "invalid argument \"host:1\" for --healthz-bind-address: must be IP or IP:port");
  CHECK(errorOf({"--feature-gates=A"}) ==
        "invalid argument \"A\" for --feature-gates: must be a comma-separated list of "
        "Name=true|false");
  CHECK(errorOf({"--kube-api-qps=fast"}) ==
        "invalid argument \"fast\" for --kube-api-qps: must be a number");
  CHECK(errorOf({"--hostname-override=   "}) ==
        "--hostname-override: empty hostname-override is invalid");
}

TEST_CASE("Proxy modes other than ipvs explain what this agent is", "[flags]") {
  for (const char* mode : {"iptables", "nftables"}) {
    const std::string err = errorOf({"--proxy-mode", mode});
    INFO(err);
    CHECK(err.find("ipvs-agent implements kube-proxy's IPVS mode only") != std::string::npos);
    CHECK(err.find("--proxy-mode=ipvs") != std::string::npos);
    CHECK(err.find(std::string("keep kube-proxy for ") + mode + " mode") != std::string::npos);
  }
  CHECK(errorOf({"--proxy-mode=turbo"}) ==
        "invalid argument \"turbo\" for --proxy-mode: the only proxy mode is ipvs");
}

TEST_CASE("Validation errors from flags name the field and list them all", "[flags]") {
  CHECK(errorOf({"--ipvs-sync-period=0s", "--iptables-masquerade-bit=40"}) ==
        "invalid configuration:\n"
        "  ipvs.syncPeriod: must be greater than 0\n"
        "  iptables.masqueradeBit: must be within the range [0, 31], got 40");
}

TEST_CASE("With --config the file wins, except the flags documented to apply", "[flags]") {
  TempFile file("agentif_flags_config.yaml",
                "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
                "kind: KubeProxyConfiguration\n"
                "hostnameOverride: from-file\n"
                "ipvs:\n  scheduler: sh\n  syncPeriod: 20s\n"
                "logging:\n  verbosity: 1\n"
                "ipvsAgent:\n  source: /from/file\n  dryRun: false\n"
                "unknownThing: 1\n");
  const Options o =
      load({"--config", file.path, "--ipvs-scheduler=lc", "--ipvs-sync-period=5s",
            "--masquerade-all", "--hostname-override=FROM-FLAG", "-v=5", "--source=/from/flag",
            "--dry-run", "--master=https://api:6443", "--cleanup"});
  const Config& c = o.config;
  CHECK(o.configFile == file.path);
  CHECK(c.ipvs.scheduler == "sh");           // file wins
  CHECK(c.ipvs.syncPeriod == 20s);           // file wins
  CHECK_FALSE(c.iptables.masqueradeAll);     // file (default) wins
  CHECK(c.hostnameOverride == "from-flag");  // flag wins, lower-cased
  CHECK(c.logging.verbosity == 5);           // logging flags win
  CHECK(c.agent.source == "/from/flag");     // ipvs-agent's own flags win
  CHECK(c.agent.dryRun);
  CHECK(o.master == "https://api:6443");
  CHECK(o.cleanup);
  CHECK(hasWarning(o, "flag --ipvs-scheduler is ignored: the --config file wins"));
  CHECK(hasWarning(o, "flag --ipvs-sync-period is ignored"));
  CHECK(hasWarning(o, "flag --masquerade-all is ignored"));
  CHECK_FALSE(hasWarning(o, "flag --hostname-override"));
  CHECK(hasWarning(o, "unknown field \"unknownThing\" ignored"));
}

TEST_CASE("A bad --config file fails with the file and field", "[flags]") {
  TempFile file("agentif_flags_bad.yaml",
                "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
                "ipvs:\n  syncPeriod: -1s\nmode: iptables\n");
  const std::string err = errorOf({"--config", file.path});
  CHECK(err.starts_with("invalid configuration (from agentif_flags_bad.yaml):\n"));
  CHECK(err.find("\n  ipvs.syncPeriod: must be greater than 0") != std::string::npos);
  CHECK(err.find("\n  mode: \"iptables\" is not supported") != std::string::npos);
  CHECK(errorOf({"--config", "/nonexistent.yaml"}).starts_with("--config: cannot read"));
}

TEST_CASE("The written config (--write-config-to) loads back as the same configuration",
          "[flags]") {
  const Options o = load({"--ipvs-scheduler=wrr", "--ipvs-sync-period=45s", "--masquerade-all",
                          "--cluster-cidr=10.244.0.0/16", "--hostname-override=n1", "-v=2",
                          "--source=/m", "--write-config-to=agentif_written.yaml"});
  writeConfigFile(o.writeConfigTo, o.config);
  const Options back = load({"--config=agentif_written.yaml"});
  std::remove("agentif_written.yaml");
  CHECK(back.config == o.config);
  CHECK(back.warnings == o.warnings);  // no unknown field, the same unused-setting warnings
}

TEST_CASE("usage lists every flag", "[flags]") {
  const std::string text = usage();
  for (const char* name : {"--kubeconfig",
                           "--master",
                           "--config ",
                           "--hostname-override",
                           "--proxy-mode",
                           "--ipvs-scheduler",
                           "--ipvs-sync-period",
                           "--ipvs-min-sync-period",
                           "--ipvs-strict-arp",
                           "--ipvs-exclude-cidrs",
                           "--ipvs-tcp-timeout",
                           "--ipvs-tcpfin-timeout",
                           "--ipvs-udp-timeout",
                           "--cluster-cidr",
                           "--masquerade-all",
                           "--nodeport-addresses",
                           "--healthz-bind-address",
                           "--metrics-bind-address",
                           "--cleanup",
                           "--write-config-to",
                           "--v ",
                           "--source",
                           "--dry-run",
                           "--graceful-termination-timeout",
                           "--help"}) {
    INFO(name);
    CHECK(text.find(name) != std::string::npos);
  }
}

TEST_CASE("Every accepted flag that does nothing yet names itself in a start-up warning",
          "[flags]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--config-sync-period=5m", "configSyncPeriod (--config-sync-period): not applied"},
      {"--kube-api-content-type=text/plain",
       "clientConnection.contentType (--kube-api-content-type): \"text/plain\" is not supported"},
      {"--show-hidden-metrics-for-version=1.29",
       "showHiddenMetricsForVersion (--show-hidden-metrics-for-version): not applied"},
      {"--log-flush-frequency=1s", "logging.flushFrequency (--log-flush-frequency): not applied"},
      {"--pod-bridge-interface=cni0",
       "detectLocal.bridgeInterface (--pod-bridge-interface): not used: detectLocalMode is "
       "ClusterCIDR"},
      {"--pod-interface-name-prefix=veth",
       "detectLocal.interfaceNamePrefix (--pod-interface-name-prefix): not used: "
       "detectLocalMode is ClusterCIDR"},
      {"--log-json-split-stream", "logging.options.*.splitStream (--log-*-split-stream)"},
      {"--log-text-split-stream", "logging.options.*.splitStream (--log-*-split-stream)"},
      {"--log-json-info-buffer-size=64Ki",
       "logging.options.*.infoBufferSize (--log-*-info-buffer-size)"},
      {"--log-text-info-buffer-size=1Mi",
       "logging.options.*.infoBufferSize (--log-*-info-buffer-size)"},
      {"--vmodule=proxier=4", "logging.vmodule (--vmodule): not supported"},
      {"--logging-format=json", "logging.format (--logging-format): \"json\" is not supported"},
      {"--profiling", "enableProfiling (--profiling): no pprof endpoint"},
      {"--feature-gates=AllBeta=true", "featureGates.AllBeta (--feature-gates): accepted (true)"},
      {"--iptables-sync-period=1m", "iptables.syncPeriod/minSyncPeriod/localhostNodePorts"},
      {"--logtostderr", "flag --logtostderr is accepted and ignored"},
  };
  for (const auto& [flag, warning] : cases) {
    INFO(flag);
    const Options o = load({flag});
    CHECK(hasWarning(o, warning));
  }
  // The defaults warn only about what kube-proxy would do by default (conntrack).
  const Options none = load({"--conntrack-max-per-core=0", "--conntrack-tcp-timeout-established=0",
                             "--conntrack-tcp-timeout-close-wait=0"});
  CHECK(none.warnings.empty());
}

TEST_CASE("Unknown feature gates and --version", "[flags]") {
  CHECK(errorOf({"--feature-gates=NoSuchGate=true"}) ==
        "invalid configuration:\n  featureGates: unrecognized feature gate: NoSuchGate");
  const Options v = load({"--version", "--config=/nonexistent.yaml"});
  CHECK(v.version);  // printed before anything is loaded, as --help
  CHECK(versionText().starts_with("ipvs-agent v" + std::string(kAgentVersion)));
  CHECK(usage().find("--log-text-split-stream") != std::string::npos);
}

TEST_CASE("writeOomScoreAdj writes the value and reports a failure", "[flags]") {
  const std::string path = "agentif_oom_score_adj";
  REQUIRE_FALSE(writeOomScoreAdj(path, -999));
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  std::remove(path.c_str());
  CHECK(text == "-999");
  CHECK(writeOomScoreAdj("/nonexistent/dir/oom_score_adj", -999) ==
        std::error_code(ENOENT, std::generic_category()));
}
