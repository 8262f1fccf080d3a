// IPVS load benchmark, run inside the qemu guest by scripts/bench-netlink (never on a host: it
// flushes the IPVS table with `ipvsadm -C` and reloads the ip_vs module).
//
// Loads S services x R real servers into an empty kernel (a freshly loaded ip_vs module) three
// ways in the same guest run and prints ratios (under TCG only ratios mean anything):
//   1. IpvsClient, batched (many requests per sendmsg);
//   1b. the same with an ACK requested from every request (ackEveryRequest);
//   2. IpvsClient, one request per round trip (oneByOne);
//   3. `ipvsadm -R` fed the same rules as text.
// It also times a full dump of the loaded table, and the cost of replacing one real server
// (delete + add, and an in-place weight edit) in the loaded table vs a 200-service table: one
// change must cost the same whatever the table size.
//
// Usage: ipvs_load_bench --in-guest [--services N] [--reals R] [--batch B] [--repeat K]
//                        [--rounds K]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "ipvs/kernel_text.h"
#include "ipvs/operation.h"
#include "netlink/ipvs_client.h"
#include "netlink/ipvs_codec.h"
#include "netlink/nl_socket.h"

namespace {

using Clock = std::chrono::steady_clock;
using ipvs::Operation;

struct Args {
  bool inGuest = false;
  int services = 2000;
  int reals = 10;
  std::size_t batch = 256;
  int repeat = 30;  // samples for the single-change timings
  int rounds = 3;   // each loader runs this many times; best and median are reported
};

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

ipvs::IpAddress nth(std::uint32_t base, std::uint32_t i) { return ipvs::IpAddress::v4(base + i); }

constexpr std::uint32_t kVipBase = (10u << 24) | (96u << 16);    // 10.96.0.0/16
constexpr std::uint32_t kRealBase = (10u << 24) | (128u << 16);  // 10.128.0.0/9

ipvs::VirtualServer service(int s) {
  ipvs::VirtualServer vs;
  vs.key = {nth(kVipBase, static_cast<std::uint32_t>(s)), ipvs::Protocol::kTcp, 80, 0};
  vs.netmask = 32;
  return vs;
}

ipvs::RealServer real(int s, int r, int reals, std::uint32_t weight = 1) {
  ipvs::RealServer rs;
  rs.key = {nth(kRealBase, static_cast<std::uint32_t>(s * reals + r)), 8080};
  rs.weight = weight;
  return rs;
}

std::vector<Operation> loadOps(int services, int reals) {
  std::vector<Operation> ops;
  ops.reserve(static_cast<std::size_t>(services) * static_cast<std::size_t>(reals + 1));
  for (int s = 0; s < services; ++s) {
    const ipvs::VirtualServer vs = service(s);
    ops.push_back(ipvs::AddVirtualServer{vs});
    for (int r = 0; r < reals; ++r) ops.push_back(ipvs::AddRealServer{vs.key, real(s, r, reals)});
  }
  return ops;
}

std::string ipvsadmRules(int services, int reals) {
  std::string text;
  for (int s = 0; s < services; ++s) {
    const auto vip = ipvs::formatAddressPort(service(s).key.address, 80);
    text += "-A -t " + vip + " -s rr\n";
    for (int r = 0; r < reals; ++r) {
      text += "-a -t " + vip + " -r " +
              ipvs::formatAddressPort(real(s, r, reals).key.address, 8080) + " -m -w 1\n";
    }
  }
  return text;
}

bool flush() { return std::system("/usr/sbin/ipvsadm -C") == 0; }

// Every load starts from a just-loaded ip_vs module. `ipvsadm -C` is not enough: IPVS keeps each
// deleted real server in a per-netns "destination trash" for minutes, and every later add walks
// that whole list, so a loader that runs after a flush of 20,000 real servers pays for the one
// before it. The flush before unloading also returns the scheduler module's references.
bool freshKernel() {
  return flush() && std::system(
                        "rmmod ip_vs_rr 2>/dev/null; rmmod ip_vs; "
                        "! grep -q '^ip_vs ' /proc/modules && modprobe ip_vs_rr") == 0;
}

// Loads with `client` and returns milliseconds, or a negative value on any failure.
double timedApply(netlink::IpvsClient& client, const std::vector<Operation>& ops) {
  const auto start = Clock::now();
  const ipvs::ApplyReport report = client.apply(ops);
  const double ms = msSince(start);
  if (report.failed != 0 || report.stateUncertain) {
    std::fprintf(stderr, "apply: %zu of %zu failed (uncertain=%d)\n", report.failed, ops.size(),
                 report.stateUncertain);
    return -1;
  }
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct ChangeCost {
  double replaceMs = 0;  // delete one real server and add another, one apply
  double editMs = 0;     // change one weight in place
};

// Replaces real server 0 of service s (different services each round) and edits a weight.
ChangeCost changeCost(netlink::IpvsClient& client, int services, int reals, int repeat) {
  std::vector<double> replace, edit;
  for (int i = 0; i < repeat; ++i) {
    const int s = (i * 7919) % services;
    const ipvs::VirtualServer vs = service(s);
    const std::vector<Operation> swap = {ipvs::DeleteRealServer{vs.key, real(s, 0, reals).key},
                                         ipvs::AddRealServer{vs.key, real(s, 0, reals, 2)}};
    auto start = Clock::now();
    const bool ok1 = client.apply(swap).failed == 0;
    replace.push_back(msSince(start));
    const std::vector<Operation> weight = {
        ipvs::EditRealServer{vs.key, real(s, 1, reals, static_cast<std::uint32_t>(3 + i % 5))}};
    start = Clock::now();
    const bool ok2 = client.apply(weight).failed == 0;
    edit.push_back(msSince(start));
    if (!ok1 || !ok2) std::fprintf(stderr, "change on service %d failed\n", s);
  }
  return {median(replace), median(edit)};
}

bool parseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool hasValue = i + 1 < argc;
    if (arg == "--in-guest") {
      a.inGuest = true;
    } else if (arg == "--services" && hasValue) {
      a.services = std::atoi(argv[++i]);
    } else if (arg == "--reals" && hasValue) {
      a.reals = std::atoi(argv[++i]);
    } else if (arg == "--batch" && hasValue) {
      a.batch = static_cast<std::size_t>(std::atoi(argv[++i]));
    } else if (arg == "--rounds" && hasValue) {
      a.rounds = std::atoi(argv[++i]);
    } else if (arg == "--repeat" && hasValue) {
      a.repeat = std::atoi(argv[++i]);
    } else {
      return false;
    }
  }
  return a.services > 0 && a.reals >= 0 && a.batch > 0 && a.repeat > 0 && a.rounds > 0;
}

