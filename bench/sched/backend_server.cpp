#include "bench/sched/backend_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string_view>

#include "bench/sched/http.h"

namespace bench::sched {
namespace {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Reads into `buf` until it holds a whole request head (and its body, which is discarded).
// Returns kIncomplete when the peer closed or the read failed.
asio::awaitable<ParseStatus> readRequest(asio::ip::tcp::socket& socket, std::string& buf,
                                         RequestHead& head) {
  char chunk[4096];
  std::size_t headBytes = 0;
  ParseStatus status;
  while ((status = parseRequestHead(buf, head, headBytes)) == ParseStatus::kIncomplete) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), kTuple);
    if (ec) co_return ParseStatus::kIncomplete;
    buf.append(chunk, n);
  }
  if (status != ParseStatus::kOk) co_return status;
  while (buf.size() < headBytes + head.contentLength) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), kTuple);
    if (ec) co_return ParseStatus::kIncomplete;
    buf.append(chunk, n);
  }
  buf.erase(0, headBytes + head.contentLength);
  co_return ParseStatus::kOk;
}

void closeGracefully(asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace

BackendServer::BackendServer(asio::io_context& io, BackendOptions options)
    : io_(io),
      options_(std::move(options)),
      sampler_(options_.serviceTime, options_.seed),
      acceptor_(io) {}

void BackendServer::start() {
  acceptor_.open(options_.listen.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(options_.listen);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, acceptLoop(), asio::detached);
}

void BackendServer::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& s : sockets_) s->close(ignored);
  for (const auto& w : waiters_) w->cancel();
  waiters_.clear();
}

asio::awaitable<void> BackendServer::acceptLoop() {
  while (!stopping_) {
    auto socket = std::make_shared<Socket>(io_);
    auto [ec] = co_await acceptor_.async_accept(*socket, kTuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. EMFILE or a connection reset before accept: keep serving
    }
    socket->set_option(asio::ip::tcp::no_delay(true));
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> BackendServer::serve(std::shared_ptr<Socket> socket) {
  sockets_.insert(socket);
  ++counters_.connections;
  std::string buf;
  asio::steady_timer sleep(io_);
  const std::string body = options_.name + "\n";
  while (!stopping_) {
    RequestHead head;
    const ParseStatus status = co_await readRequest(*socket, buf, head);
    if (status == ParseStatus::kIncomplete) break;  // closed by the client
    if (status != ParseStatus::kOk) {
      ++counters_.badRequests;
      const std::string resp = formatResponse(400, options_.name, "bad request\n", false);
      co_await asio::async_write(*socket, asio::buffer(resp), kTuple);
      break;
    }
    co_await acquireWorker();
    if (stopping_) break;
    sleep.expires_after(sampler_.next());
    co_await sleep.async_wait(kTuple);
    releaseWorker();
    ++counters_.requests;
    const std::string resp = formatResponse(200, options_.name, body, head.keepAlive);
    auto [ec, n] = co_await asio::async_write(*socket, asio::buffer(resp), kTuple);
    if (ec || !head.keepAlive) break;
  }
  closeGracefully(*socket);
  sockets_.erase(socket);
}

asio::awaitable<void> BackendServer::acquireWorker() {
  if (options_.workers == 0 || busy_ < options_.workers) {
    ++busy_;
    co_return;
  }
  auto waiter = std::make_shared<asio::steady_timer>(io_);
  waiter->expires_at(asio::steady_timer::time_point::max());
  waiters_.push_back(waiter);
  counters_.maxQueue = std::max(counters_.maxQueue, waiters_.size());
  co_await waiter->async_wait(kTuple);
  // Granted: releaseWorker() handed its slot over (busy_ unchanged). Otherwise stop() woke us.
}

void BackendServer::releaseWorker() {
  if (!waiters_.empty()) {
    auto next = waiters_.front();
    waiters_.pop_front();
    next->cancel();
    return;
  }
  if (busy_ > 0) --busy_;
}

}  // namespace bench::sched
