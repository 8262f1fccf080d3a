// Kernel tests of netlink::IpvsClient, run inside the qemu guest by ipvs_netlink.sh. Every check
// reads the kernel back twice: through IpvsClient::dump() and through the real ipvsadm
// (-Sn, -Ln --thresholds, --stats --exact, --timeout), and compares both with the state the
// operations should have produced (ipvs::applyTo on an in-memory KernelState).
//
// The ENOBUFS case drives reconcile::Reconciler over a KernelDataplane whose socket is made to
// overrun (IpvsOptions::testOnlyOverrunReceiveQueue) and checks the recovery the same way.
//
// Each test case starts from an empty IPVS table (ipvsadm -C: guest only). The hidden
// [traffic-*] cases are steps of the traffic check, driven by the guest script between HTTP
// requests.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ipvs/ipvsadm_format.h"
#include "ipvs/kernel_text.h"
#include "ipvs/operation.h"
#include "netlink/ipvs_client.h"
#include "netlink/kernel_dataplane.h"
#include "netlink/nl_socket.h"
#include "reconcile/reconciler.h"

using namespace ipvs;
using netlink::IpvsClient;
using netlink::IpvsOpKind;
using netlink::IpvsOpResult;

namespace {

std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  if (status) {
    *status = rc;
  } else {
    INFO(cmd << "\n" << out);
    REQUIRE(rc == 0);
  }
  return out;
}

std::string ipvsadm(const std::string& args) { return run("/usr/sbin/ipvsadm " + args); }

// Non-empty lines with runs of blanks squeezed to one space.
std::multiset<std::string> lines(const std::string& text) {
  std::multiset<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string word, squeezed;
    while (words >> word) squeezed += (squeezed.empty() ? "" : " ") + word;
    if (!squeezed.empty()) out.insert(squeezed);
  }
  return out;
}

std::string join(const std::multiset<std::string>& s) {
  std::string out;
  for (const auto& l : s) out += "  " + l + "\n";
  return out;
}

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

VirtualServer vs(const char* addr, std::uint16_t port, Protocol proto, const char* sched,
                 std::uint32_t flags = 0, std::uint32_t timeout = 0, std::uint32_t netmask = 0) {
  VirtualServer v{{ip(addr), proto, port, 0}, sched, flags, timeout, netmask};
  if (v.netmask == 0) v.netmask = v.key.address.isV4() ? 32 : 128;
  return v;
}

VirtualServer fwm(Family family, std::uint32_t mark, const char* sched, std::uint32_t flags = 0,
                  std::uint32_t timeout = 0, std::uint32_t netmask = 0) {
  VirtualServer v = vs(family == Family::kV4 ? "0.0.0.0" : "::", 0, Protocol::kTcp, sched, flags,
                       timeout, netmask);
  v.key.fwmark = mark;
  return v;
}

RealServer rs(const char* addr, std::uint16_t port, std::uint32_t weight = 1,
              ForwardMethod method = ForwardMethod::kMasquerade, std::uint32_t upper = 0,
              std::uint32_t lower = 0) {
  return {{ip(addr), port}, weight, method, upper, lower};
}

KernelState toState(const std::vector<ObservedVirtualServer>& dump) {
  KernelState s;
  for (const auto& v : dump) s.virtualServers[v.server.key] = v;
  return s;
}

