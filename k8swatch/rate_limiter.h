#pragma once
// The client-side rate limit on requests to the API server (--kube-api-qps, --kube-api-burst),
// as client-go's flowcontrol token bucket (golang.org/x/time/rate underneath): tokens refill at
// `qps` per second up to `burst`; each request takes one, and when none is left it reserves the
// next one and waits for it, so waiting requests are admitted in order, 1/qps apart.
// A negative qps means no limit, as client-go's rest.Config reads it; so does 0 here, which the
// agent's defaulting has already turned into 5 (client-go's default) before it gets here.
// Threading: TokenBucket is a plain value; RateLimiter locks it, so the connections of one
// Watcher (one io_context) or of several may share it.
// Ownership: RateLimiter borrows the clock, which must outlive it; it waits through `sleep`.
// Errors: none; a burst below 1 with a positive qps is read as 1, since x/time/rate would refuse
// every request and the agent would never list anything.

#include <boost/asio/awaitable.hpp>
#include <mutex>

#include "k8swatch/backoff.h"

namespace k8swatch {

class TokenBucket {
 public:
  TokenBucket(double qps, int burst, Clock::TimePoint start);
  bool unlimited() const { return qps_ <= 0; }
  // Takes a token at `now` and returns how long the caller must wait before using it (zero when
  // one was available). A positive wait reserves a future token: later calls queue behind it.
  Clock::Duration reserve(Clock::TimePoint now);

 private:
  double qps_;
  double burst_;
  double tokens_;
  Clock::TimePoint last_;
};

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, SleepFn sleep, double qps, int burst);
  // Waits (through `sleep`) until the request may be sent. Returns the wait, so callers can
  // report long throttling as client-go does.
  boost::asio::awaitable<Clock::Duration> acquire();

 private:
  const Clock& clock_;
  SleepFn sleep_;
  std::mutex mutex_;
  TokenBucket bucket_;
};

}  // namespace k8swatch
