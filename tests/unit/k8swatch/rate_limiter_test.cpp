#include "k8swatch/rate_limiter.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <vector>

#include "tests/unit/k8swatch/fake_clock.h"

using namespace std::chrono_literals;
using k8swatch::Clock;
using k8swatch::TokenBucket;

namespace {

constexpr Clock::TimePoint kStart = Clock::TimePoint{} + 1h;

// The offsets from kStart at which `n` requests arriving at once are admitted.
std::vector<Clock::Duration> admitted(TokenBucket& bucket, int n, Clock::TimePoint at = kStart) {
  std::vector<Clock::Duration> out;
  for (int i = 0; i < n; ++i) out.push_back(at - kStart + bucket.reserve(at));
  return out;
}

}  // namespace

TEST_CASE("rate limiter: the burst passes at once, then one request every 1/qps",
          "[rate_limiter]") {
  TokenBucket bucket(5, 10, kStart);  // kube-proxy's defaults
  const auto times = admitted(bucket, 13);
  for (int i = 0; i < 10; ++i) CHECK(times[static_cast<std::size_t>(i)] == 0ms);
  CHECK(times[10] == 200ms);
  CHECK(times[11] == 400ms);
  CHECK(times[12] == 600ms);
}

TEST_CASE("rate limiter: idle time refills up to the burst and no further", "[rate_limiter]") {
  TokenBucket bucket(2, 3, kStart);
  admitted(bucket, 3);
  // One second at 2 qps earns two tokens: two pass, the third waits half a second.
  auto times = admitted(bucket, 3, kStart + 1s);
  CHECK(times == std::vector<Clock::Duration>{1s, 1s, 1500ms});
  // A long idle spell refills only `burst` tokens.
  times = admitted(bucket, 4, kStart + 1h);
  CHECK(times == std::vector<Clock::Duration>{1h, 1h, 1h, 1h + 500ms});
}

TEST_CASE("rate limiter: qps below zero is unlimited, as in client-go", "[rate_limiter]") {
  TokenBucket bucket(-1, 0, kStart);
  CHECK(bucket.unlimited());
  for (const auto t : admitted(bucket, 1000)) CHECK(t == 0ms);
}

TEST_CASE("rate limiter: a burst of 0 with a positive qps still admits requests",
          "[rate_limiter]") {
  TokenBucket bucket(10, 0, kStart);
  CHECK(admitted(bucket, 3) == std::vector<Clock::Duration>{0ms, 100ms, 200ms});
}

TEST_CASE("rate limiter: acquire sleeps on the injected clock for the reserved wait",
          "[rate_limiter]") {
  k8stest::SteppingClock clock;
  k8swatch::RateLimiter limiter(clock, clock.sleepFn(), 4, 2);
  boost::asio::io_context ioc;
  std::vector<Clock::Duration> waits;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) waits.push_back(co_await limiter.acquire());
      },
      boost::asio::detached);
  ioc.run();
  // Each sleep moves the clock, so after the burst every request waits exactly 1/qps.
  CHECK(waits == std::vector<Clock::Duration>{0ms, 0ms, 250ms, 250ms, 250ms});
  CHECK(clock.sleeps() == std::vector<Clock::Duration>{250ms, 250ms, 250ms});
}
