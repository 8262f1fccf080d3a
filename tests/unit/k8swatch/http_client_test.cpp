#include "k8swatch/http_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <thread>

#include "tests/apiserver/server.h"
#include "tests/unit/k8swatch/fake_clock.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// A one-connection HTTP server on loopback: reads one request header, writes `head`, then
// writes `filler` over and over until `limit` bytes or a write error (the client closing).
class RawServer {
 public:
  RawServer(std::string head, std::string filler, std::size_t limit)
      : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, head = std::move(head), filler = std::move(filler), limit] {
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      asio::streambuf request;
      if (!ec) asio::read_until(s, request, "\r\n\r\n", ec);
      if (!ec) asio::write(s, asio::buffer(head), ec);
      std::size_t n = 0;
      while (!ec && !filler.empty() && n < limit) n += asio::write(s, asio::buffer(filler), ec);
      sent_.set_value(n);
    });
  }
  ~RawServer() { thread_.join(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::size_t sent() { return sent_.get_future().get(); }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::promise<std::size_t> sent_;
  std::thread thread_;
};

struct Outcome {
  std::error_code get;
  std::error_code body;
  std::string bodyBytes;
};

// GET / against `port`, then the body piece by piece until it ends or fails.
Outcome fetch(std::uint16_t port) {
  k8swatch::ClusterConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(port);
  k8swatch::ApiEndpoint endpoint(config);
  asio::io_context ioc;
  Outcome out;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        k8swatch::HttpConnection conn(ioc.get_executor(), endpoint);
        out.get = co_await conn.get("/", 30s);  // the timeouts only keep a broken test finite
        while (!out.get) {
          std::string_view piece;
          out.body = co_await conn.readBody(piece, 30s);
          if (out.body || piece.empty()) break;
          out.bodyBytes.append(piece);
        }
      },
      asio::detached);
  ioc.run();
  return out;
}

}  // namespace

TEST_CASE("http client: chunk extensions are parsed and skipped", "[http_client]") {
  RawServer server(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5;name=value\r\nhello\r\n0\r\n\r\n",
      "", 0);
  const auto out = fetch(server.port());
  CHECK_FALSE(out.get);
  CHECK_FALSE(out.body);
  CHECK(out.bodyBytes == "hello");
}

TEST_CASE("http client: an endless chunk extension fails the read - memory stays bounded",
          "[http_client]") {
  // A hostile or broken server: `1;` and then chunk-extension bytes that never end. The
  // client used to buffer them all; now it gives up once its bounded buffer is full.
  constexpr std::size_t kOffered = 64u << 20;
  RawServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;",
                   std::string(64 * 1024, 'e'), kOffered);
  const auto out = fetch(server.port());
  CHECK_FALSE(out.get);
  const std::error_code overflow =
      boost::beast::http::make_error_code(boost::beast::http::error::buffer_overflow);
  CHECK(out.body == overflow);
  CHECK(out.bodyBytes.empty());
  CHECK(server.sent() < kOffered);
}

TEST_CASE("http client: an oversized response header is refused", "[http_client]") {
  RawServer server("HTTP/1.1 200 OK\r\nX-Big: ", std::string(64 * 1024, 'h'), 64u << 20);
  const auto out = fetch(server.port());
  CHECK(out.get);
  CHECK(server.sent() < (64u << 20));
}

TEST_CASE("http client: requests wait for the endpoint's rate limiter", "[http_client]") {
  fakeapi::FakeApiServer server({});
  server.start();
  k8swatch::ClusterConfig config;
  config.server = server.url();
  k8swatch::ApiEndpoint endpoint(config);
  k8stest::SteppingClock clock;
  endpoint.setRateLimiter(std::make_shared<k8swatch::RateLimiter>(clock, clock.sleepFn(), 2, 1));
  asio::io_context ioc;
  std::vector<unsigned> statuses;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        k8swatch::HttpConnection conn(ioc.get_executor(), endpoint);
        for (int i = 0; i < 3; ++i) {
          if (co_await conn.get("/api/v1/services?limit=5", 30s)) break;
          std::string body;
          if (co_await conn.readAll(body, 1 << 20, 30s)) break;
          statuses.push_back(conn.status());
        }
      },
      asio::detached);
  ioc.run();
  CHECK(statuses == std::vector<unsigned>{200, 200, 200});
  CHECK(server.requests().size() == 3);
  // Burst 1 at 2 qps: the first request goes at once, each later one waits half a second.
  CHECK(clock.sleeps() == std::vector<k8swatch::Clock::Duration>{500ms, 500ms});
}
