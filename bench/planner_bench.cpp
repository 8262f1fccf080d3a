// planner_bench: how the pure planner scales.
//
// Builds a cluster of N Services x 10 endpoints (ClusterIP on port 80/TCP; one Service in ten
// is also a NodePort on 2 node addresses) and measures:
//  - full: translate every Service, fill a DesiredState, diff against an empty kernel, and
//    against a kernel that already holds exactly that state (the periodic resync case);
//  - incremental: one endpoint of one random Service changes; retranslate that Service,
//    DesiredState::update, diffKeys (the per-event cost), at 1k, 10k and 50k Services.
// Times are medians of the thread's CPU time (the build machines are shared; on an idle machine
// CPU and wall time agree, the planner being single-threaded without I/O). Memory is the peak
// RSS (getrusage ru_maxrss) of one agent-like 10k x 10 life, run first in the process; it
// includes the cluster model and the kernel mirror, not just the planner.
// Usage: planner_bench [--quick]    (or --profile PHASE, see profile())

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ipvs/desired_state.h"
#include "ipvs/diff.h"
#include "ipvs/translate.h"

namespace {

using namespace ipvs;

constexpr int kEndpoints = 10;

IpAddress v4(std::uint32_t hostOrder) { return IpAddress::v4(hostOrder); }

struct Cluster {
  std::vector<Service> services;
  std::vector<EndpointSlice> slices;  // slices[i] belongs to services[i]
  NodeContext node;

  ServiceDesired translateOne(std::size_t i) const {
    const EndpointSlice* s = &slices[i];
    return translate(services[i], std::span<const EndpointSlice* const>(&s, 1), node);
  }
};

Cluster makeCluster(std::size_t n) {
  Cluster c;
  c.node.nodeName = "node-0";
  c.node.families = {Family::kV4};
  c.node.nodePortAddresses = {v4(0xc0a80001), v4(0xc0a80002)};  // 192.168.0.1, .2
  c.services.reserve(n);
  c.slices.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Service s;
    s.key = {"ns-" + std::to_string(i % 100), "svc-" + std::to_string(i)};
    s.clusterIPs = {v4(0x0a600000u + static_cast<std::uint32_t>(i))};  // 10.96.0.0/12
    ServicePort p;
    p.name = "http";
    p.port = 80;
    if (i % 10 == 0) {
      s.type = ServiceType::kNodePort;
      p.nodePort = static_cast<std::uint16_t>(30000 + i / 10 % 2700);
    }
    s.ports = {p};
    EndpointSlice sl;
    sl.key = {s.key.ns, s.key.name + "-abcde"};
    sl.serviceName = s.key.name;
    sl.ports = {EndpointPort{"http", Protocol::kTcp, 8080}};
    for (int e = 0; e < kEndpoints; ++e) {
      Endpoint ep;
      ep.address = v4(0xac100000u + static_cast<std::uint32_t>(i * kEndpoints) +
                      static_cast<std::uint32_t>(e));  // 172.16.0.0/12
      ep.nodeName = "node-" + std::to_string((i + static_cast<std::size_t>(e)) % 50);
      sl.endpoints.push_back(ep);
    }
    c.services.push_back(std::move(s));
    c.slices.push_back(std::move(sl));
  }
  return c;
}

DiffOptions options() {
  DiffOptions o;
  o.families = {Family::kV4};
  return o;
}

void fill(const Cluster& c, DesiredState& ds) {
  ds.reserve(c.services.size());  // as the agent does after its initial list
  for (std::size_t i = 0; i < c.services.size(); ++i) {
    ds.update(c.services[i].key, c.translateOne(i));
  }
}

