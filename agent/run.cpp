#include "agent/run.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "agent/api_secrets.h"
#include "agent/config_file.h"
#include "agent/config_watch.h"
#include "agent/conntrack.h"
#include "agent/file_source.h"
#include "agent/flags_table.h"
#include "agent/health.h"
#include "agent/healthcheck_server.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "agent/node_context_builder.h"
#include "agent/pod_cidr_gate.h"
#include "agent/sync_reporter.h"
#include "k8swatch/backoff.h"
#include "k8swatch/watcher.h"
#include "netlink/conntrack_client.h"
#include "netlink/iptables_runner.h"
#include "netlink/kernel_dataplane.h"
#include "netlink/sysctl_client.h"
#include "reconcile/change_queue.h"
#include "reconcile/host_rules.h"
#include "reconcile/sync_loop.h"

namespace agent {

namespace {

std::string nodeNameOf(const Config& config) {
  if (!config.hostnameOverride.empty()) return config.hostnameOverride;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::string name(host);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// IPv4 always; IPv6 too when the host has it, as kube-proxy runs a dual-stack proxier then.
std::vector<ipvs::Family> familiesOf() {
  std::vector<ipvs::Family> families{ipvs::Family::kV4};
  if (std::filesystem::exists("/proc/net/if_inet6")) families.push_back(ipvs::Family::kV6);
  return families;
}

bool applySysctls(const Config& config, const Logger& log) {
  netlink::SysctlClient sysctl;
  auto kernel = netlink::runningKernelVersion();
  const auto settings = netlink::ipvsSysctls(kernel ? *kernel : netlink::KernelVersion{6, 1, 0},
                                             config.ipvs.strictARP);
  bool ok = true;
  for (const auto& s : settings) {
    if (auto r = sysctl.ensure(s.key, s.value); !r) {
      log.error("cannot set sysctl", {{"key", s.key}, {"value", s.value}, {"error", r.error()}});
      ok = false;
    }
  }
  return applyConntrack(config.conntrack, log) && ok;
}

void applyTimeouts(const Config& config, netlink::KernelDataplane& dp, const Logger& log) {
  const auto secs = [](Duration d) {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  };
  const netlink::IpvsTimeouts t{secs(config.ipvs.tcpTimeout), secs(config.ipvs.tcpFinTimeout),
                                secs(config.ipvs.udpTimeout)};
  if (t.tcp == 0 && t.tcpFin == 0 && t.udp == 0) return;
  if (auto r = dp.ipvs().setTimeouts(t); !r)
    log.error("cannot set IPVS timeouts", {{"error", r.error()}});
}

sigset_t stopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// SIGTERM and SIGINT stop the queue, which ends the sync loop. They are blocked in every thread
// (runAgent blocks them before starting any), and this one waits for them.
std::thread signalThread(reconcile::ChangeQueue& queue) {
  return std::thread([set = stopSignals(), &queue] {
    int sig = 0;
    sigwait(&set, &sig);
    queue.stop();
  });
}

// As kube-proxy: a changed --config file ends the agent (runAgent returns 1) so that the
// DaemonSet restarts it with the new content. SIGTERM to the process wakes the signal thread,
// which stops the queue as for any other stop.
std::unique_ptr<ConfigWatch> watchConfigFile(const Options& options, std::atomic<bool>& changed,
                                             const Logger& log) {
  if (options.configFile.empty()) return nullptr;
  auto watch = std::make_unique<ConfigWatch>(
      options.configFile, kConfigWatchPeriod, [&changed, log, file = options.configFile] {
        log.warn("content of the configuration file was updated; exiting to restart with it",
                 {{"file", file}});
        changed = true;
        kill(getpid(), SIGTERM);
      });
  watch->start();
  return watch;
}

// --- kernel set-up ---

struct Kernel {
  std::vector<ipvs::Family> families;
  netlink::KernelDataplane dataplane;
};

std::optional<Kernel> openKernel(const Config& config, const Logger& log) {
  auto families = familiesOf();
  // Opening the IPVS family loads ip_vs, so its net/ipv4/vs sysctls exist afterwards.
  auto dataplane = netlink::KernelDataplane::open({families, {}});
  if (!dataplane) {
    log.error("cannot open the kernel interfaces (is IPVS available?)",
              {{"error", dataplane.error()}});
    return std::nullopt;
  }
  applySysctls(config, log);
  applyTimeouts(config, *dataplane, log);
  return Kernel{std::move(families), std::move(*dataplane)};
}

// The node's context, rebuilt by the sync loop whenever the Node object or the local addresses
// change.
std::function<ipvs::NodeContext(const ipvs::Node*)> nodeContextOf(const Config& config,
                                                                  const std::string& nodeName,
                                                                  Kernel& kernel,
                                                                  const Logger& log) {
  return [&config, nodeName, &kernel, log](const ipvs::Node* node) {
    NodeInputs in;
    in.nodeName = nodeName;
    in.node = node;
    in.families = kernel.families;
    auto& links = kernel.dataplane.links();
    if (auto local = links.localAddresses(kernel.dataplane.dummyIndex())) {
      for (const auto& a : *local) {
        if (a.address.isLoopback()) continue;
        in.candidateAddresses.push_back(a.address);
        in.otherLocalAddresses.push_back(a.address);
      }
    }
    auto built = buildNodeContext(config, in);
    for (const auto& w : built.warnings) log.warn(w);
    return built.context;
  };
}

reconcile::Reconciler::Options reconcilerOptions(const Config& config, ipvs::NodeContext node) {
  const auto drainLimit =
      std::chrono::duration_cast<std::chrono::seconds>(config.agent.gracefulTerminationTimeout);
  reconcile::RetryPolicy retry;
  // A failing Service is retried at least once per sync period (and never in a tight loop).
  retry.max = std::max(
      retry.initial, std::chrono::duration_cast<std::chrono::milliseconds>(config.ipvs.syncPeriod));
  return {std::move(node), drainLimit.count() > 0 ? std::optional(drainLimit) : std::nullopt,
          retry};
}

reconcile::HostRulesOptions hostRulesOptions(const Config& config,
                                             const std::vector<ipvs::Family>& families) {
  return {families, config.iptables.masqueradeAll,
          static_cast<unsigned>(config.iptables.masqueradeBit)};
}

// --- source start ---

// Where Service changes come from: a manifest file (--source) or the API server.
struct Source {
  std::unique_ptr<FileSource> file;
  std::unique_ptr<k8swatch::Watcher> watcher;

  void start() {
    if (file) file->start();
    if (watcher) watcher->start();
  }
  void stop() {
    if (watcher) watcher->stop();
    if (file) file->stop();
  }
};

// Builds the source without starting it. Building the Watcher throws on a bad kubeconfig, so this
// runs before any thread that would have to be stopped on that error.
std::optional<Source> makeSource(const Options& options, const std::string& nodeName,
                                 k8swatch::EventSink& sink, k8swatch::RequestObserver& observer,
                                 const Logger& root) {
  const Config& config = options.config;
  Source source;
  if (!config.agent.source.empty()) {
    source.file =
        std::make_unique<FileSource>(config.agent.source, sink, root.withComponent("source"));
    return source;
  }
  k8swatch::WatcherOptions wo;
  wo.nodeName = nodeName;
  wo.serviceProxyName = config.serviceProxyName;
  wo.qps = config.clientConnection.qps;
  wo.burst = config.clientConnection.burst;
  wo.observer = &observer;
  // client-go's gate of the same name: off unless the operator turns it on, as in kube-proxy.
  const auto watchList = config.featureGates.find("WatchListClient");
  wo.watchList = watchList != config.featureGates.end() && watchList->second;
  try {
    source.watcher = std::make_unique<k8swatch::Watcher>(
        withMaskedTokens(
            k8swatch::resolveClusterConfig(config.clientConnection.kubeconfig, options.master),
            root),
        wo, sink);
  } catch (const std::exception& e) {
    root.withComponent("agent").error("cannot configure the API client", {{"error", e.what()}});
    return std::nullopt;
  }
  return source;
}

// --- detect-local-mode NodeCIDR ---

// With NodeCIDR the Node's podCIDRs gate the start and a change of them ends the agent (exit 1),
// as in kube-proxy (agent/pod_cidr_gate.h). Other modes have no gate.
std::unique_ptr<PodCidrGate> makePodCidrGate(const Config& config, const std::string& nodeName,
                                             reconcile::ChangeQueue& queue,
                                             std::atomic<bool>& changed, const Logger& log) {
  if (effectiveDetectLocalMode(config) != "NodeCIDR") return nullptr;
  PodCidrGateOptions options{nodeName, kPodCidrWaitTimeout, !config.agent.source.empty()};
  return std::make_unique<PodCidrGate>(queue, std::move(options), ipvs::steadyClock(), log,
                                       [&changed] {
                                         changed = true;
                                         kill(getpid(), SIGTERM);  // stops the queue
                                       });
}

// Where changes come from and what ends the agent: the source (through the NodeCIDR gate, if
// any) into the queue, the signal thread and the --config watch.
struct Inputs {
  reconcile::ChangeQueue queue;
  std::atomic<bool> podCidrsChanged{false};
  std::atomic<bool> configChanged{false};
  std::unique_ptr<PodCidrGate> gate;
  std::optional<Source> source;
  std::thread signals;
  std::unique_ptr<ConfigWatch> configWatch;

  k8swatch::EventSink& sink() { return gate ? static_cast<k8swatch::EventSink&>(*gate) : queue; }
  void stop() {
    if (configWatch) configWatch->stop();
    if (source) source->stop();
    if (!signals.joinable()) return;
    // Only the signal thread stops the queue; before that it waits for a signal.
    if (!queue.stopped()) kill(getpid(), SIGTERM);
    signals.join();
  }
};

// --- HTTP set-up ---

struct StatusServers {
  std::unique_ptr<HttpServer> healthz;
  std::unique_ptr<HttpServer> metrics;
};

std::optional<StatusServers> startStatusServers(HttpService& http, const Config& config,
                                                const HealthState& health,
                                                const MetricsRegistry& registry,
                                                AgentMetrics& metrics, const Logger& log) {
  const bool hardFail = config.bindAddressHardFail;
  auto healthz = serveStatusPort(http, config.healthzBindAddress, hardFail,
                                 healthzRoutes(health, metrics), log, metrics, "healthz");
  if (!healthz) return std::nullopt;
  auto metricsServer =
      serveStatusPort(http, config.metricsBindAddress, hardFail,
                      metricsRoutes(registry, configzBody(config)), log, metrics, "metrics");
  if (!metricsServer) return std::nullopt;
  return StatusServers{std::move(*healthz), std::move(*metricsServer)};
}

}  // namespace

ipvs::Result<std::unique_ptr<HttpServer>> serveStatusPort(HttpService& http,
                                                          const std::string& address, bool hardFail,
                                                          HttpRoutes routes, const Logger& log,
                                                          AgentMetrics& metrics, const char* name) {
  if (address.empty()) return std::unique_ptr<HttpServer>();
  auto bind = parseBindAddress(address);
  if (!bind) return std::unique_ptr<HttpServer>();  // validated at start-up
  if (hardFail) {
    auto server = HttpServer::listen(http, *bind, std::move(routes));
    if (!server) {
      log.error("cannot bind; exiting as bindAddressHardFail is set",
                {{"server", name}, {"address", address}, {"error", server.error()}});
      metrics.httpBindErrors.labels({name}).inc();
    }
    return server;
  }
  return HttpServer::listenWithRetry(
      http, *bind, std::move(routes), std::chrono::seconds(5),
      [log, &metrics, name, address](std::error_code ec) {
        log.error("cannot bind; retrying", {{"server", name}, {"address", address}, {"error", ec}});
        metrics.httpBindErrors.labels({name}).inc();
      },
      HttpLimits{.onRejected = httpRejectHook(metrics, name)});
}

int runInitOnly(const Options& options) {
  Logger log =
      Logger(Logger::Options{options.config.logging.verbosity, {}, {}}).withComponent("init");
  // Loading ip_vs first (through its netlink family) makes its sysctls appear.
  auto ipvs = netlink::IpvsClient::open();
  if (!ipvs)
    log.error("cannot open IPVS (is the ip_vs module available?)", {{"error", ipvs.error()}});
  return ipvs && applySysctls(options.config, log) ? 0 : 1;
}

int runAgent(const Options& options) {
  // The first sync reports the time from here to the watches (the start phase) and on.
  const auto agentStarted = ipvs::steadyClock().now();
  const Config& config = options.config;
  // Blocked before any thread starts, so only the signal thread receives them.
  const sigset_t signalsToWait = stopSignals();
  pthread_sigmask(SIG_BLOCK, &signalsToWait, nullptr);
  Logger root(Logger::Options{config.logging.verbosity, {}, {}});
  Logger log = root.withComponent("agent");
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  root.setErrorHook(logErrorHook(metrics));
  HealthState health(2 * config.ipvs.syncPeriod);
  HttpService http;
  auto status = startStatusServers(http, config, health, registry, metrics, log);
  if (!status) return 1;

  const std::string nodeName = nodeNameOf(config);
  Inputs in;
  in.gate = makePodCidrGate(config, nodeName, in.queue, in.podCidrsChanged, log);
  RestClientMetrics restClient(metrics);
  in.source = makeSource(options, nodeName, in.sink(), restClient, root);
  if (!in.source) return 1;
  in.signals = signalThread(in.queue);
  in.configWatch = watchConfigFile(options, in.configChanged, log);
  const auto listStarted = ipvs::steadyClock().now();
  in.source->start();
  log.info("started",
           {{"node", nodeName},
            {"source", config.agent.source.empty() ? std::string("api") : config.agent.source}});
  // kube-proxy waits for the podCIDRs before its proxier creates anything in the kernel.
  if (in.gate) {
    const auto waited = in.gate->wait([&in] { return in.queue.stopped(); }, &health);
    if (waited != PodCidrGate::Outcome::kReady) {
      in.stop();  // a signal during the wait is a clean stop, anything else a failed start-up
      return waited == PodCidrGate::Outcome::kStopped && !in.configChanged ? 0 : 1;
    }
  }
  auto kernel = openKernel(config, log);
  if (!kernel) {
    in.stop();
    return 1;
  }

  const auto nodeContext = nodeContextOf(config, nodeName, *kernel, log);
  reconcile::Reconciler reconciler(kernel->dataplane,
                                   reconcilerOptions(config, nodeContext(nullptr)),
                                   k8swatch::defaultRandom());
  // Periodic full resyncs dump the kernel on a thread of their own, so that changes are not
  // queued behind the dump (seconds at 10,000 Services).
  if (auto reader = kernel->dataplane.openReader()) {
    // `in` outlives the reconciler, whose destructor waits for a running dump.
    reconciler.dumpInBackground(std::move(reader), [&in] { in.queue.wake(); });
  } else {
    log.warn("cannot open a second set of kernel sockets: full resyncs dump on the sync thread");
  }
  // Stale UDP conntrack cleanup, as kube-proxy; without ctnetlink the entries just time out.
  auto conntrack = netlink::ConntrackClient::open();
  if (conntrack) {
    reconciler.setConntrack(&*conntrack);
  } else {
    log.warn("cannot open ctnetlink: stale UDP conntrack entries are left to time out",
             {{"error", conntrack.error()}});
  }
  netlink::IptablesRunner iptables;
  reconcile::HostRules hostRules(iptables, hostRulesOptions(config, kernel->families));
  // The first sync's iptables-save runs now, beside the list, instead of after it (the repair
  // thread touches the runner only after a sync).
  for (const auto family : kernel->families) iptables.prefetch(family);
  HealthCheckServer healthChecks(http, reconciler.node().nodePortAddresses, health, metrics,
                                 root.withComponent("healthcheck"));
  SyncReporter reporter(root.withComponent("sync"), metrics, health, &healthChecks);
  reconcile::SyncLoop loop(
      reconciler, in.queue, reporter, &hostRules, ipvs::steadyClock(),
      {std::chrono::duration_cast<std::chrono::milliseconds>(config.ipvs.syncPeriod),
       std::chrono::duration_cast<std::chrono::milliseconds>(config.ipvs.minSyncPeriod), nodeName,
       nodeContext, agentStarted, listStarted});
  loop.run();
  log.info("stopping; the kernel state is left in place");
  in.stop();
  return in.configChanged || in.podCidrsChanged ? 1 : 0;
}

}  // namespace agent
