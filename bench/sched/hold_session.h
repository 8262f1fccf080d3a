#pragma once
// HoldSession: keep-alive connections held open across a change of the service (the churn's
// "a drained backend's open connections survive" check). Round 0 opens `count` connections
// (connection i binds to source i mod sources) and sends one request on each; every later
// round sends one more request on each connection still open. Each round prints one JSON line:
//   {"round": R, "conns": [{"local": "10.250.0.1:41234", "first": "b2", "backend": "b2",
//                           "failure": ""}, ...]}
// where "first" is the backend of the connection's round-0 response and "failure" is empty or
// a failure kind ("closed" for a connection that had already failed).
// Threading: single-threaded, on the io_context given; rounds must not overlap (the caller
// serialises them). Ownership: owns its connections; closeAll() closes them with an RST.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "bench/sched/client_connection.h"

namespace bench::sched {

class HoldSession {
 public:
  HoldSession(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint target,
              std::vector<boost::asio::ip::address> sources, std::size_t count,
              std::chrono::milliseconds timeout, std::ostream& out);

  boost::asio::awaitable<void> round();
  void closeAll();

 private:
  struct Held {
    std::shared_ptr<ClientConnection> conn;
    std::string local;
    std::string first;
    bool failed = false;
  };

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint target_;
  std::vector<boost::asio::ip::address> sources_;
  std::size_t count_;
  std::chrono::milliseconds timeout_;
  std::ostream& out_;
  std::vector<Held> held_;
  int round_ = 0;
};

}  // namespace bench::sched
