#include "bench/sched/load_engine.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <memory>
#include <optional>

#include "bench/sched/address_list.h"
#include "bench/sched/client_connection.h"
#include "bench/sched/http.h"

namespace bench::sched {
namespace {

namespace asio = boost::asio;
using Endpoint = asio::ip::tcp::endpoint;

double msBetween(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

LoadEngine::LoadEngine(asio::io_context& io, LoadOptions options, RunRecorder& recorder)
    : io_(io), options_(std::move(options)), recorder_(recorder) {
  total_ =
      options_.ports.empty() ? options_.requests : options_.sources.size() * options_.ports.size();
  if (options_.concurrency == 0) options_.concurrency = 1;
}

void LoadEngine::start() {
  started_ = Clock::now();
  finished_ = started_;
  running_ = std::min(options_.concurrency, std::max<std::size_t>(total_, 1));
  for (std::size_t i = 0; i < running_; ++i) asio::co_spawn(io_, worker(), asio::detached);
  if (options_.progress) asio::co_spawn(io_, progressLoop(), asio::detached);
}

double LoadEngine::elapsedSeconds() const {
  return std::chrono::duration<double>(finished_ - started_).count();
}

std::string LoadEngine::hostHeader() const {
  const auto addr = options_.target.address();
  const std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(options_.target.port());
}

asio::awaitable<void> LoadEngine::worker() {
  auto conn = std::make_shared<ClientConnection>(io_);
  const bool flowMode = !options_.ports.empty();
  const bool keepAlive = options_.keepAlive && !flowMode;
  const std::string request = formatRequest(hostHeader(), keepAlive);
  while (next_ < total_) {
    const std::size_t job = next_++;
    std::optional<Endpoint> source;
    std::string flow;
    const bool reconnect =
        !keepAlive || !conn->isOpen() ||
        (options_.requestsPerConnection != 0 && conn->served >= options_.requestsPerConnection);
    if (flowMode) {
      const auto& addr = options_.sources[job / options_.ports.size()];
      const auto port = options_.ports[job % options_.ports.size()];
      source = Endpoint(addr, port);
      flow = flowKey(addr.to_string(), port);
    } else if (!options_.sources.empty()) {
      const std::size_t pick = keepAlive ? connections_ : job;
      source = Endpoint(options_.sources[pick % options_.sources.size()], 0);
    }
    const auto begin = Clock::now();
    if (reconnect) {
      if (keepAlive) ++connections_;
      if (auto f = co_await conn->connect(options_.target, source, options_.timeout)) {
        recorder_.requestFailed(*f);
        if (flowMode) recorder_.flow(flow, "");
        continue;
      }
    }
    const auto sent = Clock::now();
    const auto r = co_await conn->exchange(request, options_.timeout);
    const double ms = msBetween(reconnect ? begin : sent, Clock::now());
    if (r.failure) {
      recorder_.requestFailed(*r.failure);
      conn->abort();
    } else {
      recorder_.requestOk(r.backend, ms, conn->served == 0, conn->backend);
      if (conn->served == 0) conn->backend = r.backend;
      ++conn->served;
      if (!keepAlive || !r.keepAlive) conn->abort();
    }
    if (flowMode) recorder_.flow(flow, r.failure ? "" : r.backend);
  }
  conn->abort();
  if (--running_ == 0) finished_ = Clock::now();
}

void LoadEngine::printProgress(bool final) const {
  constexpr std::size_t kWidth = 30;
  const std::size_t done = recorder_.done();
  const std::size_t filled = total_ == 0 ? kWidth : done * kWidth / total_;
  const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
  std::fprintf(stderr, "\r[%s%s] %zu/%zu  ok %zu  failed %zu  %.0f req/s%s",
               std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(), done,
               total_, recorder_.ok(), recorder_.failed(),
               secs > 0 ? static_cast<double>(done) / secs : 0.0, final ? "\n" : "");
  std::fflush(stderr);
}

asio::awaitable<void> LoadEngine::progressLoop() {
  asio::steady_timer tick(io_);
  while (running_ > 0) {
    printProgress(false);
    tick.expires_after(std::chrono::milliseconds(200));
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  printProgress(true);
}

}  // namespace bench::sched
