#pragma once
// An ipvs::Clock that moves only when slept on or advanced: its sleeps return at once and are
// recorded, so a test reads the exact schedule a component asked for without any real waiting.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <mutex>
#include <vector>

#include "k8swatch/backoff.h"

namespace k8stest {

class SteppingClock final : public ipvs::Clock {
 public:
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  WallTime wallNow() const override { return WallTime{}; }
  boost::asio::awaitable<void> sleep(Duration d) {
    {
      std::lock_guard lock(mutex_);
      sleeps_.push_back(d);
      now_ += d;
    }
    co_return;
  }
  // The SleepFn to hand to the component under test (this clock must outlive it).
  k8swatch::SleepFn sleepFn() {
    return [this](Duration d) { return sleep(d); };
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
