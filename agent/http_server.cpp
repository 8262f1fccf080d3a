#include "agent/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <list>
#include <optional>
#include <thread>

namespace agent {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpService::Impl {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
  std::atomic<bool> running{false};
};

HttpService::HttpService() : impl_(std::make_shared<Impl>()) {
  impl_->running = true;
  impl_->thread = std::thread([impl = impl_.get()] {
    for (;;) {
      try {
        impl->ioc.run();
        return;
      } catch (...) {  // a handler escaped its try; keep serving the other listeners
      }
    }
  });
}

HttpService::~HttpService() {
  impl_->work.reset();
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->running = false;
}

namespace {

class Session;

tcp::endpoint toEndpoint(const BindAddress& a) {
  const auto& b = a.ip.bytes();
  if (a.ip.isV4()) {
    return {asio::ip::address_v4({b[0], b[1], b[2], b[3]}), a.port};
  }
  asio::ip::address_v6::bytes_type v6{};
  std::copy(b.begin(), b.end(), v6.begin());
  return {asio::ip::address_v6(v6), a.port};
}

HttpResponse plain(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
  Core(const std::shared_ptr<HttpService::Impl>& svc, const BindAddress& address, HttpRoutes r,
       HttpLimits l)
      : service(svc),
        endpoint(toEndpoint(address)),
        acceptor(svc->ioc),
        retryTimer(svc->ioc),
        routes(std::move(r)),
        limits(l) {}

  std::error_code bind() {
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      boost::system::error_code ignored;
      acceptor.close(ignored);
      return ec;
    }
    port = acceptor.local_endpoint(ec).port();
    return {};
  }

  void accept();
  void bindOrRetry() {  // service thread
    if (closed) return;
    if (const auto ec = bind(); ec) {
      if (onBindError) onBindError(ec);
      retryTimer.expires_after(retryEvery);
      retryTimer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (!e) self->bindOrRetry();
      });
      return;
    }
    accept();
  }
  void closeNow();  // service thread, or any thread once the service has stopped
  HttpResponse dispatch(const HttpRequest& req) const {
    try {
      if (const auto it = routes.exact.find(req.path); it != routes.exact.end()) {
        return it->second(req);
      }
      if (routes.fallback) return routes.fallback(req);
      return plain(404, "404 page not found\n");
    } catch (...) {
      return plain(500, "internal error\n");
    }
  }

  // Weak: pending handlers own Cores, and the io_context owns pending handlers.
  std::weak_ptr<HttpService::Impl> service;
  tcp::endpoint endpoint;
  tcp::acceptor acceptor;
  asio::steady_timer retryTimer;
  HttpRoutes routes;
  HttpLimits limits;
  std::chrono::milliseconds retryEvery{5000};
  std::function<void(std::error_code)> onBindError;
  std::atomic<std::uint16_t> port{0};
  bool makeRoom();  // service thread
  void rejected(std::string_view reason) const;
  bool closed = false;                         // service thread
  std::list<std::weak_ptr<Session>> sessions;  // service thread
  std::uint64_t nextIdleSeq = 0;               // service thread: orders idle sessions by age
};

namespace {

// One connection: read a header (within the header deadline), then any body, answer, repeat
// while keep-alive. Between the start of a read and a complete header the session is "idle":
// it has cost the client nothing, so it is the first to go when the server is full.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Core> core)
      : stream_(std::move(socket)),
        buffer_(core->limits.headerBytes + kBufferSlack),
        core_(std::move(core)) {}

