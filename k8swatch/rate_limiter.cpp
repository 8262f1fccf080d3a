#include "k8swatch/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace k8swatch {

TokenBucket::TokenBucket(double qps, int burst, Clock::TimePoint start)
    : qps_(qps), burst_(std::max(1, burst)), tokens_(burst_), last_(start) {}

Clock::Duration TokenBucket::reserve(Clock::TimePoint now) {
  if (unlimited()) return Clock::Duration::zero();
  // A clock read before the last reservation (another caller raced ahead) refills nothing.
  if (now > last_) {
    const std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0.0) return Clock::Duration::zero();
  return std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double>(-tokens_ / qps_));
}

RateLimiter::RateLimiter(const Clock& clock, SleepFn sleep, double qps, int burst)
    : clock_(clock), sleep_(std::move(sleep)), bucket_(qps, burst, clock.now()) {}

boost::asio::awaitable<Clock::Duration> RateLimiter::acquire() {
  Clock::Duration wait{};
  {
    std::lock_guard lock(mutex_);
    wait = bucket_.reserve(clock_.now());
  }
  if (wait > Clock::Duration::zero()) co_await sleep_(wait);
  co_return wait;
}

}  // namespace k8swatch
