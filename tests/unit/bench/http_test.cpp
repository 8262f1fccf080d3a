#include "bench/sched/http.h"

#include <catch2/catch.hpp>
#include <string>

using namespace bench::sched;

TEST_CASE("request heads parse with keep-alive defaults per version", "[bench][http]") {
  RequestHead h;
  std::size_t n = 0;
  const std::string r11 = "GET /x HTTP/1.1\r\nHost: a\r\n\r\nrest";
  REQUIRE(parseRequestHead(r11, h, n) == ParseStatus::kOk);
  CHECK(n == r11.size() - 4);
  CHECK(h.method == "GET");
  CHECK(h.target == "/x");
  CHECK(h.keepAlive);
  REQUIRE(parseRequestHead("GET / HTTP/1.0\r\n\r\n", h, n) == ParseStatus::kOk);
  CHECK_FALSE(h.keepAlive);
  REQUIRE(parseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", h, n) ==
          ParseStatus::kOk);
  CHECK(h.keepAlive);
  REQUIRE(parseRequestHead("GET / HTTP/1.1\r\nconnection: foo, close\r\n\r\n", h, n) ==
          ParseStatus::kOk);
  CHECK_FALSE(h.keepAlive);
  REQUIRE(parseRequestHead("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", h, n) ==
          ParseStatus::kOk);
  CHECK(h.contentLength == 12);
}

TEST_CASE("incomplete, malformed and oversized requests", "[bench][http]") {
  RequestHead h;
  std::size_t n = 0;
  CHECK(parseRequestHead("GET / HTTP/1.1\r\nHost: a\r\n", h, n) == ParseStatus::kIncomplete);
  CHECK(parseRequestHead("", h, n) == ParseStatus::kIncomplete);
  CHECK(parseRequestHead("GET /\r\n\r\n", h, n) == ParseStatus::kBad);
  CHECK(parseRequestHead("GET / HTTP/2.0\r\n\r\n", h, n) == ParseStatus::kBad);
  CHECK(parseRequestHead(" / HTTP/1.1\r\n\r\n", h, n) == ParseStatus::kBad);
  CHECK(parseRequestHead("GET / HTTP/1.1\r\nno colon\r\n\r\n", h, n) == ParseStatus::kBad);
  CHECK(parseRequestHead("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", h, n) == ParseStatus::kBad);
  CHECK(parseRequestHead("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", h, n) ==
        ParseStatus::kBad);
  CHECK(parseRequestHead("GET / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n", h, n) ==
        ParseStatus::kTooLarge);
  const std::string huge = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHeadBytes, 'a');
  CHECK(parseRequestHead(huge, h, n) == ParseStatus::kTooLarge);
}

TEST_CASE("responses round-trip through format and parse", "[bench][http]") {
  const std::string wire = formatResponse(200, "b3", "b3\n", true);
  ResponseHead h;
  std::size_t n = 0;
  REQUIRE(parseResponseHead(wire, h, n) == ParseStatus::kOk);
  CHECK(h.status == 200);
  CHECK(h.keepAlive);
  CHECK(h.contentLength == 3);
  CHECK(h.backend == "b3");
  CHECK(wire.substr(n) == "b3\n");
  CHECK(backendOf(h, "ignored") == "b3");

  const std::string closing = formatResponse(400, "b1", "bad request\n", false);
  REQUIRE(parseResponseHead(closing, h, n) == ParseStatus::kOk);
  CHECK(h.status == 400);
  CHECK_FALSE(h.keepAlive);
}

TEST_CASE("a response without X-Backend is attributed by its body", "[bench][http]") {
  ResponseHead h;
  std::size_t n = 0;
  const std::string wire = "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nb2\r\n";
  REQUIRE(parseResponseHead(wire, h, n) == ParseStatus::kOk);
  CHECK_FALSE(h.keepAlive);
  CHECK(backendOf(h, std::string_view(wire).substr(n)) == "b2");
  CHECK(parseResponseHead("HTTP/1.1 2x0 OK\r\n\r\n", h, n) == ParseStatus::kBad);
  CHECK(parseResponseHead("SPDY 200 OK\r\n\r\n", h, n) == ParseStatus::kBad);
}

TEST_CASE("requests ask for keep-alive or close", "[bench][http]") {
  CHECK(formatRequest("10.96.1.1:80", true) == "GET / HTTP/1.1\r\nHost: 10.96.1.1:80\r\n\r\n");
  CHECK(formatRequest("h", false) == "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  RequestHead h;
  std::size_t n = 0;
  REQUIRE(parseRequestHead(formatRequest("h", false), h, n) == ParseStatus::kOk);
  CHECK_FALSE(h.keepAlive);
}
