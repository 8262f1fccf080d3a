#pragma once
// Test doubles for the watch tests: a recording EventSink with waits, and a clock whose
// sleeps return at once (after a 1 ms real pause so a retry loop cannot spin) while recording
// the requested durations.

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "k8swatch/backoff.h"
#include "k8swatch/event_sink.h"
#include "k8swatch/watcher.h"

namespace k8stest {

class RecordingSink : public k8swatch::EventSink {
 public:
  void serviceUpdated(ipvs::Service svc) override {
    record("svc+ " + svc.key.str(), [&] { services[svc.key.str()] = std::move(svc); });
  }
  void serviceDeleted(const ipvs::ObjectKey& key) override {
    record("svc- " + key.str(), [&] { services.erase(key.str()); });
  }
  void sliceUpdated(ipvs::EndpointSlice slice) override {
    record("slice+ " + slice.key.str(), [&] { slices[slice.key.str()] = std::move(slice); });
  }
  void sliceDeleted(const ipvs::EndpointSlice& last) override {
    record("slice- " + last.key.str() + " of " + last.serviceName,
           [&] { slices.erase(last.key.str()); });
  }
  void nodeUpdated(ipvs::Node node) override {
    record("node+ " + node.name, [&] { nodes[node.name] = std::move(node); });
  }
  void nodeDeleted(const std::string& name) override {
    record("node- " + name, [&] { nodes.erase(name); });
  }
  void synced(k8swatch::ResourceKind kind) override {
    record("synced " + std::string(k8swatch::resourceKindName(kind)), [&] { ++syncedCount[kind]; });
  }
  void rejected(k8swatch::ResourceKind, const std::string& object, std::string_view reason,
                const std::string& message) override {
    record("reject " + std::string(reason) + " " + object,
           [&] { rejectMessages.push_back(message); });
  }

  // Waits (up to a generous liveness bound, never asserted as a duration) for `pred`, which
  // runs under the lock.
  // Predicates may also look at state that does not notify (server, stats): poll every 5 ms.
  template <class Pred>
  bool waitFor(Pred pred) {
    std::unique_lock lock(mutex);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv.wait_for(lock, std::chrono::milliseconds(5));
    }
    return true;
  }
  bool waitSynced() {
    return waitFor([&] {
      return syncedCount.count(k8swatch::ResourceKind::kService) &&
             syncedCount.count(k8swatch::ResourceKind::kEndpointSlice) &&
             syncedCount.count(k8swatch::ResourceKind::kNode);
    });
  }
  bool waitLog(const std::string& line) {
    return waitFor([&] {
      for (const auto& l : log) {
        if (l == line) return true;
      }
      return false;
    });
  }
  template <class F>
  auto locked(F f) {
    std::lock_guard lock(mutex);
    return f();
  }

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> log;
  std::map<std::string, ipvs::Service> services;
  std::map<std::string, ipvs::EndpointSlice> slices;
  std::map<std::string, ipvs::Node> nodes;
  std::map<k8swatch::ResourceKind, int> syncedCount;
  std::vector<std::string> rejectMessages;

 private:
  template <class F>
  void record(std::string line, F apply) {
    {
      std::lock_guard lock(mutex);
      log.push_back(std::move(line));
      apply();
    }
    cv.notify_all();
  }
};

class RecordingClock final : public ipvs::Clock {
 public:
  // Real elapsed time plus every sleep taken, so a watch that really lasted seconds is not
  // mistaken for a "very short watch".
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return std::chrono::steady_clock::now() + (now_ - TimePoint{});
  }
  WallTime wallNow() const override { return WallTime{}; }
  boost::asio::awaitable<void> sleep(Duration d) {
    {
      std::lock_guard lock(mutex_);
      sleeps_.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d));
      now_ += d;
    }
    boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor,
                                    std::chrono::milliseconds(1));
    boost::system::error_code ec;
    co_await pause.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }
  // Sets `o` to read this clock and sleep through it; `self` stays alive with the options.
  static void use(const std::shared_ptr<RecordingClock>& self, k8swatch::WatcherOptions& o) {
    o.clock = self;
    o.sleep = [self](Duration d) { return self->sleep(d); };
  }
  void advance(Duration d) {
    std::lock_guard lock(mutex_);
    now_ += d;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_{};  // the offset added by sleeps
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace k8stest
