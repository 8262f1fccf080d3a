#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "agent/config_file.h"
#include "agent/health.h"
#include "agent/healthcheck_server.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "http_test_client.h"

using namespace agent;
using namespace std::chrono_literals;
using testhttp::request;
namespace http = boost::beast::http;

namespace {

const BindAddress kLoopbackAnyPort{*ipvs::IpAddress::parse("127.0.0.1"), 0};

std::unique_ptr<HttpServer> serve(HttpService& svc, HttpRoutes routes, HttpLimits limits = {}) {
  auto server = HttpServer::listen(svc, kLoopbackAnyPort, std::move(routes), std::move(limits));
  REQUIRE(server);
  REQUIRE((*server)->port() != 0);
  return std::move(*server);
}

// A port that was free a moment ago (bound and released on loopback).
std::uint16_t freePort(HttpService& svc) {
  auto s = serve(svc, {});
  const auto port = s->port();
  s->close();
  return port;
}

Logger quietLogger() {
  return Logger(Logger::Options{0, [](std::string_view) {}, {}});
}

}  // namespace

TEST_CASE("healthz turns 503 after 2x the sync period with an update pending", "[http]") {
  ipvs::ManualClock clock;  // wall time 2024-05-01 10:20:30 UTC
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  HealthState health(2 * Duration(30s), clock);
  HttpService svc;
  auto server = serve(svc, healthzRoutes(health, metrics));

  auto r = request(server->port(), "/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->headers["Content-Type"] == "application/json");
  CHECK(r->headers["X-Content-Type-Options"] == "nosniff");
  CHECK(r->body ==
        "{\"lastUpdated\": \"2024-05-01 10:20:30 +0000 UTC\",\"currentTime\": \"2024-05-01 "
        "10:20:30 +0000 UTC\", \"nodeEligible\": true}");

  health.updated();  // a sync at 10:20:30
  clock.advance(1s);
  health.queuedUpdate();  // pending since 10:20:31
  clock.advance(60s - 1ns);
  CHECK(request(server->port(), "/healthz")->status == 200);
  clock.advance(1ns);  // exactly 2 x 30s after the queued update
  r = request(server->port(), "/healthz");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body ==
        "{\"lastUpdated\": \"2024-05-01 10:20:30 +0000 UTC\",\"currentTime\": \"2024-05-01 "
        "10:21:31 +0000 UTC\", \"nodeEligible\": true}");
  r = request(server->port(), "/livez");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body ==
        "{\"lastUpdated\": \"2024-05-01 10:20:30 +0000 UTC\",\"currentTime\": \"2024-05-01 "
        "10:21:31 +0000 UTC\"}");

  health.queuedUpdate();  // does not move the oldest pending time
  CHECK(request(server->port(), "/healthz")->status == 503);
  health.updated();
  CHECK(request(server->port(), "/healthz")->status == 200);

  health.setNodeEligible(false);  // /healthz fails, /livez does not
  r = request(server->port(), "/healthz");
  CHECK(r->status == 503);
  CHECK(r->body.ends_with("\"nodeEligible\": false}"));
  CHECK(request(server->port(), "/livez")->status == 200);

  CHECK(metrics.proxyHealthzTotal.labels({"200"}).value() == 3);
  CHECK(metrics.proxyHealthzTotal.labels({"503"}).value() == 3);
  CHECK(metrics.proxyLivezTotal.labels({"503"}).value() == 1);
  CHECK(metrics.proxyLivezTotal.labels({"200"}).value() == 1);
  CHECK(request(server->port(), "/other")->status == 404);
}

