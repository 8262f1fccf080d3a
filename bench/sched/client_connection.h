#pragma once
// One client connection of the load generator: connect (optionally from a given source address
// and port), exchange one request for one response, abort.
//
// Closing: abort() closes with SO_LINGER 0 (an RST), so that no client socket sits in TIME_WAIT:
// flow mode reuses the exact same source address and port in every churn phase, and heavy
// new-connection runs would otherwise run out of ports.
// Timeouts: each operation has a deadline; when it passes the socket's operations are cancelled
// and the failure is reported as kTimeout.
// Threading: single-threaded (the io_context's thread). Ownership: held by shared_ptr so that a
// deadline handler can never outlive it.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bench/sched/run_recorder.h"

namespace bench::sched {

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  using Endpoint = boost::asio::ip::tcp::endpoint;

  explicit ClientConnection(boost::asio::io_context& io) : socket_(io), deadline_(io) {}

  // Opens, binds to `source` when given (port 0 = any port) and connects. nullopt on success.
  boost::asio::awaitable<std::optional<Failure>> connect(const Endpoint& target,
                                                         const std::optional<Endpoint>& source,
                                                         std::chrono::milliseconds timeout);

  struct Response {
    std::optional<Failure> failure;  // nullopt: a 200 response
    std::string backend;
    bool keepAlive = false;  // the server keeps the connection open
  };
  // Sends `request` and reads one whole response.
  boost::asio::awaitable<Response> exchange(std::string_view request,
                                            std::chrono::milliseconds timeout);

  void abort();  // RST; the connection can be connected again afterwards
  bool isOpen() const { return socket_.is_open(); }
  std::string localEndpoint() const;  // "ip:port", "" when closed

  // The backend of the first response on this connection and the count since connect().
  std::string backend;
  std::size_t served = 0;

 private:
  void arm(std::chrono::milliseconds timeout);
  void disarm();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  std::string buf_;
  std::uint64_t generation_ = 0;  // a deadline only cancels the operation it was armed for
  bool timedOut_ = false;
};

}  // namespace bench::sched