// "TCP 10.0.0.1:80 -> 10.244.1.1:8080 100 10" from ipvsadm -Ln --thresholds.
std::multiset<std::string> thresholdsFromIpvsadm() {
  std::multiset<std::string> out;
  std::string header;
  std::istringstream in(ipvsadm("-Ln --thresholds"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string a, b, c, u, lo;
    w >> a >> b;
    if (a == "TCP" || a == "UDP" || a == "SCTP") {
      header = a + " " + b;
    } else if (a == "FWM") {
      w >> c;
      header = "FWM " + b + (c == "IPv6" ? " IPv6" : "");
    } else if (a == "->" && b != "RemoteAddress:Port") {
      w >> u >> lo;
      out.insert(header + " -> " + b + " " + u + " " + lo);
    }
  }
  return out;
}

std::multiset<std::string> thresholdsOf(const KernelState& s) {
  std::multiset<std::string> out;
  for (const auto& [key, v] : s.virtualServers) {
    for (const auto& r : v.realServers) {
      out.insert(formatVirtualServerKey(key) + " -> " +
                 formatAddressPort(r.server.key.address, r.server.key.port) + " " +
                 std::to_string(r.server.upperThreshold) + " " +
                 std::to_string(r.server.lowerThreshold));
    }
  }
  return out;
}

void checkSame(const KernelState& actual, const KernelState& expected) {
  REQUIRE(actual.virtualServers.size() == expected.virtualServers.size());
  for (const auto& [key, want] : expected.virtualServers) {
    INFO(formatVirtualServerKey(key));
    auto it = actual.virtualServers.find(key);
    REQUIRE(it != actual.virtualServers.end());
    CHECK(it->second.server == want.server);
    REQUIRE(it->second.realServers.size() == want.realServers.size());
    for (std::size_t i = 0; i < want.realServers.size(); ++i) {
      INFO(formatAddressPort(want.realServers[i].server.key.address,
                             want.realServers[i].server.key.port));
      CHECK(it->second.realServers[i].server == want.realServers[i].server);
    }
  }
}

// The kernel, read two ways, must hold exactly `expected` (counters aside).
void checkKernel(IpvsClient& client, const KernelState& expected) {
  auto dump = client.dump();
  REQUIRE(dump.has_value());
  const KernelState actual = toState(*dump);
  checkSame(actual, expected);
  const auto fromTool = lines(ipvsadm("-Sn"));
  const auto fromDump = lines(formatIpvsadmSave(actual));
  INFO("ipvsadm -Sn:\n" << join(fromTool) << "dump:\n" << join(fromDump));
  CHECK(fromTool == fromDump);
  CHECK(lines(formatIpvsadmSave(expected)) == fromTool);
  CHECK(thresholdsFromIpvsadm() == thresholdsOf(expected));
}

IpvsClient openClient(netlink::IpvsOptions options = {}) {
  auto client = IpvsClient::open(options);
  INFO((client ? "" : client.error().message()));
  REQUIRE(client.has_value());
  return std::move(*client);
}

// Applies ops to the kernel and to the model; every op must succeed.
void applyAll(IpvsClient& client, KernelState& model, const std::vector<Operation>& ops) {
  const ApplyReport report = client.apply(ops);
  REQUIRE(report.results.size() == ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    INFO(describe(ops[i]) << ": " << report.results[i].message());
    CHECK_FALSE(report.results[i]);
    CHECK(applyTo(model, ops[i]));
  }
  CHECK(report.failed == 0);
  CHECK(report.idempotent == 0);
  CHECK_FALSE(report.stateUncertain);
}

const char* kForeign = "-A -t 10.96.9.9:80 -s sh";
const char* kForeignRs = "-a -t 10.96.9.9:80 -r 10.244.9.1:80 -m -w 2";

KernelState freshWithForeign() {
  ipvsadm("-C");
  ipvsadm(kForeign);
  ipvsadm(kForeignRs);
  KernelState model;
  const VirtualServer foreign = vs("10.96.9.9", 80, Protocol::kTcp, "sh");
  applyTo(model, AddVirtualServer{foreign});
  applyTo(model, AddRealServer{foreign.key, rs("10.244.9.1", 80, 2)});
  return model;
}

}  // namespace

TEST_CASE("info and global timeouts match ipvsadm", "[ipvs-kernel]") {
  IpvsClient client = openClient();
  auto info = client.info();
  REQUIRE(info.has_value());
  CHECK(info->versionString() == "1.2.1");
  CHECK_THAT(ipvsadm("-Ln"), Catch::Contains("version " + info->versionString() + " (size=" +
                                             std::to_string(info->connTableSize) + ")"));
  auto original = client.getTimeouts();
  REQUIRE(original.has_value());
  const auto shown = [] { return *lines(ipvsadm("-L --timeout")).begin(); };
  CHECK(shown() == "Timeout (tcp tcpfin udp): " + std::to_string(original->tcp) + " " +
                       std::to_string(original->tcpFin) + " " + std::to_string(original->udp));
  REQUIRE(client.setTimeouts({1000, 130, 310}).has_value());
  CHECK(shown() == "Timeout (tcp tcpfin udp): 1000 130 310");
  REQUIRE(client.setTimeouts({0, 0, 333}).has_value());  // 0 leaves tcp and tcpfin alone
  CHECK(shown() == "Timeout (tcp tcpfin udp): 1000 130 333");
  auto now = client.getTimeouts();
  REQUIRE(now.has_value());
  CHECK(*now == netlink::IpvsTimeouts{1000, 130, 333});
  REQUIRE(client.setTimeouts(*original).has_value());
  now = client.getTimeouts();
  REQUIRE(now.has_value());
  CHECK(*now == *original);
}

