#pragma once
// A blocking Beast client for the HTTP tests: loopback only.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace testhttp {

struct Reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  bool keepAlive = false;
};

inline boost::asio::ip::tcp::endpoint loopback(std::uint16_t port) {
  return {boost::asio::ip::make_address("127.0.0.1"), port};
}

// nullopt when the connection is refused or the exchange fails.
inline std::optional<Reply> request(
    std::uint16_t port, const std::string& target,
    boost::beast::http::verb method = boost::beast::http::verb::get) {
  namespace http = boost::beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(loopback(port), ec);
  if (ec) return std::nullopt;
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  http::write(socket, req, ec);
  if (ec) return std::nullopt;
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(method == http::verb::head);
  http::read(socket, buffer, parser, ec);
  if (ec) return std::nullopt;
  const auto& res = parser.get();
  Reply r;
  r.status = res.result_int();
  r.body = res.body();
  r.keepAlive = res.keep_alive();
  for (const auto& field : res)
    r.headers[std::string(field.name_string())] = std::string(field.value());
  return r;
}

// Sends raw bytes, returns everything read until the server closes (or 64 KiB).
inline std::string rawExchange(std::uint16_t port, const std::string& bytes) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(loopback(port), ec);
  if (ec) return "";
  boost::asio::write(socket, boost::asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  while (out.size() < 65536) {
    const std::size_t n = socket.read_some(boost::asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

}  // namespace testhttp
