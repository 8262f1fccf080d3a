#include "k8swatch/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>

namespace k8swatch {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {
constexpr std::size_t kBodyPiece = 256 * 1024;
constexpr const char* kUserAgent = "ipvs-agent/0.1 (k8swatch)";

std::error_code toStd(const boost::system::error_code& ec) { return ec; }
}  // namespace

ServerAddress parseServerUrl(const std::string& url) {
  ServerAddress a;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    a.tls = false;
    rest.remove_prefix(7);
  } else {
    throw ConfigError("server URL " + url + " must start with https:// or http://");
  }
  rest = rest.substr(0, rest.find('/'));  // a path prefix is not supported; ignore it
  a.hostHeader = std::string(rest);
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw ConfigError("bad IPv6 literal in " + url);
    a.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.starts_with(":")) a.port = std::string(rest.substr(1));
  } else {
    const auto colon = rest.find(':');
    a.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) a.port = std::string(rest.substr(colon + 1));
  }
  if (a.host.empty()) throw ConfigError("no host in server URL " + url);
  if (a.port.empty()) a.port = a.tls ? "443" : "80";
  return a;
}

std::optional<std::chrono::seconds> parseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  constexpr std::int64_t kDay = 86400;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec == std::errc::result_out_of_range || n > kDay) return std::chrono::seconds(kDay);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return std::chrono::seconds(n);
}

bool isTimeout(const std::error_code& ec) {
  return ec && ec == toStd(make_error_code(boost::beast::error::timeout));
}

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

ApiEndpoint::ApiEndpoint(const ClusterConfig& config)
    : address_(parseServerUrl(config.server)), tokens_(config) {
  if (!address_.tls) return;
  tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // client-go refuses this pair too: a CA that would never be checked is a configuration mistake.
  if (config.insecureSkipTlsVerify && !config.caPem.empty()) {
    throw ConfigError("a certificate authority cannot be combined with insecure-skip-tls-verify (" +
                      config.description + ")");
  }
  boost::system::error_code ec;
  if (!config.caPem.empty()) {
    tls_->add_certificate_authority(asio::buffer(config.caPem), ec);
    if (ec)
      throw ConfigError("certificate authority (" + config.description + "): " + ec.message());
  } else {
    tls_->set_default_verify_paths(ec);
  }
  if (!config.clientCertPem.empty()) {
    tls_->use_certificate_chain(asio::buffer(config.clientCertPem), ec);
    if (!ec) tls_->use_private_key(asio::buffer(config.clientKeyPem), ssl::context::pem, ec);
    if (ec) throw ConfigError("client certificate (" + config.description + "): " + ec.message());
  }
  verifyPeer_ = !config.insecureSkipTlsVerify;
  verifyName_ = config.tlsServerName.empty() ? address_.host : config.tlsServerName;
}

HttpConnection::HttpConnection(asio::any_io_executor executor, ApiEndpoint& endpoint)
    : executor_(std::move(executor)), endpoint_(endpoint), bodyBuf_(kBodyPiece) {}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
  boost::system::error_code ec;
  if (tls_) beast::get_lowest_layer(*tls_).socket().close(ec);
  if (plain_) plain_->socket().close(ec);
  tls_.reset();
  plain_.reset();
  parser_.reset();
  buffer_.clear();
  open_ = false;
}

void HttpConnection::expiresAfter(std::chrono::milliseconds d) {
  if (tls_) beast::get_lowest_layer(*tls_).expires_after(d);
  if (plain_) plain_->expires_after(d);
}

