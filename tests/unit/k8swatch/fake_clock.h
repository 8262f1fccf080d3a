#pragma once
// A k8swatch::Clock that moves only when slept on or advanced: sleeps return at once and are
// recorded, so a test reads the exact schedule a component asked for without any real waiting.

#include <chrono>
#include <mutex>
#include <vector>

#include "k8swatch/clock.h"

namespace k8stest {

class SteppingClock final : public k8swatch::Clock {
 public:
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  boost::asio::awaitable<void> sleep(Duration d) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(d);
    now_ += d;
    co_return;
  }
  void advance(Duration d) {
    std::lock_guard lock(mutex_);
    now_ += d;
  }
  std::vector<Duration> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
  std::vector<Duration> sleeps_;
};

}  // namespace k8stest
