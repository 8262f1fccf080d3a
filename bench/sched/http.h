#pragma once
// The little HTTP/1.1 the scheduler benchmark speaks (pure: no I/O). The backend answers every
// request with its own name, in an X-Backend header and as the body, so that the load generator
// can attribute each response to the real server IPVS chose. No chunked bodies, no pipelining:
// one request, one response, then the next request on a keep-alive connection.

#include <cstddef>
#include <string>
#include <string_view>

namespace bench::sched {

inline constexpr std::size_t kMaxHeadBytes = 8 * 1024;
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

enum class ParseStatus {
  kIncomplete,  // no blank line yet: read more
  kOk,
  kBad,       // malformed
  kTooLarge,  // head longer than kMaxHeadBytes, or a body longer than kMaxBodyBytes
};

struct RequestHead {
  std::string method;
  std::string target;
  int versionMinor = 1;  // HTTP/1.x
  bool keepAlive = true;
  std::size_t contentLength = 0;
};

struct ResponseHead {
  int status = 0;
  int versionMinor = 1;
  bool keepAlive = true;
  std::size_t contentLength = 0;
  std::string backend;  // X-Backend, "" when absent
};

// Parses the head at the start of `buf` (through the first blank line). On kOk, `headBytes` is
// the length of the head including the blank line; the body follows.
ParseStatus parseRequestHead(std::string_view buf, RequestHead& out, std::size_t& headBytes);
ParseStatus parseResponseHead(std::string_view buf, ResponseHead& out, std::size_t& headBytes);

// "GET / HTTP/1.1" with Host, and "Connection: close" unless keepAlive.
std::string formatRequest(std::string_view host, bool keepAlive);

// A response whose body is `body` (a backend name, or an error text), with X-Backend: name.
std::string formatResponse(int status, std::string_view name, std::string_view body,
                           bool keepAlive);

// The backend name a response carries: X-Backend, else the body without surrounding whitespace.
std::string backendOf(const ResponseHead& head, std::string_view body);

}  // namespace bench::sched