TEST_CASE("every kind of service and real server: add, edit, delete", "[ipvs-kernel]") {
  KernelState model = freshWithForeign();
  IpvsClient client = openClient();
  checkKernel(client, model);

  const VirtualServer a = vs("10.96.0.1", 80, Protocol::kTcp, "rr");
  const VirtualServer b = vs("10.96.0.2", 53, Protocol::kUdp, "wrr", kFlagPersistent, 300, 24);
  const VirtualServer c = vs("10.96.0.3", 9999, Protocol::kSctp, "lc");
  const VirtualServer d = vs("fd00:96::1", 443, Protocol::kTcp, "sh", kFlagSched1 | kFlagSched2);
  const VirtualServer e = vs("fd00:96::2", 53, Protocol::kUdp, "rr", kFlagOnePacket);
  const VirtualServer f = fwm(Family::kV4, 7, "rr");
  const VirtualServer g = fwm(Family::kV6, 8, "mh", kFlagSched2 | kFlagPersistent, 60, 64);
  std::vector<Operation> adds;
  for (const auto* v : {&a, &b, &c, &d, &e, &f, &g}) adds.push_back(AddVirtualServer{*v});
  const auto add = [&](const VirtualServer& v, RealServer r) {
    adds.push_back(AddRealServer{v.key, r});
  };
  add(a, rs("10.244.1.1", 8080, 3, ForwardMethod::kMasquerade, 100, 10));
  add(a, rs("10.244.1.2", 8080, 0, ForwardMethod::kDirectRoute));
  add(a, rs("10.244.1.3", 8080, 1, ForwardMethod::kTunnel));
  add(a, rs("10.244.1.4", 8080, 1, ForwardMethod::kLocal));
  add(a, rs("fd00:244::10", 8080, 1, ForwardMethod::kTunnel));  // IPv6 behind IPv4: tunnel only
  add(b, rs("10.244.2.1", 53));
  add(c, rs("10.244.3.1", 9999, 5));
  add(d, rs("fd00:244::5", 8443));
  add(d, rs("fd00:244::6", 8443, 2, ForwardMethod::kDirectRoute));
  add(e, rs("fd00:244::7", 53));
  add(f, rs("10.244.4.1", 0, 1, ForwardMethod::kDirectRoute));
  add(g, rs("fd00:244::9", 0, 4, ForwardMethod::kTunnel, 50, 5));
  applyAll(client, model, adds);
  checkKernel(client, model);

  VirtualServer a2 = a;
  a2.scheduler = "wlc";
  VirtualServer b2 = b;
  b2.flags = 0;  // persistence off
  b2.timeout = 0;
  b2.netmask = 32;
  VirtualServer d2 = d;
  d2.flags = kFlagSched1;
  VirtualServer g2 = g;
  g2.timeout = 120;
  g2.netmask = 48;
  applyAll(client, model,
           {EditVirtualServer{a2}, EditVirtualServer{b2}, EditVirtualServer{d2},
            EditVirtualServer{g2}, EditRealServer{a.key, rs("10.244.1.1", 8080, 7)},
            EditRealServer{a.key, rs("10.244.1.2", 8080, 2, ForwardMethod::kMasquerade)},
            EditRealServer{d.key, rs("fd00:244::6", 8443, 0, ForwardMethod::kDirectRoute, 9, 3)}});
  checkKernel(client, model);

  applyAll(client, model,
           {DeleteRealServer{a.key, {ip("10.244.1.3"), 8080}}, DeleteVirtualServer{c.key},
            DeleteRealServer{g.key, {ip("fd00:244::9"), 0}}, DeleteVirtualServer{f.key}});
  checkKernel(client, model);
  CHECK_THAT(ipvsadm("-Sn"), Catch::Contains(kForeign) && Catch::Contains(kForeignRs));

  const auto& counters = client.counters();
  CHECK(counters.operationCount(IpvsOpKind::kAddService, IpvsOpResult::kOk) == 7);
  CHECK(counters.operationCount(IpvsOpKind::kAddDest, IpvsOpResult::kOk) == 12);
  CHECK(counters.operationCount(IpvsOpKind::kEditService, IpvsOpResult::kOk) == 4);
  CHECK(counters.operationCount(IpvsOpKind::kEditDest, IpvsOpResult::kOk) == 3);
  CHECK(counters.operationCount(IpvsOpKind::kDeleteService, IpvsOpResult::kOk) == 2);
  CHECK(counters.operationCount(IpvsOpKind::kDeleteDest, IpvsOpResult::kOk) == 2);
  CHECK(counters.dumps.load() == 4);
  CHECK(counters.dumpErrors.load() == 0);
  CHECK(counters.decodeErrors.load() == 0);
}

