// sched_backend: the real server of the scheduler benchmark (bench/sched/backend_server.h). Run
// in a backend network namespace of the qemu guest by scripts/bench-schedulers.
//
// Usage: sched_backend --name NAME [--listen IP:PORT] [--service SPEC] [--slow FACTOR]
//                      [--workers K] [--seed N]
//   --service  fixed:MS | uniform:LO:HI | exp:MEAN   (default fixed:0)
//   --slow     multiply every service time by FACTOR ("one slow backend")
//   --workers  requests in service at once, the rest queue (default 0 = no limit)
// Runs until SIGTERM or SIGINT, then prints its counters as one JSON line on stdout.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "bench/sched/backend_server.h"

namespace {

namespace asio = boost::asio;
using bench::sched::BackendOptions;

[[noreturn]] void usageError(const std::string& msg) {
  std::cerr << "sched_backend: " << msg
            << "\nusage: sched_backend --name NAME [--listen IP:PORT] [--service SPEC] "
               "[--slow FACTOR] [--workers K] [--seed N]\n";
  std::exit(2);
}

template <typename T>
T number(std::string_view flag, std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) {
    usageError(std::string(flag) + ": not a number: " + std::string(s));
  }
  return v;
}

asio::ip::tcp::endpoint parseEndpoint(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) usageError("--listen wants IP:PORT");
  std::string host(s.substr(0, colon));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) usageError("--listen: bad address " + host);
  return {addr, number<std::uint16_t>("--listen", s.substr(colon + 1))};
}

BackendOptions parseArgs(int argc, char** argv) {
  BackendOptions o;
  double slow = 1;
  std::string spec = "fixed:0";
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usageError("missing value for " + std::string(flag));
    const std::string_view value = argv[++i];
    if (flag == "--name") {
      o.name = std::string(value);
    } else if (flag == "--listen") {
      o.listen = parseEndpoint(value);
    } else if (flag == "--service") {
      spec = std::string(value);
    } else if (flag == "--slow") {
      slow = number<double>(flag, value);
    } else if (flag == "--workers") {
      o.workers = number<std::size_t>(flag, value);
    } else if (flag == "--seed") {
      o.seed = number<std::uint64_t>(flag, value);
    } else {
      usageError("unknown option " + std::string(flag));
    }
  }
  std::string error;
  auto st = bench::sched::parseServiceTime(spec, error);
  if (!st) usageError(error);
  if (slow <= 0) usageError("--slow must be > 0");
  st->factor = slow;
  o.serviceTime = *st;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const BackendOptions options = parseArgs(argc, argv);
  asio::io_context io;
  bench::sched::BackendServer server(io, options);
  try {
    server.start();
  } catch (const boost::system::system_error& e) {
    std::cerr << "sched_backend " << options.name << ": cannot listen on "
              << options.listen.address().to_string() << ":" << options.listen.port() << ": "
              << e.what() << "\n";
    return 1;
  }
  std::cerr << "sched_backend " << options.name << ": listening on port " << server.port()
            << ", service " << options.serviceTime.describe() << ", workers "
            << (options.workers ? std::to_string(options.workers) : "unlimited") << "\n";
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) { server.stop(); });
  io.run();
  const auto& c = server.counters();
  std::printf(
      "{\"backend\":\"%s\",\"connections\":%zu,\"requests\":%zu,\"bad_requests\":%zu,"
      "\"max_queue\":%zu}\n",
      options.name.c_str(), c.connections, c.requests, c.badRequests, c.maxQueue);
  return 0;
}
