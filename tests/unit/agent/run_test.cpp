#include "agent/run.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "agent/http_server.h"
#include "agent/metrics.h"

using namespace agent;

namespace {

const BindAddress kLoopbackAnyPort{*ipvs::IpAddress::parse("127.0.0.1"), 0};

struct Harness {
  std::vector<std::string> lines;
  Logger log{Logger::Options{0, [this](std::string_view line) { lines.emplace_back(line); }, {}}};
  MetricsRegistry registry;
  AgentMetrics metrics{registry};
  HttpService http;
  std::unique_ptr<HttpServer> taken;  // holds a loopback port so that binding it again fails

  std::string takenAddress() {
    auto server = HttpServer::listen(http, kLoopbackAnyPort, {});
    REQUIRE(server);
    taken = std::move(*server);
    return "127.0.0.1:" + std::to_string(taken->port());
  }
};

}  // namespace

TEST_CASE(
    "Hard fail (--bind-address-hard-fail): a taken status port is an error naming server and "
    "address",
    "[run]") {
  Harness h;
  const std::string address = h.takenAddress();

  auto server = serveStatusPort(h.http, address, true, {}, h.log, h.metrics, "healthz");

  REQUIRE_FALSE(server);
  CHECK(server.error() == std::errc::address_in_use);
  CHECK(h.metrics.httpBindErrors.labels({"healthz"}).value() == 1);
  REQUIRE(h.lines.size() == 1);
  CHECK(h.lines[0].find("level=error") != std::string::npos);
  CHECK(h.lines[0].find("bindAddressHardFail") != std::string::npos);
  CHECK(h.lines[0].find("server=healthz") != std::string::npos);
  CHECK(h.lines[0].find(address) != std::string::npos);
  h.taken->close();
}

TEST_CASE("Without --bind-address-hard-fail a taken status port is retried, not fatal", "[run]") {
  Harness h;
  const std::string address = h.takenAddress();

  auto server = serveStatusPort(h.http, address, false, {}, h.log, h.metrics, "metrics");

  REQUIRE(server);
  REQUIRE(*server != nullptr);
  (*server)->close();
  h.taken->close();
}

TEST_CASE("Hard fail (--bind-address-hard-fail): a free status port is served", "[run]") {
  Harness h;
  auto server = serveStatusPort(h.http, "127.0.0.1:0", true, {}, h.log, h.metrics, "metrics");
  REQUIRE(server);
  REQUIRE(*server != nullptr);
  CHECK((*server)->bound());
  CHECK(h.lines.empty());
  (*server)->close();
}

TEST_CASE("An empty status address starts no server, hard-fail or not", "[run]") {
  Harness h;
  for (const bool hardFail : {false, true}) {
    auto server = serveStatusPort(h.http, "", hardFail, {}, h.log, h.metrics, "healthz");
    REQUIRE(server);
    CHECK(*server == nullptr);
  }
}