TEST_CASE("a run longer than one pack window (4,096 requests) lands completely", "[ipvs-kernel]") {
  KernelState model = freshWithForeign();
  IpvsClient client = openClient();
  std::vector<Operation> ops;
  for (int s = 0; s < 420; ++s) {
    const std::string addr = "10.96." + std::to_string(1 + s / 200) + "." + std::to_string(s % 200);
    const VirtualServer v = vs(addr.c_str(), static_cast<std::uint16_t>(80 + s % 3),
                               s % 2 ? Protocol::kUdp : Protocol::kTcp, s % 3 ? "rr" : "wrr");
    ops.push_back(AddVirtualServer{v});
    for (int r = 0; r < 10; ++r) {
      const std::string ra = "10.244." + std::to_string(s % 250) + "." + std::to_string(r + 1);
      ops.push_back(AddRealServer{v.key, rs(ra.c_str(), 8080, static_cast<std::uint32_t>(r))});
    }
  }
  REQUIRE(ops.size() == 4620);
  REQUIRE(ops.size() > netlink::kPackWindow);
  applyAll(client, model, ops);
  const auto& counters = client.counters();
  CHECK(counters.messages.load() == 4620);
  // 256 requests per sendmsg, within each window: 4,096 = 16 batches, the other 524 = 3.
  CHECK(counters.batches.load() == 16 + 3);
  CHECK(counters.enobufs.load() == 0);
  CHECK(lines(ipvsadm("-Sn")).size() == 4620 + 2);
  checkKernel(client, model);

  std::vector<Operation> deletes;
  for (const auto& op : ops) {
    if (auto* add = std::get_if<AddVirtualServer>(&op)) {
      deletes.push_back(DeleteVirtualServer{add->server.key});
    }
  }
  applyAll(client, model, deletes);
  checkKernel(client, model);  // the foreign service only
}

TEST_CASE("one-by-one mode and a small receive buffer change batching only", "[ipvs-kernel]") {
  KernelState model = freshWithForeign();
  netlink::IpvsOptions oneByOne;
  oneByOne.oneByOne = true;
  IpvsClient slow = openClient(oneByOne);
  netlink::IpvsOptions small;
  small.socketBufferBytes = 16 * 1024;  // room for the ACKs of ~16 requests only
  small.ackEveryRequest = true;
  IpvsClient tight = openClient(small);
  std::vector<Operation> first, second;
  for (int s = 0; s < 20; ++s) {
    const std::string addr = "10.96.1." + std::to_string(s);
    const VirtualServer v = vs(addr.c_str(), 80, Protocol::kTcp, "rr");
    auto& ops = s < 5 ? first : second;
    ops.push_back(AddVirtualServer{v});
    for (int r = 0; r < 9; ++r) {
      const std::string ra = "10.244.7." + std::to_string(s * 10 + r + 1);
      ops.push_back(AddRealServer{v.key, rs(ra.c_str(), 80)});
    }
  }
  applyAll(slow, model, first);
  CHECK(slow.counters().batches.load() == first.size());
  applyAll(tight, model, second);
  INFO("SO_RCVBUF " << tight.receiveBufferBytes());
  CHECK(tight.counters().batches.load() > second.size() / 32);
  CHECK(tight.counters().enobufs.load() == 0);
  checkKernel(tight, model);
}

