#pragma once
// A minimal HTTP/1.1 client for the Kubernetes API on Boost.Beast: plain http:// or https://
// through OpenSSL with certificate and host-name verification on by default. One
// HttpConnection is one keep-alive connection carrying one request at a time (a LIST page, or
// a WATCH whose body never ends); bodies are read piece by piece, never buffered whole here.
// Threading: an HttpConnection lives on one executor and is used by one coroutine at a time;
// ApiEndpoint is immutable after construction except the TokenSource (thread-safe).
// Errors: every operation returns a std::error_code; nothing throws after construction.
// Memory: a connection holds at most kMaxUnparsed bytes of unparsed input (so a header or a
// chunk-size line longer than that is an error, http::error::buffer_overflow, and the connection
// is closed) plus one body piece; the body itself has no limit (a watch never ends), so callers
// bound each event they assemble.
// The bearer token is added to requests only; it never appears in an error string.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "k8swatch/kubeconfig.h"
#include "k8swatch/rate_limiter.h"
#include "k8swatch/request_observer.h"

namespace k8swatch {

namespace asio = boost::asio;

struct ServerAddress {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  std::string hostHeader;  // host[:port] as sent in Host:
};

// "https://host:port" -> parts. Throws ConfigError for a URL this client cannot use.
ServerAddress parseServerUrl(const std::string& url);

// A Retry-After value in the delta-seconds form (client-go's retryAfterSeconds reads only that
// form too); nullopt for the HTTP-date form, a negative number or anything else. Values over a
// day read as a day, so that any conversion of the result is safe; callers cap it further.
std::optional<std::chrono::seconds> parseRetryAfter(std::string_view value);

// True for the error get(), readBody() and readAll() return when their deadline passed.
bool isTimeout(const std::error_code& ec);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string urlEncode(std::string_view s);

// Where and how to connect, shared by all connections of a Watcher.
class ApiEndpoint {
 public:
  explicit ApiEndpoint(const ClusterConfig& config);  // throws ConfigError (bad URL, bad PEM)
  const ServerAddress& address() const { return address_; }
  asio::ssl::context* tlsContext() { return tls_ ? tls_.get() : nullptr; }
  const std::string& verifyName() const { return verifyName_; }
  bool verifyPeer() const { return verifyPeer_; }
  std::string bearerToken() { return tokens_.current(); }
  // Every request of every connection on this endpoint first takes a token here (null: none).
  void setRateLimiter(std::shared_ptr<RateLimiter> limiter) { limiter_ = std::move(limiter); }
  RateLimiter* rateLimiter() const { return limiter_.get(); }
  // Every request is reported to `observer` (null: none), timed with `clock`; both borrowed.
  void setObserver(RequestObserver* observer, const ipvs::Clock& clock) {
    observer_ = observer;
    observerClock_ = &clock;
  }
  RequestObserver* observer() const { return observer_; }
  const ipvs::Clock* observerClock() const { return observerClock_; }

 private:
  ServerAddress address_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::string verifyName_;
  bool verifyPeer_ = true;
  TokenSource tokens_;
  std::shared_ptr<RateLimiter> limiter_;
  RequestObserver* observer_ = nullptr;
  const ipvs::Clock* observerClock_ = nullptr;
};

class HttpConnection {
 public:
  HttpConnection(asio::any_io_executor executor, ApiEndpoint& endpoint);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends GET `target` (connecting first if needed, after the endpoint's rate limiter admits
  // it; the wait does not count against `timeout`) and reads the status line and headers
  // within `timeout`. Afterwards status() is valid and the body can be read.
  asio::awaitable<std::error_code> get(const std::string& target,
                                       std::chrono::milliseconds timeout);
  unsigned status() const { return status_; }
  std::string header(std::string_view name) const;
  // The wait the response asks for: Retry-After on a 429 or a 5xx, as client-go's checkWait
  // reads it (other statuses: nullopt). Read it before the body: close() forgets the headers.
  std::optional<std::chrono::seconds> retryAfter() const;

  // The next piece of the body into `out` (a view into an internal buffer, valid until the
  // next call). An empty view means the body ended; the connection is then reusable if the
  // server allows keep-alive. `idle` bounds the wait for each piece.
  asio::awaitable<std::error_code> readBody(std::string_view& out, std::chrono::milliseconds idle);
  // Reads the whole body (for error statuses and small responses), up to `limit` bytes.
  asio::awaitable<std::error_code> readAll(std::string& out, std::size_t limit,
                                           std::chrono::milliseconds idle);

  bool isOpen() const { return open_; }
  void close();
  std::size_t connects() const { return connects_; }

 private:
  asio::awaitable<std::error_code> connect(std::chrono::milliseconds timeout);
  asio::awaitable<std::error_code> sendGet(const std::string& target,
                                           std::chrono::milliseconds timeout);
  void expiresAfter(std::chrono::milliseconds d);

  asio::any_io_executor executor_;
  ApiEndpoint& endpoint_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  bool open_ = false;
  static constexpr std::uint32_t kMaxHeader = 64 * 1024;
  static constexpr std::size_t kMaxUnparsed = kMaxHeader + 16 * 1024;

  boost::beast::flat_buffer buffer_{kMaxUnparsed};
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
  std::vector<char> bodyBuf_;
  unsigned status_ = 0;
  std::size_t connects_ = 0;
};

}  // namespace k8swatch