// The kernel state that a perfect apply of `ds` leaves (built directly, without a plan, with
// vectors grown by push_back as the netlink dump decoder grows them).
KernelState kernelFrom(const DesiredState& ds) {
  KernelState k;
  for (const auto* vs : ds.virtualServers()) {
    ObservedVirtualServer o;
    o.server = vs->server;
    for (const auto& rs : vs->realServers) o.realServers.push_back({rs, {}});
    k.virtualServers.emplace(vs->server.key, std::move(o));
  }
  for (auto& e : ds.ipsetEntries()) k.ipsetEntries.insert(std::move(e));
  for (const auto& ip : ds.addresses()) k.boundAddresses.insert(ip);
  return k;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// CPU time of this thread: the build machine is shared, and wall time there mostly measures
// the neighbours. On an idle machine the two agree (the planner is single-threaded, no I/O).
double cpuNowMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

template <class F>
double timeMs(F&& f) {
  const double t0 = cpuNowMs();
  f();
  return cpuNowMs() - t0;
}

double peakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct FullResult {
  double emptyMs, identicalMs, diffOnlyMs, translateMs, updateMs;
  std::size_t vs, rs, ops;
};

FullResult benchFull(const Cluster& c, int runs) {
  FullResult r{};
  std::vector<double> empty, identical, diffOnly;
  for (int i = 0; i < runs; ++i) {
    DesiredState ds;
    Plan plan;
    empty.push_back(timeMs([&] {
      fill(c, ds);
      plan = diff(ds, KernelState{}, options());
    }));
    r.ops = plan.operations.size();
  }
  {
    KernelState kernel;
    {
      DesiredState ds;
      fill(c, ds);
      kernel = kernelFrom(ds);
    }
    for (const auto& [k, vs] : kernel.virtualServers) r.rs += vs.realServers.size();
    r.vs = kernel.virtualServers.size();
    for (int i = 0; i < runs; ++i) {
      DesiredState ds;
      std::size_t ops = 0;
      identical.push_back(timeMs([&] {
        fill(c, ds);
        ops = diff(ds, kernel, options()).operations.size();
      }));
      diffOnly.push_back(timeMs([&] { ops += diff(ds, kernel, options()).operations.size(); }));
      if (ops != 0) std::printf("warning: %zu operations against an identical kernel\n", ops);
    }
  }
  std::vector<double> translateOnly, updateOnly;
  for (int i = 0; i < runs; ++i) {
    std::vector<ServiceDesired> translated;
    translated.reserve(c.services.size());
    translateOnly.push_back(timeMs([&] {
      for (std::size_t j = 0; j < c.services.size(); ++j) translated.push_back(c.translateOne(j));
    }));
    DesiredState ds;
    updateOnly.push_back(timeMs([&] {
      ds.reserve(translated.size());
      for (auto& d : translated) ds.update(std::move(d));
    }));
  }
  r.translateMs = median(translateOnly);
  r.updateMs = median(updateOnly);
  r.emptyMs = median(empty);
  r.identicalMs = median(identical);
  r.diffOnlyMs = median(diffOnly);
  return r;
}

// One endpoint of one random Service flips between two addresses; returns the median time in
// microseconds of translate + update + diffKeys.
double benchIncremental(Cluster& c, int runs) {
  const std::size_t n = c.services.size();
  DesiredState ds;
  fill(c, ds);
  KernelState kernel = kernelFrom(ds);
  std::mt19937 rng(42);
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(runs));
  std::size_t opsSeen = 0;
  for (int i = 0; i < runs; ++i) {
    const std::size_t svc = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    auto& ep = c.slices[svc].endpoints[static_cast<std::size_t>(i % kEndpoints)];
    const auto& b = ep.address.bytes();
    ep.address = v4(
        (std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3]) ^
        0x00080000u);  // move to the other half of 172.16.0.0/12
    Plan plan;
    us.push_back(1000.0 * timeMs([&] {
                   ChangedKeys changed = ds.update(c.services[svc].key, c.translateOne(svc));
                   plan = diffKeys(ds, kernel, options(), changed);
                 }));
    opsSeen += plan.operations.size();
    for (const auto& op : plan.operations) applyTo(kernel, op);
  }
  if (opsSeen == 0) std::printf("warning: incremental runs produced no operations\n");
  return median(us);
}

// Resident memory after each stage of a 10k x 10 build (what the 64 MiB budget is spent on).
int memoryProfile(const Cluster& c) {
  auto rss = [] {
    long pages = 0, resident = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f && std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) std::fclose(f);
    return static_cast<double>(resident) * 4096.0 / 1048576.0;
  };
  std::printf("cluster %.1f MiB\n", rss());
  DesiredState ds;
  fill(c, ds);
  std::printf("+desired %.1f MiB\n", rss());
  {
    Plan p = diff(ds, KernelState{}, options());
    std::printf("+plan from empty %.1f MiB (peak %.1f)\n", rss(), peakRssMiB());
  }
  const KernelState kernel = kernelFrom(ds);
  std::printf("+kernel %.1f MiB (peak %.1f)\n", rss(), peakRssMiB());
  return 0;
}

