// The load generator against its backend on 127.0.0.1 (no IPVS: one backend, so every figure
// is known in advance).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "bench/sched/backend_server.h"
#include "bench/sched/hold_session.h"
#include "bench/sched/load_engine.h"

using namespace bench::sched;
namespace asio = boost::asio;

namespace {

const auto kLoopback = asio::ip::make_address("127.0.0.1");

BackendOptions backendOn(const char* name, std::size_t workers = 0) {
  BackendOptions o;
  o.listen = {kLoopback, 0};
  o.name = name;
  o.workers = workers;
  return o;
}

// Runs a load against `server` until done. Then stops the server (last) or only the io_context,
// which the caller restarts for the next load.
void runLoad(asio::io_context& io, BackendServer& server, LoadOptions load, RunRecorder& rec,
             bool last = true) {
  load.target = {kLoopback, server.port()};
  LoadEngine engine(io, load, rec);
  engine.start();
  // The server never finishes on its own: stop it when the engine is done.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io);
        while (rec.done() < engine.total()) {
          t.expires_after(std::chrono::milliseconds(5));
          co_await t.async_wait(asio::use_awaitable);
        }
        if (last) {
          server.stop();
        } else {
          io.stop();
        }
      },
      asio::detached);
  io.run();
  io.restart();
}

}  // namespace

TEST_CASE("new connection per request: one connection per request", "[bench][loopback]") {
  asio::io_context io;
  BackendServer server(io, backendOn("b1", 2));
  server.start();
  LoadOptions load;
  load.requests = 50;
  load.concurrency = 5;
  RunRecorder rec;
  runLoad(io, server, load, rec);
  CHECK(rec.ok() == 50);
  CHECK(rec.failed() == 0);
  REQUIRE(rec.backends().count("b1") == 1);
  CHECK(rec.backends().at("b1").requests == 50);
  CHECK(rec.backends().at("b1").connections == 50);
  CHECK(server.counters().requests == 50);
  CHECK(server.counters().connections == 50);
  CHECK(server.counters().badRequests == 0);
  CHECK(server.counters().maxQueue <= 3);  // 5 clients, 2 workers
}

TEST_CASE("keep-alive reuses each worker's connection", "[bench][loopback]") {
  asio::io_context io;
  BackendServer server(io, backendOn("b7"));
  server.start();
  LoadOptions load;
  load.requests = 40;
  load.concurrency = 4;
  load.keepAlive = true;
  RunRecorder rec;
  runLoad(io, server, load, rec);
  CHECK(rec.ok() == 40);
  CHECK(rec.backends().at("b7").requests == 40);
  CHECK(rec.backends().at("b7").connections == 4);
  CHECK(server.counters().connections == 4);
  CHECK(rec.backendChanged() == 0);
}

TEST_CASE("keep-alive with a per-connection limit reconnects", "[bench][loopback]") {
  asio::io_context io;
  BackendServer server(io, backendOn("b1"));
  server.start();
  LoadOptions load;
  load.requests = 30;
  load.concurrency = 1;
  load.keepAlive = true;
  load.requestsPerConnection = 10;
  RunRecorder rec;
  runLoad(io, server, load, rec);
  CHECK(rec.ok() == 30);
  CHECK(rec.backends().at("b1").connections == 3);
}

TEST_CASE("flow mode replays the same source ports", "[bench][loopback]") {
  asio::io_context io;
  BackendServer server(io, backendOn("b2"));
  server.start();
  LoadOptions load;
  load.sources = {kLoopback};
  load.ports = {41801, 41802, 41803};
  load.concurrency = 2;
  RunRecorder first;
  RunRecorder second;
  runLoad(io, server, load, first, false);
  runLoad(io, server, load, second);  // the same 4-tuples again: no TIME_WAIT in the way
  CHECK(first.ok() == 3);
  CHECK(second.ok() == 3);
  CHECK(second.flows() == first.flows());
  CHECK(first.flows() ==
        FlowMap{{"127.0.0.1:41801", "b2"}, {"127.0.0.1:41802", "b2"}, {"127.0.0.1:41803", "b2"}});
}

TEST_CASE("a refused connection is a counted failure, not a crash", "[bench][loopback]") {
  asio::io_context io;
  // A port with no listener: bind one, note it, close it.
  asio::ip::tcp::acceptor probe(io, {kLoopback, 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  LoadOptions load;
  load.target = {kLoopback, port};
  load.requests = 5;
  load.concurrency = 2;
  RunRecorder rec;
  LoadEngine engine(io, load, rec);
  engine.start();
  io.run();
  CHECK(rec.ok() == 0);
  CHECK(rec.failed() == 5);
  CHECK(rec.failures(Failure::kConnect) == 5);
  CHECK(rec.flows().empty());
}

TEST_CASE("held connections answer again in later rounds", "[bench][loopback]") {
  asio::io_context io;
  BackendServer server(io, backendOn("b3"));
  server.start();
  std::ostringstream out;
  HoldSession hold(io, {kLoopback, server.port()}, {kLoopback}, 2, std::chrono::seconds(5), out);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await hold.round();
        co_await hold.round();
        hold.closeAll();
        server.stop();
      },
      asio::detached);
  io.run();
  std::istringstream lines(out.str());
  std::string round0, round1;
  std::getline(lines, round0);
  std::getline(lines, round1);
  CHECK_THAT(round0, Catch::StartsWith("{\"round\":0,"));
  CHECK_THAT(round1, Catch::StartsWith("{\"round\":1,"));
  CHECK_THAT(round1, Catch::Contains("\"first\":\"b3\",\"backend\":\"b3\",\"failure\":\"\""));
  CHECK(server.counters().connections == 2);
  CHECK(server.counters().requests == 4);
}