TEST_CASE("Go time strings", "[http]") {
  CHECK(formatGoTime(std::nullopt) == "0001-01-01 00:00:00 +0000 UTC");
  const HealthState::TimePoint t(std::chrono::duration_cast<HealthState::TimePoint::duration>(
      std::chrono::nanoseconds(1714558830'120000000)));
  CHECK(formatGoTime(t) == "2024-05-01 10:20:30.12 +0000 UTC");
}

TEST_CASE("The metrics port serves /metrics, /healthz, /proxyMode and /configz", "[http]") {
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  metrics.serviceChangesTotal.inc(4);
  Config config;
  config.ipvs.scheduler = "lc";
  HttpService svc;
  auto server = serve(svc, metricsRoutes(registry, configzBody(config)));

  auto r = request(server->port(), "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r->body.find("kubeproxy_sync_proxy_rules_service_changes_total 4\n") != std::string::npos);
  // The process_* values move between two renders (CPU time, open descriptors): compare the rest.
  const auto stable = [](const std::string& text) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.find("process_") == std::string::npos) out += line + "\n";
    }
    return out;
  };
  CHECK(r->body.find("process_open_fds ") != std::string::npos);
  CHECK(stable(r->body) == stable(registry.render()));

  r = request(server->port(), "/proxyMode");
  CHECK(r->status == 200);
  CHECK(r->body == "ipvs");
  r = request(server->port(), "/healthz");
  CHECK(r->body == "ok");
  r = request(server->port(), "/configz");
  CHECK(r->headers["Content-Type"] == "application/json");
  const auto configz = boost::json::parse(r->body);
  CHECK(configz.at("kubeproxy.config.k8s.io").at("ipvs").at("scheduler").as_string() == "lc");
  r = request(server->port(), "/metrics", http::verb::head);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.empty());
}

TEST_CASE("Health check node ports answer kube-proxy's JSON and open/close with the set",
          "[http]") {
  ipvs::ManualClock clock;  // wall time 2024-05-01 10:20:30 UTC
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  HealthState health(60s, clock);
  HttpService svc;
  HealthCheckServer hc(svc, {*ipvs::IpAddress::parse("127.0.0.1")}, health, metrics, quietLogger());
  const std::uint16_t portA = freePort(svc);
  const std::uint16_t portB = freePort(svc);

  auto errors = hc.sync({{portA, {{"default", "web"}, 2}}, {portB, {{"shop", "cart"}, 0}}});
  CHECK(errors.empty());
  CHECK(hc.openPorts().size() == 2);

  auto r = request(portA, "/any/path");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->headers["X-Load-Balancing-Endpoint-Weight"] == "2");
  CHECK(r->headers["Content-Type"] == "application/json");
  CHECK(r->body ==
        "{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n\t\t\"name\": \"web\"\n\t},\n\t"
        "\"localEndpoints\": 2,\n\t\"serviceProxyHealthy\": true\n}");
  const auto parsed = boost::json::parse(r->body);
  CHECK(parsed.at("localEndpoints").as_int64() == 2);

  r = request(portB, "/");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->headers["X-Load-Balancing-Endpoint-Weight"] == "0");
  CHECK(r->body.find("\"name\": \"cart\"") != std::string::npos);

  // Counts change in place; the proxy's own health gates the answer too.
  CHECK(hc.sync({{portA, {{"default", "web"}, 0}}, {portB, {{"shop", "cart"}, 5}}}).empty());
  CHECK(request(portA, "/")->status == 503);
  CHECK(request(portB, "/")->headers["X-Load-Balancing-Endpoint-Weight"] == "5");
  health.queuedUpdate();
  clock.advance(61s);
  r = request(portB, "/");
  CHECK(r->status == 503);
  CHECK(r->body.find("\"serviceProxyHealthy\": false") != std::string::npos);
  health.updated();
  CHECK(request(portB, "/")->status == 200);

  // Refusals are counted per server and reason (these ports face the network).
  CHECK(testhttp::rawExchange(portB,
                              "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            .starts_with("HTTP/1.1 411"));
  CHECK(metrics.httpRejected.labels({"healthcheck", "chunked"}).value() == 1);

  // A port removed stops answering.
  CHECK(hc.sync({{portB, {{"shop", "cart"}, 5}}}).empty());
  CHECK_FALSE(request(portA, "/"));
  CHECK(hc.openPorts() == std::vector<std::uint16_t>{portB});
  CHECK(hc.sync({}).empty());
  CHECK_FALSE(request(portB, "/"));
  CHECK(metrics.healthCheckRequests.labels({"200"}).value() == 3);
}

TEST_CASE("A health check port that cannot be bound is an error, retried next sync", "[http]") {
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  ipvs::ManualClock clock;
  HealthState health(60s, clock);
  HttpService svc;
  auto squatter = serve(svc, {});
  const std::uint16_t port = squatter->port();
  std::vector<std::string> logLines;
  Logger log(Logger::Options{0, [&](std::string_view l) { logLines.emplace_back(l); }, {}});
  HealthCheckServer hc(svc, {*ipvs::IpAddress::parse("127.0.0.1")}, health, metrics, log);

  auto errors = hc.sync({{port, {{"ns", "svc"}, 1}}});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].port == port);
  CHECK(errors[0].error == std::errc::address_in_use);
  CHECK(hc.openPorts().empty());
  CHECK(metrics.httpBindErrors.labels({"healthcheck"}).value() == 1);
  REQUIRE(logLines.size() == 1);
  CHECK(logLines[0].find("level=error msg=\"failed to start health check\" component=healthcheck "
                         "service=ns/svc") != std::string::npos);

  squatter->close();
  CHECK(hc.sync({{port, {{"ns", "svc"}, 1}}}).empty());
  CHECK(request(port, "/")->status == 200);
}