TEST_CASE("already-done operations are idempotent, real errors are reported", "[ipvs-kernel]") {
  KernelState model = freshWithForeign();
  IpvsClient client = openClient();
  const VirtualServer a = vs("10.96.0.1", 80, Protocol::kTcp, "rr");
  ipvsadm("-A -t 10.96.0.1:80 -s rr");
  ipvsadm("-a -t 10.96.0.1:80 -r 10.244.1.1:8080 -m -w 1");
  applyTo(model, AddVirtualServer{a});
  applyTo(model, AddRealServer{a.key, rs("10.244.1.1", 8080)});
  const VirtualServerKey missing = vs("10.96.0.99", 80, Protocol::kTcp, "rr").key;

  VirtualServer badSched = vs("10.96.0.5", 80, Protocol::kTcp, "nosuchsched");
  const std::vector<Operation> ops = {
      AddVirtualServer{a},                                            // EEXIST: idempotent
      AddRealServer{a.key, rs("10.244.1.1", 8080)},                   // EEXIST: idempotent
      DeleteVirtualServer{missing},                                   // ESRCH: idempotent
      DeleteRealServer{a.key, {ip("10.244.1.77"), 8080}},             // ENOENT: idempotent
      DeleteRealServer{missing, {ip("10.244.1.1"), 8080}},            // ESRCH: idempotent
      EditVirtualServer{vs("10.96.0.99", 80, Protocol::kTcp, "rr")},  // ESRCH: error
      AddRealServer{missing, rs("10.244.1.2", 80)},                   // ESRCH: error
      EditRealServer{a.key, rs("10.244.1.78", 8080)},                 // ENOENT: error
      AddVirtualServer{badSched},                                     // ENOENT (no module): error
      BindAddress{ip("10.96.0.1")},                                   // not IPVS: EINVAL
      AddRealServer{a.key, rs("10.244.1.3", 8080)},  // after the errors: still applied
  };
  const ApplyReport report = client.apply(ops);
  REQUIRE(report.results.size() == ops.size());
  for (std::size_t i = 0; i < 5; ++i) CHECK_FALSE(report.results[i]);
  CHECK(report.results[5] == std::errc::no_such_process);
  CHECK(report.results[6] == std::errc::no_such_process);
  CHECK(report.results[7] == std::errc::no_such_file_or_directory);
  CHECK(report.results[8] == std::errc::no_such_file_or_directory);
  CHECK(report.results[9] == std::errc::invalid_argument);
  CHECK_FALSE(report.results[10]);
  CHECK(report.idempotent == 5);
  CHECK(report.failed == 5);
  CHECK_FALSE(report.stateUncertain);
  const auto& c = client.counters();
  CHECK(c.operationCount(IpvsOpKind::kAddService, IpvsOpResult::kIdempotent) == 1);
  CHECK(c.operationCount(IpvsOpKind::kAddDest, IpvsOpResult::kIdempotent) == 1);
  CHECK(c.operationCount(IpvsOpKind::kDeleteService, IpvsOpResult::kIdempotent) == 1);
  CHECK(c.operationCount(IpvsOpKind::kDeleteDest, IpvsOpResult::kIdempotent) == 2);
  CHECK(c.operationCount(IpvsOpKind::kEditService, IpvsOpResult::kError) == 1);
  CHECK(c.operationCount(IpvsOpKind::kAddDest, IpvsOpResult::kError) == 1);
  CHECK(c.operationCount(IpvsOpKind::kOther, IpvsOpResult::kError) == 1);
  CHECK(c.operationCount(IpvsOpKind::kAddDest, IpvsOpResult::kOk) == 1);
  applyTo(model, ops[10]);
  checkKernel(client, model);
}

