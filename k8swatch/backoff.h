#pragma once
// Waiting, randomness and backoff for the watch coroutines, all injectable so tests drive
// reconnect delays without waiting real minutes. Time itself is the code base's one clock
// (ipvs::Clock); waiting is a separate SleepFn because it needs an Asio executor, which the
// pure core must not know.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>

#include "ipvs/clock.h"

namespace k8swatch {

using Clock = ipvs::Clock;

// Waits `d` on the calling coroutine's executor.
using SleepFn = std::function<boost::asio::awaitable<void>(Clock::Duration d)>;
boost::asio::awaitable<void> steadySleep(Clock::Duration d);  // a steady_timer

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
  // The same step, but never shorter than `atLeast` (a server's Retry-After), itself capped at
  // `max`: see backoff.cpp for why the server's wish is capped.
  Clock::Duration next(Clock::TimePoint now, Clock::Duration atLeast);

 private:
  BackoffOptions options_;
  RandomFn random_;
  std::chrono::duration<double, std::milli> current_;
  Clock::TimePoint lastStart_{};
  bool started_ = false;
};

}  // namespace k8swatch
