#pragma once
// The agent's view of the Kubernetes API: list+watch of Services, EndpointSlices and the
// agent's own Node, decoded into the ipvs model and handed to an EventSink.
// Threading: start() spawns one thread running an Asio io_context with one Reflector coroutine
// per resource; the sink is called on that thread. stop() (also run by the destructor) stops
// the io_context and joins. stats() may be called from any thread.
// Ownership: owns its thread, io_context, connections and caches; borrows the sink, which must
// outlive the Watcher. Errors: construction throws ConfigError on a bad server URL or TLS
// material; afterwards nothing throws: failures are retried with backoff and counted.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "k8swatch/backoff.h"
#include "k8swatch/event_sink.h"
#include "k8swatch/kubeconfig.h"
#include "k8swatch/reflector.h"
#include "k8swatch/stats.h"

namespace boost::asio {
class io_context;
}

namespace k8swatch {

struct WatcherOptions {
  std::string nodeName;  // empty: no Node watch, and synced(kNode) is reported at once
  std::string serviceProxyName;
  std::size_t pageSize = 500;
  std::size_t maxEventBytes = 16u << 20;
  std::size_t maxListBytes = 512u << 20;
  std::chrono::seconds minWatchTimeout{300};
  std::chrono::seconds maxWatchTimeout{600};
  std::chrono::milliseconds requestTimeout{30000};
  std::chrono::milliseconds watchIdleTimeout{0};  // 0: each watch's timeoutSeconds + 30 s
  bool watchList = false;  // streaming lists (client-go's WatchListClient); see reflector.h
  BackoffOptions backoff;
  // The client-side rate limit shared by every request (client-go's defaults; qps <= 0: none).
  double qps = 5;
  int burst = 10;
  RequestObserver* observer = nullptr;  // borrowed; counts every API request (rest_client_*)
  std::shared_ptr<const Clock> clock;   // null: ipvs::SteadyClock
  SleepFn sleep;                        // null: steadySleep
  RandomFn random;                      // null: defaultRandom()
  LogFn log;                            // null: lines on stderr
};

// The label selector for Services and EndpointSlices (docs/kube-proxy-behaviour.md#watches).
std::string serviceLabelSelector(const std::string& serviceProxyName);

class Watcher {
 public:
  Watcher(const ClusterConfig& config, WatcherOptions options, EventSink& sink);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  void start();
  void stop();
  WatchStatsSnapshot stats() const { return stats_.snapshot(); }

 private:
  ReflectorOptions reflectorOptions(std::string path, std::string labels, std::string fields) const;

  WatcherOptions options_;
  EventSink& sink_;
  ApiEndpoint endpoint_;
  WatchStats stats_;
  std::vector<std::unique_ptr<ObjectCache>> caches_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  std::unique_ptr<boost::asio::io_context> ioc_;
  std::thread thread_;
};

}  // namespace k8swatch