struct Timings {
  std::vector<double> batched, ackEach, oneByOne, restore;
};

double best(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

void printLine(const char* name, const std::vector<double>& ms, double ops) {
  std::printf("  %-11s best %9.1f ms  median %9.1f ms  %9.0f ops/s (best)\n", name, best(ms),
              median(ms), ops / best(ms) * 1000);
}

// A client opened on a fresh kernel (the genl family id may change with every module load).
std::optional<netlink::IpvsClient> freshClient(const netlink::IpvsOptions& options) {
  if (!freshKernel()) return std::nullopt;
  auto client = netlink::IpvsClient::open(options);
  if (!client) {
    std::fprintf(stderr, "open: %s\n", client.error().message().c_str());
    return std::nullopt;
  }
  return std::move(*client);
}

// Loads `ops` with a fresh client; negative on failure. The client is returned for more work.
double load(const netlink::IpvsOptions& options, const std::vector<Operation>& ops,
            std::optional<netlink::IpvsClient>& client) {
  client = freshClient(options);
  return client ? timedApply(*client, ops) : -1;
}

struct Loaded {  // what is measured on the loaded table, once
  double dumpMs = 0;
  std::size_t dumped = 0;
  ChangeCost change;
  double messagesPerBatch = 0;
};

bool loadRound(const Args& a, const std::vector<Operation>& ops, Timings& t, Loaded* loaded) {
  netlink::IpvsOptions batched;
  batched.batchMessages = a.batch;
  netlink::IpvsOptions ackEach = batched;
  ackEach.ackEveryRequest = true;
  netlink::IpvsOptions single;
  single.oneByOne = true;
  std::optional<netlink::IpvsClient> client;
  t.batched.push_back(load(batched, ops, client));
  if (t.batched.back() < 0) return false;
  if (loaded) {
    loaded->messagesPerBatch = static_cast<double>(client->counters().messages.load()) /
                               static_cast<double>(client->counters().batches.load());
    const auto start = Clock::now();
    auto dumped = client->dump();
    loaded->dumpMs = msSince(start);
    loaded->dumped = dumped ? dumped->size() : 0;
    loaded->change = changeCost(*client, a.services, a.reals, a.repeat);
  }
  t.ackEach.push_back(load(ackEach, ops, client));
  t.oneByOne.push_back(load(single, ops, client));
  if (!freshKernel()) return false;
  const auto start = Clock::now();
  const int rc = std::system("/usr/sbin/ipvsadm -R < /tmp/ipvs-rules.txt");
  t.restore.push_back(msSince(start));
  return rc == 0 && t.ackEach.back() > 0 && t.oneByOne.back() > 0;
}

void report(const Args& a, const Timings& t, const Loaded& loaded, const ChangeCost& small,
            int smallServices, double n) {
  printLine("batched:", t.batched, n);
  std::printf("  %-11s %.0f requests per sendmsg\n", "", loaded.messagesPerBatch);
  printLine("ack-each:", t.ackEach, n);
  printLine("one-by-one:", t.oneByOne, n);
  printLine("ipvsadm -R:", t.restore, n);
  std::printf(
      "ratios (best): batched vs ipvsadm -R %.2fx, batched vs one-by-one %.2fx, "
      "ack-each vs one-by-one %.2fx\n",
      best(t.restore) / best(t.batched), best(t.oneByOne) / best(t.batched),
      best(t.oneByOne) / best(t.ackEach));
  std::printf("ratios (median): batched vs ipvsadm -R %.2fx, batched vs one-by-one %.2fx\n",
              median(t.restore) / median(t.batched), median(t.oneByOne) / median(t.batched));
  std::printf("dump of the loaded table: %.1f ms (%zu services, %.0f real servers/s)\n",
              loaded.dumpMs, loaded.dumped,
              static_cast<double>(a.services * a.reals) / loaded.dumpMs * 1000);
  std::printf(
      "replace one real server (delete+add, median of %d): %.3f ms at %d services, "
      "%.3f ms at %d (ratio %.2f)\n",
      a.repeat, loaded.change.replaceMs, a.services, small.replaceMs, smallServices,
      loaded.change.replaceMs / small.replaceMs);
  std::printf(
      "edit one weight in place (median of %d): %.3f ms at %d services, %.3f ms at %d "
      "(ratio %.2f)\n",
      a.repeat, loaded.change.editMs, a.services, small.editMs, smallServices,
      loaded.change.editMs / small.editMs);
}

int run(const Args& a) {
  std::optional<netlink::IpvsClient> client = freshClient({});
  if (!client) {
    std::fprintf(stderr, "cannot reload ip_vs or open it: is this the guest?\n");
    return 1;
  }
  const auto ops = loadOps(a.services, a.reals);
  const double n = static_cast<double>(ops.size());
  std::ofstream("/tmp/ipvs-rules.txt") << ipvsadmRules(a.services, a.reals);
  std::printf(
      "load: %d services x %d real servers = %zu operations, %d round(s), each load "
      "into a freshly loaded ip_vs\n",
      a.services, a.reals, ops.size(), a.rounds);
  auto scratch = netlink::newScratchMessage();
  if (!scratch) return 1;
  netlink::PackedRequests packed;
  auto start = Clock::now();
  for (const auto& op : ops) {
    if (!netlink::encodeOperation(op, client->familyId(), scratch->get())) {
      packed.append(scratch->get());
    }
  }
  std::printf("  (client-side encoding alone: %.1f ms, %zu bytes)\n", msSince(start),
              packed.bytes());

  Timings t;
  Loaded loaded;
  for (int r = 0; r < a.rounds; ++r) {
    if (!loadRound(a, ops, t, r == 0 ? &loaded : nullptr)) {
      std::printf("result: FAILED (a loader failed)\n");
      return 1;
    }
  }
  const int smallServices = std::min(200, a.services);
  if (load({}, loadOps(smallServices, a.reals), client) < 0) return 1;
  const ChangeCost small = changeCost(*client, smallServices, a.reals, a.repeat);
  client.reset();
  flush();
  report(a, t, loaded, small, smallServices, n);
  const bool ok = loaded.dumped == static_cast<std::size_t>(a.services);
  std::printf("result: %s\n", ok ? "ok" : "FAILED (dump)");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parseArgs(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: ipvs_load_bench --in-guest [--services N] [--reals R] [--batch B] "
                 "[--repeat K] [--rounds K]\n");
    return 2;
  }
  if (!args.inGuest) {
    std::fprintf(stderr,
                 "refusing to run: this benchmark flushes IPVS (ipvsadm -C); run it in "
                 "the test guest via scripts/bench-netlink (--in-guest)\n");
    return 2;
  }
  return run(args);
}