namespace {

// A ClusterIP Service with one port and `endpoints` endpoints on another node; what the agent
// must program for it is one virtual server and `endpoints` masquerading real servers.
constexpr int kBulkServices = 200;
constexpr int kBulkEndpoints = 4;

std::string bulkClusterIP(int i) { return "10.96.100." + std::to_string(i + 1); }
std::string bulkEndpoint(int i, int e) {
  return "10.244." + std::to_string(10 + i) + "." + std::to_string(e + 1);
}

void loadBulk(reconcile::Reconciler& r, Clock::TimePoint at) {
  for (int i = 0; i < kBulkServices; ++i) {
    Service svc;
    svc.key = {"bulk", "s" + std::to_string(i)};
    svc.clusterIPs = {ip(bulkClusterIP(i).c_str())};
    svc.ipFamilies = {Family::kV4};
    svc.ports = {{"http", Protocol::kTcp, 80, 0, "8080"}};
    r.upsertService(svc, at);
    EndpointSlice slice;
    slice.key = {"bulk", "s" + std::to_string(i) + "-x"};
    slice.serviceName = svc.key.name;
    slice.ports = {{"http", Protocol::kTcp, 8080}};
    for (int e = 0; e < kBulkEndpoints; ++e) {
      Endpoint ep;
      ep.address = ip(bulkEndpoint(i, e).c_str());
      ep.nodeName = "other";
      slice.endpoints.push_back(ep);
    }
    r.upsertSlice(slice, at);
  }
}

reconcile::Reconciler::Options bulkOptions() {
  NodeContext node;
  node.nodeName = "node-a";
  node.families = {Family::kV4};
  reconcile::RetryPolicy retry;
  retry.max = std::chrono::seconds(30);
  return {node, std::nullopt, retry};
}

}  // namespace

TEST_CASE("ENOBUFS on a large batch: a full resync re-reads the kernel and converges",
          "[ipvs-kernel][enobufs]") {
  KernelState model = freshWithForeign();
  int absent = 0;
  run("/usr/sbin/ip link del kube-ipvs0", &absent);  // left by a failed earlier run, if any
  netlink::KernelDataplaneOptions options;
  options.ipvs.testOnlyOverrunReceiveQueue = true;
  options.ipvs.ackEveryRequest = true;
  options.ipvs.batchMessages = 1024;
  options.ipvs.socketBufferBytes = 4096;  // SO_RCVBUF 8 KiB: the ACKs of about ten requests
  options.ipvs.batchBytes = 6 * 1024;     // within SO_SNDBUF (8 KiB), ~50 requests
  auto dataplane = netlink::KernelDataplane::open(options);
  INFO((dataplane ? "" : dataplane.error().message()));
  REQUIRE(dataplane.has_value());
  const netlink::IpvsCounters& counters = dataplane->ipvs().counters();
  reconcile::Reconciler r(*dataplane, bulkOptions());
  const Clock::TimePoint t0 = Clock::TimePoint{} + std::chrono::hours(1);
  loadBulk(r, t0);

  // One sync, 1,000 IPVS adds in batches of ~50 with an ACK each: the kernel does them all,
  // but most ACKs find the receive queue full and are dropped (ENOBUFS).
  const reconcile::SyncResult first = r.sync(t0);
  INFO("SO_RCVBUF " << dataplane->ipvs().receiveBufferBytes());
  CHECK(counters.enobufs.load() > 0);
  CHECK(counters.lostReplies.load() > 0);
  CHECK(first.fullResyncScheduled);
  CHECK(first.failures.size() == counters.lostReplies.load());
  for (const auto& f : first.failures) CHECK(f.error == std::errc::no_buffer_space);
  const std::uint64_t dumpsBefore = counters.dumps.load();
  // ENOBUFS loses only ACKs: the kernel did every request. Another writer now undoes some of
  // that work, acknowledged or not, so only a re-read of the kernel can put it back.
  ipvsadm("-D -t " + bulkClusterIP(0) + ":80");
  ipvsadm("-d -t " + bulkClusterIP(kBulkServices - 1) + ":80 -r " +
          bulkEndpoint(kBulkServices - 1, 0) + ":8080");

  // The syncs the schedule asks for, until a full one reads the kernel with nothing uncertain.
  Clock::TimePoint t = t0;
  bool converged = false;
  for (int i = 0; i < 20 && !converged; ++i) {
    const auto due = r.nextDue();
    REQUIRE(due.has_value());
    t = std::max(t, *due);
    const reconcile::SyncResult res = r.sync(t);
    converged = res.full && !res.fullResyncScheduled && res.failures.empty();
  }
  REQUIRE(converged);
  CHECK(counters.dumps.load() > dumpsBefore);  // the resync re-read the kernel
  const reconcile::SyncResult after = r.sync(t + std::chrono::seconds(1), true);
  CHECK(after.operations == 0);
  CHECK(after.failures.empty());
  CHECK_FALSE(after.fullResyncScheduled);

  // The kernel read back (IpvsClient dump and ipvsadm -Sn): every desired virtual and real
  // server exactly once, the foreign one untouched, nothing else.
  for (int i = 0; i < kBulkServices; ++i) {
    const VirtualServer v = vs(bulkClusterIP(i).c_str(), 80, Protocol::kTcp, "rr");
    applyTo(model, AddVirtualServer{v});
    for (int e = 0; e < kBulkEndpoints; ++e)
      applyTo(model, AddRealServer{v.key, rs(bulkEndpoint(i, e).c_str(), 8080)});
  }
  IpvsClient reader = openClient();
  checkKernel(reader, model);
  CHECK(lines(ipvsadm("-Sn")).size() == kBulkServices * (1 + kBulkEndpoints) + 2);
  ipvsadm("-C");
  run("/usr/sbin/ip link del kube-ipvs0");
}

