#pragma once
// Clock: the one time source of the code base, injected wherever time decides something
// (backoff, retries, drain limits, watch reconnects), so that tests drive it by hand.
//
// The planner itself never reads a clock: like Dataplane, this is a port declared in the core
// so that every layer (k8swatch, reconcile, agent) shares one type. k8swatch::Clock extends it
// with an awaitable sleep for its coroutines.
// Threading: now() may be called from any thread; ManualClock is safe to advance from a test
// thread while another reads it.

#include <atomic>
#include <chrono>
#include <functional>

namespace ipvs {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The real monotonic clock.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A process-wide SteadyClock, for the default arguments of production constructors.
inline const Clock& steadyClock() {
  static const SteadyClock clock;
  return clock;
}

// A clock that moves only when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}
  TimePoint now() const override { return now_.load(); }
  void advance(Duration d) { now_.store(now_.load() + d); }
  void set(TimePoint t) { now_.store(t); }

 private:
  std::atomic<TimePoint> now_;
};

// Uniform in [0, 1): the jitter source of backoffs, injectable like the clock.
using RandomFn = std::function<double()>;

}  // namespace ipvs
