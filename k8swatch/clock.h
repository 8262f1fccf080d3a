#pragma once
// Time and randomness as injectable sources, so tests drive backoff and timeouts without
// waiting real minutes. k8swatch::Clock is the code base's one clock type (ipvs::Clock) plus a
// sleep, an Asio awaitable run on the caller's executor.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>

#include "ipvs/clock.h"

namespace k8swatch {

class Clock : public ipvs::Clock {
 public:
  virtual boost::asio::awaitable<void> sleep(Duration d) = 0;
};

// The real steady clock; sleep is a steady_timer on the current coroutine's executor.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  boost::asio::awaitable<void> sleep(Duration d) override;
};

// Uniform in [0, 1). Called from the watcher's thread only.
using RandomFn = ipvs::RandomFn;
RandomFn defaultRandom();  // a std::mt19937_64 seeded from std::random_device

struct BackoffOptions {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{30000};
  double factor = 2.0;
  // Each delay d becomes d + U[0,1) * jitter * d, as in client-go's backoff manager (1.0), so a
  // fleet of agents reconnecting after an API outage spreads out.
  double jitter = 1.0;
  std::chrono::milliseconds resetAfter{120000};  // this long without failure resets to initial
};

// client-go's ExponentialBackoffManager: the delay doubles per failure up to `max`, and goes
// back to `initial` once `resetAfter` has passed since the previous backoff began.
class Backoff {
 public:
  Backoff(BackoffOptions options, RandomFn random);
  Clock::Duration next(Clock::TimePoint now);

 private:
  BackoffOptions options_;
  RandomFn random_;
  std::chrono::duration<double, std::milli> current_;
  Clock::TimePoint lastStart_{};
  bool started_ = false;
};

}  // namespace k8swatch
