#include "k8swatch/watcher.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

namespace k8swatch {

std::string serviceLabelSelector(const std::string& serviceProxyName) {
  const std::string headless = "!" + std::string(ipvs::kLabelHeadless);
  if (serviceProxyName.empty()) {
    return "!" + std::string(ipvs::kLabelServiceProxyName) + "," + headless;
  }
  return std::string(ipvs::kLabelServiceProxyName) + "=" + serviceProxyName + "," + headless;
}

Watcher::Watcher(const ClusterConfig& config, WatcherOptions options, EventSink& sink)
    : options_(std::move(options)), sink_(sink), endpoint_(config) {
  if (!options_.clock) options_.clock = std::make_shared<ipvs::SteadyClock>();
  if (!options_.sleep) options_.sleep = steadySleep;
  if (!options_.random) options_.random = defaultRandom();
  endpoint_.setRateLimiter(
      std::make_shared<RateLimiter>(*options_.clock, options_.sleep, options_.qps, options_.burst));
  if (options_.observer) endpoint_.setObserver(options_.observer, *options_.clock);
  if (!options_.log) {
    options_.log = [](LogLevel level, const std::string& line) {
      static constexpr const char* kNames[] = {"info", "warning", "error"};
      std::cerr << "k8swatch " << kNames[static_cast<int>(level)] << ": " << line << "\n";
    };
  }
}

Watcher::~Watcher() { stop(); }

ReflectorOptions Watcher::reflectorOptions(std::string path, std::string labels,
                                           std::string fields) const {
  ReflectorOptions r;
  r.path = std::move(path);
  r.labelSelector = std::move(labels);
  r.fieldSelector = std::move(fields);
  r.pageSize = options_.pageSize;
  r.maxEventBytes = options_.maxEventBytes;
  r.maxListBytes = options_.maxListBytes;
  r.minWatchTimeout = options_.minWatchTimeout;
  r.maxWatchTimeout = options_.maxWatchTimeout;
  r.requestTimeout = options_.requestTimeout;
  r.watchIdleTimeout = options_.watchIdleTimeout;
  r.watchList = options_.watchList;
  r.backoff = options_.backoff;
  return r;
}

void Watcher::start() {
  if (ioc_) return;
  ioc_ = std::make_unique<boost::asio::io_context>(1);
  const std::string selector = serviceLabelSelector(options_.serviceProxyName);
  struct Resource {
    ResourceKind kind;
    std::string path, labels, fields;
  };
  std::vector<Resource> resources = {
      {ResourceKind::kService, "/api/v1/services", selector, ""},
      {ResourceKind::kEndpointSlice, "/apis/discovery.k8s.io/v1/endpointslices", selector, ""},
  };
  if (!options_.nodeName.empty()) {
    resources.push_back(
        {ResourceKind::kNode, "/api/v1/nodes", "", "metadata.name=" + options_.nodeName});
  }
  for (auto& r : resources) {
    caches_.push_back(makeObjectCache(r.kind, sink_, stats_));
    reflectors_.push_back(std::make_unique<Reflector>(
        ioc_->get_executor(), endpoint_, *caches_.back(), stats_, *options_.clock, options_.sleep,
        options_.random, options_.log, reflectorOptions(r.path, r.labels, r.fields)));
    boost::asio::co_spawn(*ioc_, reflectors_.back()->run(), boost::asio::detached);
  }
  if (options_.nodeName.empty()) {
    stats_.of(ResourceKind::kNode).synced = true;
    sink_.synced(ResourceKind::kNode);
  }
  thread_ = std::thread([this] { ioc_->run(); });
}

void Watcher::stop() {
  if (!ioc_) return;
  ioc_->stop();
  if (thread_.joinable()) thread_.join();
  for (auto& r : reflectors_) r->closeConnection();
  // Destroying the io_context destroys the suspended coroutines (and their sockets) while the
  // reflectors and caches they reference are still alive.
  ioc_.reset();
  reflectors_.clear();
  caches_.clear();
}

}  // namespace k8swatch
