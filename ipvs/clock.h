#pragma once
// Clock: the one time source of the code base, injected wherever time decides something
// (backoff, retries, drain limits, watch reconnects), so that tests drive it by hand.
//
// The planner itself never reads a clock: like Dataplane, this is a port declared in the core
// so that every layer (k8swatch, reconcile, agent) shares one type. now() is monotonic and
// decides durations; wallNow() is the calendar time that only timestamps what people read (log
// lines, /healthz, the last-sync gauge), so a test fixes both.
// Threading: both readings may be taken from any thread; ManualClock is safe to advance from a
// test thread while another reads it.

#include <atomic>
#include <chrono>
#include <functional>

namespace ipvs {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual WallTime wallNow() const = 0;
};

// The real monotonic clock.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
};

// A process-wide SteadyClock, for the default arguments of production constructors.
inline const Clock& steadyClock() {
  static const SteadyClock clock;
  return clock;
}

// A clock that moves only when told to (tests). Its wall time moves with it, from
// kDefaultWall (2024-05-01T10:20:30Z) unless setWall() fixes another.
class ManualClock final : public Clock {
 public:
  static constexpr WallTime kDefaultWall{std::chrono::seconds(1714558830)};

  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1))
      : now_(start), wallOffset_(kDefaultWall - wallOf(start)) {}
  TimePoint now() const override { return now_.load(); }
  WallTime wallNow() const override { return wallOf(now_.load()) + wallOffset_.load(); }
  void advance(Duration d) { now_.store(now_.load() + d); }
  void set(TimePoint t) { now_.store(t); }
  // The wall time now reads `t`; it moves on with advance() and set().
  void setWall(WallTime t) { wallOffset_.store(t - wallOf(now_.load())); }

 private:
  static WallTime wallOf(TimePoint t) {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(t.time_since_epoch()));
  }

  std::atomic<TimePoint> now_;
  std::atomic<WallTime::duration> wallOffset_;
};

// Uniform in [0, 1): the jitter source of backoffs, injectable like the clock.
using RandomFn = std::function<double()>;

}  // namespace ipvs