// ---- traffic steps, driven by ipvs_netlink.sh around its HTTP requests ----

const VirtualServer kWeb = vs("10.96.0.50", 80, Protocol::kTcp, "rr");

TEST_CASE("traffic step 1: b1 weight 1, b2 weight 0", "[.traffic-setup]") {
  ipvsadm("-C");
  IpvsClient client = openClient();
  KernelState model;
  applyAll(client, model,
           {AddVirtualServer{kWeb}, AddRealServer{kWeb.key, rs("10.244.1.11", 8080, 1)},
            AddRealServer{kWeb.key, rs("10.244.1.12", 8080, 0)}});
  checkKernel(client, model);
}

TEST_CASE("traffic step 2: swap the weights in place", "[.traffic-swap]") {
  IpvsClient client = openClient();
  const ApplyReport report =
      client.apply(std::vector<Operation>{EditRealServer{kWeb.key, rs("10.244.1.11", 8080, 0)},
                                          EditRealServer{kWeb.key, rs("10.244.1.12", 8080, 1)}});
  CHECK(report.failed == 0);
}

TEST_CASE("traffic step 3: counters match ipvsadm --stats", "[.traffic-stats]") {
  IpvsClient client = openClient();
  auto dump = client.dump();
  REQUIRE(dump.has_value());
  REQUIRE(dump->size() == 1);
  std::multiset<std::string> fromDump;
  auto dests = client.dumpDestStats(dump->front().server.key);  // the mirror keeps no traffic
  REQUIRE(dests.has_value());
  for (const auto& r : *dests) {
    const auto& st = r.stats;
    CHECK(st.conns >= 6);  // each backend answered 6 requests in its turn
    CHECK(st.inPackets > 0);
    CHECK(st.outBytes > 0);
    fromDump.insert("-> " + formatAddressPort(r.server.key.address, r.server.key.port) + " " +
                    std::to_string(st.conns) + " " + std::to_string(st.inPackets) + " " +
                    std::to_string(st.outPackets) + " " + std::to_string(st.inBytes) + " " +
                    std::to_string(st.outBytes));
  }
  std::multiset<std::string> fromTool;
  for (const auto& l : lines(ipvsadm("-Ln --stats --exact"))) {
    if (l.rfind("-> 10.", 0) == 0) fromTool.insert(l);
  }
  INFO("ipvsadm:\n" << join(fromTool) << "dump:\n" << join(fromDump));
  CHECK(fromTool == fromDump);
}
