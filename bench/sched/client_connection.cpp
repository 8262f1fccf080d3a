#include "bench/sched/client_connection.h"

#include <netinet/in.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "bench/sched/address_list.h"
#include "bench/sched/http.h"

namespace bench::sched {
namespace {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
// Defers the port choice of a bind(ip, 0) to connect(), so that ports are shared between
// destinations instead of reserved by bind().
using BindAddressNoPort = asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>;

}  // namespace

void ClientConnection::arm(std::chrono::milliseconds timeout) {
  timedOut_ = false;
  const std::uint64_t gen = ++generation_;
  deadline_.expires_after(timeout);
  deadline_.async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
    if (ec || gen != self->generation_) return;
    self->timedOut_ = true;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);
  });
}

void ClientConnection::disarm() {
  ++generation_;
  deadline_.cancel();
}

asio::awaitable<std::optional<Failure>> ClientConnection::connect(
    const Endpoint& target, const std::optional<Endpoint>& source,
    std::chrono::milliseconds timeout) {
  abort();
  boost::system::error_code ec;
  socket_.open(target.protocol(), ec);
  if (!ec && source) {
    socket_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && source->port() == 0 && source->address().is_v4()) {
      socket_.set_option(BindAddressNoPort(true), ec);
    }
    if (!ec) socket_.bind(*source, ec);
  }
  if (ec) {
    abort();
    co_return Failure::kConnect;
  }
  arm(timeout);
  auto [cec] = co_await socket_.async_connect(target, kTuple);
  disarm();
  if (cec) {
    const bool timedOut = timedOut_;
    abort();
    co_return timedOut ? Failure::kTimeout : Failure::kConnect;
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  backend.clear();
  served = 0;
  buf_.clear();
  co_return std::nullopt;
}

asio::awaitable<ClientConnection::Response> ClientConnection::exchange(
    std::string_view request, std::chrono::milliseconds timeout) {
  Response r;
  arm(timeout);
  auto fail = [&](Failure f) {
    disarm();
    r.failure = timedOut_ ? Failure::kTimeout : f;
    return r;
  };
  auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(request), kTuple);
  if (wec) co_return fail(Failure::kReset);
  ResponseHead head;
  std::size_t headBytes = 0;
  ParseStatus status;
  char chunk[4096];
  while ((status = parseResponseHead(buf_, head, headBytes)) == ParseStatus::kIncomplete) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), kTuple);
    if (ec) co_return fail(Failure::kReset);
    buf_.append(chunk, n);
  }
  if (status != ParseStatus::kOk) co_return fail(Failure::kBadResponse);
  while (buf_.size() < headBytes + head.contentLength) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), kTuple);
    if (ec) co_return fail(Failure::kReset);
    buf_.append(chunk, n);
  }
  disarm();
  r.backend = backendOf(head, std::string_view(buf_).substr(headBytes, head.contentLength));
  buf_.erase(0, headBytes + head.contentLength);
  r.keepAlive = head.keepAlive;
  if (head.status != 200) r.failure = Failure::kStatus;
  co_return r;
}

void ClientConnection::abort() {
  if (!socket_.is_open()) return;
  boost::system::error_code ignored;
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
  buf_.clear();
}

std::string ClientConnection::localEndpoint() const {
  boost::system::error_code ec;
  const auto ep = socket_.local_endpoint(ec);
  if (ec) return {};
  return flowKey(ep.address().to_string(), ep.port());
}

}  // namespace bench::sched