asio::awaitable<std::error_code> HttpConnection::connect(std::chrono::milliseconds timeout) {
  close();
  const auto& addr = endpoint_.address();
  boost::system::error_code ec;
  tcp::resolver resolver(executor_);
  const auto results = co_await resolver.async_resolve(
      addr.host, addr.port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return toStd(ec);
  ++connects_;
  if (ssl::context* ctx = endpoint_.tlsContext()) {
    tls_.emplace(executor_, *ctx);
    auto& tcpLayer = beast::get_lowest_layer(*tls_);
    tcpLayer.expires_after(timeout);
    co_await tcpLayer.async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return toStd(ec);
    // SNI only for names: RFC 6066 forbids IP literals in server_name.
    boost::system::error_code ipEc;
    asio::ip::make_address(endpoint_.verifyName(), ipEc);
    if (ipEc) SSL_set_tlsext_host_name(tls_->native_handle(), endpoint_.verifyName().c_str());
    if (endpoint_.verifyPeer()) {
      tls_->set_verify_mode(ssl::verify_peer);
      tls_->set_verify_callback(ssl::host_name_verification(endpoint_.verifyName()));
    } else {
      tls_->set_verify_mode(ssl::verify_none);
    }
    co_await tls_->async_handshake(ssl::stream_base::client,
                                   asio::redirect_error(asio::use_awaitable, ec));
  } else {
    plain_.emplace(executor_);
    plain_->expires_after(timeout);
    co_await plain_->async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    close();
    co_return toStd(ec);
  }
  open_ = true;
  co_return std::error_code();
}

asio::awaitable<std::error_code> HttpConnection::get(const std::string& target,
                                                     std::chrono::milliseconds timeout) {
  status_ = 0;
  if (RateLimiter* limiter = endpoint_.rateLimiter()) co_await limiter->acquire();
  RequestObserver* observer = endpoint_.observer();
  const ipvs::Clock* clock = endpoint_.observerClock();
  const auto start = observer ? clock->now() : ipvs::Clock::TimePoint{};
  const std::error_code ec = co_await sendGet(target, timeout);
  if (observer) {
    observer->requestDone("GET", endpoint_.address().hostHeader,
                          ec ? std::string("<error>") : std::to_string(status_),
                          clock->now() - start);
  }
  co_return ec;
}

asio::awaitable<std::error_code> HttpConnection::sendGet(const std::string& target,
                                                         std::chrono::milliseconds timeout) {
  if (!open_) {
    if (auto ec = co_await connect(timeout)) co_return ec;
  }
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, endpoint_.address().hostHeader);
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::accept, "application/json");
  if (const std::string token = endpoint_.bearerToken(); !token.empty()) {
    req.set(http::field::authorization, "Bearer " + token);
  }
  req.keep_alive(true);
  parser_.emplace();
  parser_->body_limit(boost::none);  // watch bodies never end; callers bound what they keep
  parser_->header_limit(kMaxHeader);
  boost::system::error_code ec;
  expiresAfter(timeout);
  if (tls_) {
    co_await http::async_write(*tls_, req, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await http::async_read_header(*tls_, buffer_, *parser_,
                                       asio::redirect_error(asio::use_awaitable, ec));
    }
  } else {
    co_await http::async_write(*plain_, req, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await http::async_read_header(*plain_, buffer_, *parser_,
                                       asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  if (ec) {
    close();
    co_return toStd(ec);
  }
  status_ = parser_->get().result_int();
  co_return std::error_code();
}

std::string HttpConnection::header(std::string_view name) const {
  if (!parser_) return {};
  const auto it = parser_->get().find(beast::string_view(name.data(), name.size()));
  return it == parser_->get().end() ? std::string() : std::string(it->value());
}

std::optional<std::chrono::seconds> HttpConnection::retryAfter() const {
  if (status_ != 429 && (status_ < 500 || status_ > 599)) return std::nullopt;
  return parseRetryAfter(header("Retry-After"));
}

asio::awaitable<std::error_code> HttpConnection::readBody(std::string_view& out,
                                                          std::chrono::milliseconds idle) {
  out = {};
  if (!parser_ || !open_) co_return std::make_error_code(std::errc::not_connected);
  while (!parser_->is_done()) {
    auto& body = parser_->get().body();
    body.data = bodyBuf_.data();
    body.size = bodyBuf_.size();
    boost::system::error_code ec;
    expiresAfter(idle);
    if (tls_) {
      co_await http::async_read_some(*tls_, buffer_, *parser_,
                                     asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await http::async_read_some(*plain_, buffer_, *parser_,
                                     asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      close();
      co_return toStd(ec);
    }
    const std::size_t got = bodyBuf_.size() - parser_->get().body().size;
    if (got > 0) {
      out = std::string_view(bodyBuf_.data(), got);
      co_return std::error_code();
    }
  }
  if (!parser_->keep_alive()) close();
  co_return std::error_code();
}

asio::awaitable<std::error_code> HttpConnection::readAll(std::string& out, std::size_t limit,
                                                         std::chrono::milliseconds idle) {
  out.clear();
  while (true) {
    std::string_view piece;
    if (auto ec = co_await readBody(piece, idle)) co_return ec;
    if (piece.empty()) co_return std::error_code();
    if (out.size() + piece.size() > limit) {
      close();
      co_return std::make_error_code(std::errc::message_size);
    }
    out.append(piece);
  }
}

}  // namespace k8swatch
