#pragma once
// LoadEngine: the load generator's closed loop. `concurrency` workers each run one request at a
// time until `requests` are done, and record every outcome in a RunRecorder.
//
// Connections:
//   new connection per request: each request connects from source (request index mod sources),
//     sends "Connection: close" and aborts after the response (the scheduler decides every
//     request, as for short-lived clients);
//   keep-alive: a worker keeps its connection for requestsPerConnection requests (0 = for the
//     whole run); connection k binds to source (k mod sources).
//   flow mode (ports given): one request per flow (source, port), every source x every port, each
//     bound to exactly that address and port, so a second run replays the very same flows (the
//     churn measurement compares the backends the same flows reach).
// Latency is measured from the start of connect() for a new connection, from the write otherwise.
// Threading: single-threaded, on the io_context given; run the io_context to completion.
// Ownership: the engine must outlive io_context::run(). Errors: never thrown; every failed request
// is counted by kind in the recorder. Progress: a bar on stderr when `progress` (a terminal).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/sched/run_recorder.h"

namespace bench::sched {

struct LoadOptions {
  boost::asio::ip::tcp::endpoint target;
  std::vector<boost::asio::ip::address> sources;  // empty: the kernel chooses
  std::vector<std::uint16_t> ports;               // flow mode when not empty
  bool keepAlive = false;
  std::size_t concurrency = 8;
  std::size_t requests = 100;  // flow mode: sources x ports instead
  std::size_t requestsPerConnection = 0;
  std::chrono::milliseconds timeout{10000};
  bool progress = false;
};

class LoadEngine {
 public:
  LoadEngine(boost::asio::io_context& io, LoadOptions options, RunRecorder& recorder);
  LoadEngine(const LoadEngine&) = delete;
  LoadEngine& operator=(const LoadEngine&) = delete;

  void start();  // spawns the workers; then run the io_context
  std::size_t total() const { return total_; }
  double elapsedSeconds() const;

 private:
  using Clock = std::chrono::steady_clock;

  boost::asio::awaitable<void> worker();
  boost::asio::awaitable<void> progressLoop();
  void printProgress(bool final) const;
  std::string hostHeader() const;

  boost::asio::io_context& io_;
  LoadOptions options_;
  RunRecorder& recorder_;
  std::size_t total_ = 0;
  std::size_t next_ = 0;         // next request index to hand out
  std::size_t connections_ = 0;  // keep-alive connections opened (source choice)
  std::size_t running_ = 0;      // workers not finished
  Clock::time_point started_{};
  Clock::time_point finished_{};
};

}  // namespace bench::sched