// --profile translate|update|fill|diff|diff-empty|memory: one phase in a loop, to run under perf.
int profile(const std::string& what) {
  Cluster c = makeCluster(10000);
  std::size_t n = 0;
  if (what == "memory") return memoryProfile(c);
  if (what == "update") {
    for (int i = 0; i < 10; ++i) {
      std::vector<ServiceDesired> translated;
      for (std::size_t j = 0; j < c.services.size(); ++j) translated.push_back(c.translateOne(j));
      DesiredState ds;
      ds.reserve(translated.size());
      for (auto& d : translated) ds.update(std::move(d));
      n += ds.virtualServerCount();
    }
  } else if (what == "fill") {
    for (int i = 0; i < 10; ++i) {
      DesiredState ds;
      fill(c, ds);
      n += ds.virtualServerCount();
    }
  } else if (what == "translate") {
    for (int i = 0; i < 20; ++i) {
      for (std::size_t j = 0; j < c.services.size(); ++j)
        n += c.translateOne(j).ipsetEntries.size();
    }
  } else {
    DesiredState ds;
    fill(c, ds);
    const KernelState kernel = kernelFrom(ds);
    for (int i = 0; i < 20; ++i) {
      const KernelState empty;
      n += diff(ds, what == "diff-empty" ? empty : kernel, options()).operations.size();
    }
  }
  std::printf("%zu\n", n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    quick = quick || std::strcmp(argv[i], "--quick") == 0;
  }
  if (argc > 2 && std::strcmp(argv[1], "--profile") == 0) return profile(argv[2]);
  const int fullRuns = quick ? 3 : 9;
  const int incRuns = quick ? 2000 : 20000;

  // First, one agent-like life of a 10k x 10 cluster in a fresh process: the initial sync from
  // an empty kernel, then a kernel mirror and endpoint events. Its peak RSS is the memory figure;
  // the repeated full rebuilds of the timing loops below only add allocator fragmentation.
  double inc10k = 0;
  {
    Cluster c = makeCluster(10000);
    {
      DesiredState ds;
      fill(c, ds);
      const Plan initial = diff(ds, KernelState{}, options());
    }
    inc10k = benchIncremental(c, incRuns);
  }
  const double rss10k = peakRssMiB();

  double inc1k = 0;
  {
    Cluster small = makeCluster(1000);
    inc1k = benchIncremental(small, incRuns);
  }
  FullResult full{};
  {
    Cluster c = makeCluster(10000);
    full = benchFull(c, fullRuns);
  }
  double inc50k = 0;
  {
    Cluster big = makeCluster(50000);
    inc50k = benchIncremental(big, incRuns);
  }

  std::printf("planner_bench: 10000 Services x %d endpoints (1000 NodePort on 2 node IPs)\n",
              kEndpoints);
  std::printf("  -> %zu virtual servers, %zu real servers, %zu operations from empty\n", full.vs,
              full.rs, full.ops);
  std::printf("  times: medians of thread CPU time\n\n");
  std::printf("%-52s %12s %12s\n", "measurement", "result", "target");
  std::printf("%-52s %9.1f ms %12s\n", "full translate+diff, empty kernel (median)", full.emptyMs,
              "<= 100 ms");
  std::printf("%-52s %9.1f ms %12s\n", "full translate+diff, identical kernel (median)",
              full.identicalMs, "<= 100 ms");
  std::printf("%-52s %9.1f ms\n", "  of which translate alone (10k Services)", full.translateMs);
  std::printf("%-52s %9.1f ms\n", "  of which DesiredState updates alone", full.updateMs);
  std::printf("%-52s %9.1f ms\n", "  of which diff alone, identical kernel", full.diffOnlyMs);
  std::printf("%-52s %9.2f us %12s\n", "one-endpoint replan+diffKeys, 1k Services (median)", inc1k,
              "<= 20 us");
  std::printf("%-52s %9.2f us %12s\n", "one-endpoint replan+diffKeys, 10k Services (median)",
              inc10k, "<= 20 us");
  std::printf("%-52s %9.2f us %12s\n", "one-endpoint replan+diffKeys, 50k Services (median)",
              inc50k, "<= 20 us");
  std::printf("%-52s %8.1f MiB %12s\n", "peak RSS, one 10k x 10 life (sync + events)", rss10k,
              "<= 64 MiB");
  std::printf("%-52s %8.1f MiB\n", "peak RSS at the end (after the 50k runs)", peakRssMiB());
  return 0;
}