  void start() { read(); }
  void close() {
    idle_ = false;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }
  bool idle() const { return idle_; }
  std::uint64_t idleSince() const { return idleSince_; }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(core_->limits.headerBytes);
    parser_->body_limit(core_->limits.bodyBytes);
    idle_ = true;
    idleSince_ = core_->nextIdleSeq++;
    stream_.expires_after(core_->limits.headerTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    idle_ = false;
    if (ec == beast::error::timeout) {
      core_->rejected("header_timeout");
      return close();
    }
    if (ec) return onError(ec, /*inHeader=*/true);
    // Chunked bodies are refused before any chunk is read: the agent's endpoints take no body,
    // and a chunk-size line can be made arbitrarily long.
    if (parser_->chunked()) return reject(411, "chunked", "chunked request body not accepted\n");
    if (parser_->is_done()) return answer();
    stream_.expires_after(core_->limits.ioTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->onBody(e); });
  }

  void onBody(beast::error_code ec) {
    if (ec) return onError(ec, /*inHeader=*/false);
    answer();
  }

  void onError(beast::error_code ec, bool inHeader) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::body_limit) {
      return reject(413, "body_too_large", "request body too large\n");
    }
    if (ec == http::error::header_limit || (ec == http::error::buffer_overflow && inHeader)) {
      return reject(431, "header_too_large", "request header too large\n");
    }
    if (ec == http::error::buffer_overflow) {
      return reject(413, "body_too_large", "request body too large\n");
    }
    const auto& parseErrors = http::make_error_code(http::error::bad_method).category();
    if (ec.category() == parseErrors && ec != http::error::partial_message) {
      return reject(400, "malformed", "malformed request\n");
    }
    close();  // reset by the peer, timed out, or the server is closing
  }

  void answer() {
    const auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.path = request.target.substr(0, request.target.find('?'));
    request.body = req.body();
    respond(core_->dispatch(request), req.keep_alive(), req.method() == http::verb::head,
            req.version());
  }

  void reject(unsigned status, std::string_view reason, std::string body) {
    core_->rejected(reason);
    rejected_ = true;
    respond(plain(status, std::move(body)), false, false, 11);
  }

  // After rejecting a request whose bytes were not all read, closing at once would make the
  // kernel send a reset that can destroy the response in flight; so stop sending, read and
  // discard what the client still sends (bounded in bytes and time), then close.
  void lingerClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }
  void drain() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrain) return self->close();
                              self->drain();
                            });
  }

  void respond(const HttpResponse& r, bool keepAlive, bool head, unsigned version) {
    res_ = {};
    res_.version(version);
    res_.result(r.status);
    res_.set(http::field::content_type, r.contentType);
    for (const auto& [name, value] : r.headers) res_.set(name, value);
    res_.keep_alive(keepAlive);
    res_.body() = head ? std::string() : r.body;
    res_.prepare_payload();
    if (head) res_.content_length(r.body.size());
    stream_.expires_after(core_->limits.ioTimeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this(), keepAlive](beast::error_code ec, std::size_t) {
                        if (!ec && self->rejected_) return self->lingerClose();
                        if (ec || !keepAlive) return self->close();
                        self->read();
                      });
  }

  // Room for a complete header plus the start of what follows it in the same read.
  static constexpr std::size_t kBufferSlack = 4096;
  static constexpr std::size_t kMaxDrain = 1 << 20;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // bounded: unparsed input never exceeds its limit
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<HttpServer::Core> core_;
  bool idle_ = false;
  std::uint64_t idleSince_ = 0;
  bool rejected_ = false;
  std::array<char, 4096> discard_{};
  std::size_t drained_ = 0;
};

}  // namespace

void HttpServer::Core::rejected(std::string_view reason) const {
  if (!limits.onRejected) return;
  try {
    limits.onRejected(reason);
  } catch (...) {  // a counter must not take the server down
  }
}

// At the cap, the session that has waited longest for a header makes room; if every session
// is busy with a request (bounded by ioTimeout), the new connection is refused instead.
bool HttpServer::Core::makeRoom() {
  sessions.remove_if([](const auto& w) { return w.expired(); });
  if (sessions.size() < limits.maxConnections) return true;
  std::shared_ptr<Session> oldest;
  for (const auto& weak : sessions) {
    auto s = weak.lock();
    if (s && s->idle() && (!oldest || s->idleSince() < oldest->idleSince())) oldest = s;
  }
  if (!oldest) return false;
  rejected("evicted");  // before the close, so a client that sees the close sees the count
  oldest->close();
  sessions.remove_if([&](const auto& w) { return w.lock() == oldest; });
  return true;
}

void HttpServer::Core::accept() {
  acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
    if (self->closed || !self->acceptor.is_open()) return;
    if (!ec) {
      if (!self->makeRoom()) {
        boost::system::error_code ignored;
        s.close(ignored);
        self->rejected("over_capacity");
      } else {
        auto session = std::make_shared<Session>(std::move(s), self);
        self->sessions.push_back(session);
        session->start();
      }
    }
    self->accept();
  });
}

void HttpServer::Core::closeNow() {
  if (closed) return;
  closed = true;
  retryTimer.cancel();
  boost::system::error_code ec;
  acceptor.close(ec);
  for (auto& weak : sessions) {
    if (auto s = weak.lock()) s->close();
  }
  sessions.clear();
  port = 0;
}

HttpServer::HttpServer(std::shared_ptr<Core> core) : core_(std::move(core)) {}

HttpServer::~HttpServer() { close(); }

ipvs::Result<std::unique_ptr<HttpServer>> HttpServer::listen(HttpService& service,
                                                             const BindAddress& address,
                                                             HttpRoutes routes, HttpLimits limits) {
  auto core = std::make_shared<Core>(service.impl_, address, std::move(routes), limits);
  if (const auto ec = core->bind(); ec) return ec;
  asio::post(service.impl_->ioc, [core] { core->accept(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(core)));
}

std::unique_ptr<HttpServer> HttpServer::listenWithRetry(
    HttpService& service, const BindAddress& address, HttpRoutes routes,
    std::chrono::milliseconds retryEvery, std::function<void(std::error_code)> onBindError,
    HttpLimits limits) {
  auto core = std::make_shared<Core>(service.impl_, address, std::move(routes), limits);
  core->retryEvery = retryEvery;
  core->onBindError = std::move(onBindError);
  asio::post(service.impl_->ioc, [core] { core->bindOrRetry(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(core)));
}

std::uint16_t HttpServer::port() const { return core_->port.load(); }

void HttpServer::close() {
  const auto svc = core_->service.lock();
  if (!svc || !svc->running || svc->ioc.get_executor().running_in_this_thread()) {
    core_->closeNow();
    return;
  }
  std::promise<void> done;
  auto future = done.get_future();
  asio::post(svc->ioc, [core = core_, &done] {
    core->closeNow();
    done.set_value();
  });
  future.wait();
}

}  // namespace agent
