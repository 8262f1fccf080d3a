// libFuzzer target: the request path of the healthz and metrics servers, exactly as the agent
// runs them (agent::HttpServer with the default limits and the real routes), on 127.0.0.1:0.
// HttpServer reads only from its own TCP sessions, so the input is sent over loopback rather
// than through a seam in http_server.cpp: the same bytes go to each server, the sending side is
// shut down, and everything the server answers is read until it closes.
//
// Checks: the server closes within kDeadline (no hang), an answer starts with "HTTP/1.", and a
// request larger than the limits allow (header + body + slack) is answered, not silently
// swallowed: a server that buffers such bytes without bound says nothing until the client
// gives up (the chunk-extension flood of issue #14).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "agent/health.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "agent/metrics_registry.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr auto kDeadline = std::chrono::seconds(10);
constexpr std::size_t kSlack = 4096;  // request line, chunk framing, trailers

// The agent's two servers; kept for the whole process (the io thread serves every input).
struct Servers {
  agent::HttpService service;
  agent::MetricsRegistry registry;
  agent::AgentMetrics metrics{registry};
  agent::HealthState health{std::chrono::seconds(60)};
  std::unique_ptr<agent::HttpServer> healthz = open(agent::healthzRoutes(health, metrics));
  std::unique_ptr<agent::HttpServer> metricsPort =
      open(agent::metricsRoutes(registry, "{\"kubeproxy.config.k8s.io\":{}}"));

  std::unique_ptr<agent::HttpServer> open(agent::HttpRoutes routes) {
    auto server = agent::HttpServer::listen(
        service, agent::BindAddress{*ipvs::IpAddress::parse("127.0.0.1"), 0}, std::move(routes));
    if (!server) fuzz::fail("cannot listen on 127.0.0.1: " + server.error().message());
    return std::move(*server);
  }
};

struct Exchange {
  std::string answer;
  bool reset = false;  // the server reset the connection (it may drop an answer in flight)
};

int connectTo(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fuzz::fail("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    fuzz::fail("connect() to the server failed");
  }
  return fd;
}

// Sends `request` while reading the answer (the server may answer, and block on a full socket
// buffer, before it has read everything), until the server closes.
Exchange exchange(std::uint16_t port, std::string_view request) {
  Exchange out;
  const int fd = connectTo(port);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  bool sending = true;
  char buf[16384];
  for (;;) {
    if (sending && request.empty()) {
      ::shutdown(fd, SHUT_WR);
      sending = false;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) fuzz::fail("the server neither answered nor closed in time");
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) fuzz::fail("poll");
    if (sending && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
      const auto n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      if (n > 0) request.remove_prefix(static_cast<std::size_t>(n));
      if (n < 0 && errno != EAGAIN && errno != EINTR) sending = false;  // closed: stop sending
    }
    if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
      const auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0) out.answer.append(buf, static_cast<std::size_t>(n));
      if (n == 0) break;
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        out.reset = true;
        break;
      }
    }
  }
  ::close(fd);
  return out;
}

void check(std::uint16_t port, std::string_view request, const char* server) {
  const auto x = exchange(port, request);
  if (!x.answer.empty() && x.answer.rfind("HTTP/1.", 0) != 0) {
    fuzz::fail(std::string(server) + ": the answer is not HTTP: " + x.answer.substr(0, 80));
  }
  const agent::HttpLimits limits;
  const std::size_t over = limits.headerBytes + limits.bodyBytes + kSlack;
  if (request.size() > over && x.answer.empty() && !x.reset) {
    fuzz::fail(std::string(server) + ": " + std::to_string(request.size()) +
               " request bytes (over the limits) were read without any answer");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Servers* servers = new Servers;  // never destroyed: the io thread outlives the inputs
  const std::string_view request = fuzz::asText(data, size);
  check(servers->healthz->port(), request, "healthz");
  check(servers->metricsPort->port(), request, "metrics");
  return 0;
}
