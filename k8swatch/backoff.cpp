#include "k8swatch/backoff.h"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <random>

namespace k8swatch {

namespace asio = boost::asio;

asio::awaitable<void> steadySleep(Clock::Duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

RandomFn defaultRandom() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

Backoff::Backoff(BackoffOptions options, RandomFn random)
    : options_(options), random_(std::move(random)), current_(options.initial) {}

Clock::Duration Backoff::next(Clock::TimePoint now) {
  if (!started_ || now - lastStart_ > options_.resetAfter) current_ = options_.initial;
  started_ = true;
  lastStart_ = now;
  const auto base = current_;
  current_ =
      std::min<std::chrono::duration<double, std::milli>>(current_ * options_.factor, options_.max);
  const double r = random_ ? std::clamp(random_(), 0.0, 1.0) : 0.0;
  const auto jittered = base * (1.0 + r * options_.jitter);
  return std::chrono::duration_cast<Clock::Duration>(jittered);
}

Clock::Duration Backoff::next(Clock::TimePoint now, Clock::Duration atLeast) {
  // A Retry-After longer than our own longest backoff is not obeyed in full: the API server's
  // priority and fairness asks for seconds, so a larger value comes from a proxy or a broken
  // server, and waiting longer than `max` would leave Services stale longer than any outage we
  // back off from on our own. The exponential step still advances, as for any failure.
  const Clock::Duration own = next(now);
  const auto cap = std::chrono::duration_cast<Clock::Duration>(options_.max);
  return std::max(own, std::min(atLeast, cap));
}

}  // namespace k8swatch
