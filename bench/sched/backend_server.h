#pragma once
// BackendServer: the benchmark's real server. An HTTP/1.1 server (bench/sched/http.h) that
// answers every request with its name after a sampled service time.
//
// Capacity: at most `workers` requests are in service at once (0 = no limit); the others wait
// in FIFO order. The service time is a timer, not CPU work, so a backend's capacity is
// workers / mean service time whatever the guest's emulation speed: this is what makes least-
// connection schedulers and weights matter in the benchmark.
// Threading: single-threaded; everything runs on the io_context given to the constructor.
// Ownership: the server owns its acceptor and its connection coroutines; stop() closes the
// acceptor and every connection, and run() then returns once they have ended.
// Errors: a malformed request gets 400 and the connection is closed; counted in badRequests.
// Metrics: counters() (connections, requests, bad requests, the deepest queue seen).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include "bench/sched/service_time.h"

namespace bench::sched {

struct BackendOptions {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::address_v4::any(), 8080};
  std::string name = "backend";
  ServiceTime serviceTime;  // default: fixed 0 ms
  std::size_t workers = 0;  // requests in service at once; 0 = unlimited
  std::uint64_t seed = 1;
};

struct BackendCounters {
  std::size_t connections = 0;
  std::size_t requests = 0;
  std::size_t badRequests = 0;
  std::size_t maxQueue = 0;  // requests waiting for a worker, at most
};

class BackendServer {
 public:
  BackendServer(boost::asio::io_context& io, BackendOptions options);
  BackendServer(const BackendServer&) = delete;
  BackendServer& operator=(const BackendServer&) = delete;

  // Binds and listens (throws boost::system::system_error: start-up only), then accepts.
  void start();
  void stop();
  std::uint16_t port() const { return port_; }
  const BackendCounters& counters() const { return counters_; }

 private:
  using Socket = boost::asio::ip::tcp::socket;

  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> serve(std::shared_ptr<Socket> socket);
  boost::asio::awaitable<void> acquireWorker();
  void releaseWorker();

  boost::asio::io_context& io_;
  BackendOptions options_;
  ServiceTimeSampler sampler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopping_ = false;
  std::size_t busy_ = 0;
  // Requests waiting for a worker, first come first served: each waits on its own timer, which
  // releaseWorker() cancels to hand its slot over (stop() cancels them all).
  std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters_;
  std::set<std::shared_ptr<Socket>> sockets_;
  BackendCounters counters_;
};

}  // namespace bench::sched