TEST_CASE("Bad requests get 400/413/431 and never take the server down", "[http]") {
  HttpService svc;
  HttpRoutes routes;
  routes.exact["/ok"] = [](const HttpRequest& req) {
    HttpResponse r;
    r.body = "got " + req.method + " " + req.target + " " + std::to_string(req.body.size());
    return r;
  };
  routes.exact["/throw"] = [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("boom");
  };
  HttpLimits limits;
  limits.bodyBytes = 64 * 1024;
  auto server = serve(svc, routes, limits);
  const auto port = server->port();

  CHECK(testhttp::rawExchange(port, "HELLO WORLD\r\n\r\n").starts_with("HTTP/1.1 400"));
  CHECK(testhttp::rawExchange(port, "GET /ok HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            .starts_with("HTTP/1.1 400"));
  CHECK(testhttp::rawExchange(port,
                              "GET /ok HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n")
            .starts_with("HTTP/1.1 431"));
  CHECK(
      testhttp::rawExchange(port, "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" +
                                      std::string(200000, 'b'))
          .starts_with("HTTP/1.1 413"));
  CHECK(testhttp::rawExchange(port, std::string("\0\x01\x02\xff\r\n\r\n", 8))
            .starts_with("HTTP/1.1 400"));
  CHECK(request(port, "/throw")->status == 500);

  const std::string ok = testhttp::rawExchange(
      port,
      "POST /ok?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  CHECK(ok.starts_with("HTTP/1.1 200"));
  CHECK(ok.ends_with("got POST /ok?x=1 3"));

  // The default limits take no body at all: the agent's endpoints are GET-only.
  auto strict = serve(svc, routes);
  CHECK(testhttp::rawExchange(strict->port(),
                              "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            .starts_with("HTTP/1.1 413"));
  CHECK(request(strict->port(), "/ok")->status == 200);

  // Two requests on one keep-alive connection.
  const std::string two = testhttp::rawExchange(port,
                                                "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /ok "
                                                "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(two.find("HTTP/1.1 200") != two.rfind("HTTP/1.1 200"));
}

TEST_CASE("listen reports bind errors, listenWithRetry binds once the port is free", "[http]") {
  HttpService svc;
  auto squatter = serve(svc, {});
  const BindAddress taken{*ipvs::IpAddress::parse("127.0.0.1"), squatter->port()};
  auto failed = HttpServer::listen(svc, taken, {});
  REQUIRE_FALSE(failed);
  CHECK(failed.error() == std::errc::address_in_use);

  std::promise<std::error_code> firstError;
  std::atomic<bool> reported{false};
  HttpRoutes routes;
  routes.exact["/"] = [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", {}, "late"};
  };
  auto retrying = HttpServer::listenWithRetry(svc, taken, routes, 10ms, [&](std::error_code ec) {
    if (!reported.exchange(true)) firstError.set_value(ec);
  });
  CHECK(firstError.get_future().get() == std::errc::address_in_use);
  CHECK_FALSE(retrying->bound());

  squatter->close();
  for (int i = 0; i < 2000 && !retrying->bound(); ++i) std::this_thread::sleep_for(5ms);
  REQUIRE(retrying->bound());
  CHECK(request(taken.port, "/")->body == "late");
  retrying->close();
  CHECK_FALSE(request(taken.port, "/"));
}

namespace {

// Counts HttpLimits::onRejected reasons (called on the service thread, read by the test).
struct RejectCounts {
  std::mutex mutex;
  std::map<std::string, int> byReason;
  std::function<void(std::string_view)> hook() {
    return [this](std::string_view reason) {
      std::lock_guard lock(mutex);
      ++byReason[std::string(reason)];
    };
  }
  int operator[](const std::string& reason) {
    std::lock_guard lock(mutex);
    return byReason[reason];
  }
  // The count for `reason` once it reaches `want`, or as it is after 10 s. Beast's tcp_stream
  // closes the socket when its timer fires and runs the handler that counts afterwards, so a
  // client can see the close before the count moves.
  int settled(const std::string& reason, int want) {
    for (int i = 0; i < 1000 && (*this)[reason] < want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return (*this)[reason];
  }
};

HttpRoutes probeRoutes() {
  HttpRoutes routes;
  routes.exact["/healthz"] = [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", {}, "ok"};
  };
  return routes;
}

using boost::asio::ip::tcp;

// True when the server has closed `socket` (end of stream or reset), without sending anything.
bool closedByServer(tcp::socket& socket) {
  char byte = 0;
  boost::system::error_code ec;
  const std::size_t n = socket.read_some(boost::asio::buffer(&byte, 1), ec);
  return n == 0 && (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset);
}

// True when `socket` is still open at the server: nothing to read yet, no end of stream.
bool stillOpen(tcp::socket& socket) {
  socket.non_blocking(true);
  char byte = 0;
  boost::system::error_code ec;
  socket.read_some(boost::asio::buffer(&byte, 1), ec);
  socket.non_blocking(false);
  return ec == boost::asio::error::would_block;
}

}  // namespace

TEST_CASE("A chunked request is refused before its chunk-size line is buffered", "[http]") {
  HttpService svc;
  RejectCounts rejects;
  HttpLimits limits;
  limits.onRejected = rejects.hook();
  auto server = serve(svc, probeRoutes(), limits);
  const auto port = server->port();

  CHECK(testhttp::rawExchange(port,
                              "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                              "chunked\r\n\r\n1;ext\r\na\r\n0\r\n\r\n")
            .starts_with("HTTP/1.1 411"));
  CHECK(rejects["chunked"] == 1);

  // The issue #14 reproducer: `1;` then endless chunk-extension bytes. The server must close
  // the connection long before the client has pushed 64 MiB at it (it used to buffer them all).
  boost::asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(testhttp::loopback(port));
  boost::system::error_code ec;
  boost::asio::write(socket,
                     boost::asio::buffer(std::string("POST /healthz HTTP/1.1\r\nHost: x\r\n"
                                                     "Transfer-Encoding: chunked\r\n\r\n1;")),
                     ec);
  const std::string flood(64 * 1024, 'e');
  constexpr std::size_t kOffered = 64u << 20;
  std::size_t sent = 0;
  while (!ec && sent < kOffered) sent += boost::asio::write(socket, boost::asio::buffer(flood), ec);
  CHECK(ec);
  CHECK(sent < kOffered);
  CHECK(rejects["chunked"] == 2);
  CHECK(request(port, "/healthz")->status == 200);
}

TEST_CASE("Idle connections beyond the cap evict the oldest - probes keep answering", "[http]") {
  HttpService svc;
  RejectCounts rejects;
  HttpLimits limits;
  limits.maxConnections = 4;
  limits.headerTimeout = std::chrono::hours(1);  // only eviction can make room here
  limits.onRejected = rejects.hook();
  auto server = serve(svc, probeRoutes(), limits);
  const auto port = server->port();

  boost::asio::io_context ioc;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 10; ++i) {
    idle.emplace_back(ioc);
    idle.back().connect(testhttp::loopback(port));
  }
  // Accepted in order 0..9, then the probe: 0..6 were evicted to make room, 7..9 remain.
  for (int round = 0; round < 3; ++round) {
    const auto r = request(port, "/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(rejects["evicted"] == 7);
  CHECK(rejects["over_capacity"] == 0);
  for (int i = 0; i < 7; ++i) CHECK(closedByServer(idle[static_cast<std::size_t>(i)]));
  for (int i = 7; i < 10; ++i) CHECK(stillOpen(idle[static_cast<std::size_t>(i)]));
}

TEST_CASE("A connection that does not complete its header in time is closed", "[http]") {
  HttpService svc;
  RejectCounts rejects;
  HttpLimits limits;
  limits.headerTimeout = 200ms;
  limits.onRejected = rejects.hook();
  auto server = serve(svc, probeRoutes(), limits);

  boost::asio::io_context ioc;
  tcp::socket silent(ioc);
  silent.connect(testhttp::loopback(server->port()));
  tcp::socket partial(ioc);
  partial.connect(testhttp::loopback(server->port()));
  boost::asio::write(partial, boost::asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHos")));
  CHECK(closedByServer(silent));
  CHECK(closedByServer(partial));
  CHECK(rejects.settled("header_timeout", 2) == 2);
  CHECK(request(server->port(), "/healthz")->status == 200);
}
