// sched_loadgen: the load generator of the scheduler benchmark (see load_engine.h and
// hold_session.h). Run from a client network namespace of the qemu guest by
// scripts/bench-schedulers; its source addresses give IPVS's source hashing a population.
//
//   sched_loadgen run   --target IP:PORT [--sources LIST] [--concurrency C] [--requests N]
//                       [--keepalive] [--per-conn K] [common options]
//   sched_loadgen flows --target IP:PORT --sources LIST --ports LIST [--concurrency C]
//                       [common options]
//   sched_loadgen hold  --target IP:PORT [--sources LIST] --conns K [--timeout-ms T]
// Common: --timeout-ms T (per operation, default 10000), --json FILE (default stdout),
//         --meta KEY=VALUE (repeatable, copied into the JSON), --progress auto|on|off,
//         --quiet (no summary line on stderr).
// LIST: addresses "10.250.0.1+64,10.250.1.9"; ports "20000+4".
// hold: round 0 at start, one more round per SIGUSR1, SIGTERM/SIGINT closes and exits.
// Exit status: 0 when the run completed (failed requests are figures, not errors), 2 on bad
// usage, 1 when the output cannot be written.

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

#include "bench/sched/address_list.h"
#include "bench/sched/hold_session.h"
#include "bench/sched/load_engine.h"

namespace {

namespace asio = boost::asio;
using namespace bench::sched;

struct Args {
  std::string command;
  LoadOptions load;
  std::size_t holdConns = 0;
  std::string jsonPath;
  std::map<std::string, std::string> meta;
  std::string progress = "auto";
  bool quiet = false;
};

[[noreturn]] void usageError(const std::string& msg) {
  std::cerr << "sched_loadgen: " << msg << "\n(see the usage at the top of bench/sched/loadgen.cpp:"
            << " run|flows|hold --target IP:PORT ...)\n";
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
  if (colon == std::string_view::npos) usageError("--target wants IP:PORT");
  std::string host(s.substr(0, colon));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) usageError("--target: bad address " + host);
  return {addr, number<std::uint16_t>("--target", s.substr(colon + 1))};
}

void parseSources(std::string_view spec, LoadOptions& o) {
  std::string error;
  const auto list = expandAddresses(spec, error);
  if (!list) usageError(error);
  o.sources.clear();
  for (const auto& a : *list) o.sources.push_back(asio::ip::make_address(a));
}

// Options with a value; false if `flag` is none of them.
bool parseValueOption(std::string_view flag, std::string_view value, Args& a) {
  LoadOptions& o = a.load;
  std::string error;
  if (flag == "--target") {
    o.target = parseEndpoint(value);
  } else if (flag == "--sources") {
    parseSources(value, o);
  } else if (flag == "--ports") {
    const auto ports = expandPorts(value, error);
    if (!ports) usageError(error);
    o.ports = *ports;
  } else if (flag == "--concurrency") {
    o.concurrency = number<std::size_t>(flag, value);
  } else if (flag == "--requests") {
    o.requests = number<std::size_t>(flag, value);
  } else if (flag == "--per-conn") {
    o.requestsPerConnection = number<std::size_t>(flag, value);
  } else if (flag == "--timeout-ms") {
    o.timeout = std::chrono::milliseconds(number<unsigned>(flag, value));
  } else if (flag == "--conns") {
    a.holdConns = number<std::size_t>(flag, value);
  } else if (flag == "--json") {
    a.jsonPath = std::string(value);
  } else if (flag == "--progress") {
    a.progress = std::string(value);
  } else if (flag == "--meta") {
    const auto eq = value.find('=');
    if (eq == std::string_view::npos || eq == 0) usageError("--meta wants KEY=VALUE");
    a.meta[std::string(value.substr(0, eq))] = std::string(value.substr(eq + 1));
  } else {
    return false;
  }
  return true;
}

Args parseArgs(int argc, char** argv) {
  Args a;
  if (argc < 2) usageError("missing command");
  a.command = argv[1];
  if (a.command != "run" && a.command != "flows" && a.command != "hold") {
    usageError("unknown command " + a.command);
  }
  bool haveTarget = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--keepalive") {
      a.load.keepAlive = true;
    } else if (flag == "--quiet") {
      a.quiet = true;
    } else if (i + 1 < argc && parseValueOption(flag, argv[i + 1], a)) {
      haveTarget = haveTarget || flag == "--target";
      ++i;
    } else {
      usageError("unknown option or missing value: " + std::string(flag));
    }
  }
  if (!haveTarget) usageError("--target is required");
  if (a.command == "flows" && (a.load.ports.empty() || a.load.sources.empty())) {
    usageError("flows needs --sources and --ports");
  }
  if (a.command != "flows" && !a.load.ports.empty()) usageError("--ports is for flows only");
  if (a.command == "hold" && a.holdConns == 0) usageError("hold needs --conns K (K > 0)");
  if (a.progress != "auto" && a.progress != "on" && a.progress != "off") {
    usageError("--progress wants auto, on or off");
  }
  a.load.progress = a.progress == "on" || (a.progress == "auto" && isatty(STDERR_FILENO) == 1);
  return a;
}

std::string summaryLine(const Args& a, RunRecorder& rec, double secs) {
  std::string line = "sched_loadgen " + a.command;
  if (const auto it = a.meta.find("label"); it != a.meta.end()) line += " " + it->second;
  line += ": " + std::to_string(rec.ok()) + " ok, " + std::to_string(rec.failed()) + " failed, ";
  char buf[96];
  const auto lat = rec.latency();
  std::snprintf(buf, sizeof buf, "%.1f s, p50 %.1f ms, p99 %.1f ms;", secs, lat.p50, lat.p99);
  line += buf;
  for (const auto& [name, c] : rec.backends())
    line += " " + name + "=" + std::to_string(c.requests);
  return line;
}

int runLoad(const Args& a) {
  asio::io_context io;
  RunRecorder rec;
  LoadEngine engine(io, a.load, rec);
  engine.start();
  io.run();
  const double secs = engine.elapsedSeconds();
  if (!a.quiet) std::cerr << summaryLine(a, rec, secs) << "\n";
  const std::string text = boost::json::serialize(rec.toJson(a.meta, secs)) + "\n";
  if (a.jsonPath.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(a.jsonPath);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "sched_loadgen: cannot write " << a.jsonPath << "\n";
    return 1;
  }
  return 0;
}

int runHold(const Args& a) {
  asio::io_context io;
  HoldSession session(io, a.load.target, a.load.sources, a.holdConns, a.load.timeout, std::cout);
  bool busy = true;
  int pending = 0;
  // Rounds run one at a time: a SIGUSR1 during a round queues the next one.
  std::function<void()> startRound = [&] {
    busy = true;
    asio::co_spawn(io, session.round(), [&](std::exception_ptr) {
      busy = false;
      if (pending > 0) {
        --pending;
        startRound();
      }
    });
  };
  asio::signal_set next(io, SIGUSR1);
  asio::signal_set stop(io, SIGTERM, SIGINT);
  std::function<void(const boost::system::error_code&, int)> onNext =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (busy) {
          ++pending;
        } else {
          startRound();
        }
        next.async_wait(onNext);
      };
  next.async_wait(onNext);
  stop.async_wait([&](const boost::system::error_code&, int) {
    session.closeAll();
    next.cancel();
    io.stop();
  });
  startRound();
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parseArgs(argc, argv);
  return args.command == "hold" ? runHold(args) : runLoad(args);
}
