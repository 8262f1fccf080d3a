// ipvs-wait: the outside probe of scripts/bench-agent's endpoint changes, and the kernel's floor
// for one.
//
//   ipvs-wait         one request a line on stdin, one answer a line on stdout:
//                     request "VIP PORT REAL_IP REAL_PORT" (a TCP virtual server and a real
//                     server); answer the seconds from reading the request until the kernel lists
//                     that real server, "timeout" after 60 s, or "error: ..." for a bad request.
//   ipvs-wait --add   the same requests; adds each real server itself (one netlink request, as
//                     the agent sends for an endpoint added) and answers the seconds it took.
//
// The bench writes each request just before it applies the change, so the first mode's answer is
// the change's latency as seen from outside the agent. One process serves every change and polls
// the kernel with one small netlink request every 5 ms: an `ipvsadm -Ln` exec per look cost the
// one emulated CPU several milliseconds, and took them from the agent it was timing. The --add
// mode, with no agent running, times what the kernel alone costs for the same change on a table
// of the same size: what the agent's latency cannot go below.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "netlink/ipvs_client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Request {
  ipvs::VirtualServerKey virtualServer;
  ipvs::RealServerKey realServer;
};

std::optional<Request> parse(const std::string& line) {
  std::istringstream in(line);
  std::string vip, rip;
  unsigned vport = 0, rport = 0;
  in >> vip >> vport >> rip >> rport;
  const auto vaddr = ipvs::IpAddress::parse(vip);
  const auto raddr = ipvs::IpAddress::parse(rip);
  if (!in || !vaddr || !raddr || vport > 65535 || rport > 65535) return std::nullopt;
  Request r;
  r.virtualServer.address = *vaddr;
  r.virtualServer.port = static_cast<std::uint16_t>(vport);
  r.realServer = {*raddr, static_cast<std::uint16_t>(rport)};
  return r;
}

bool listed(netlink::IpvsClient& ipvs, const Request& r) {
  auto dests = ipvs.dumpRealServers(r.virtualServer);
  if (!dests) return false;  // not there yet (the virtual server may be new too)
  for (const auto& d : *dests) {
    if (d.server.key == r.realServer) return true;
  }
  return false;
}

// The answer for one request: seconds, or why there are none.
std::string serve(netlink::IpvsClient& ipvs, const Request& r, bool add, Clock::time_point start) {
  if (add) {
    const ipvs::Operation op = ipvs::AddRealServer{r.virtualServer, {r.realServer}};
    const ipvs::ApplyReport report = ipvs.apply({&op, 1});
    if (report.failed != 0) return "error: add: " + report.results.front().message();
  } else {
    while (!listed(ipvs, r)) {
      if (Clock::now() - start >= std::chrono::seconds(60)) return "timeout";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const std::chrono::duration<double> took = Clock::now() - start;
  char out[32];
  std::snprintf(out, sizeof(out), "%.4f", took.count());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bool add = argc == 2 && std::strcmp(argv[1], "--add") == 0;
  if (argc > 2 || (argc == 2 && !add)) {
    std::cerr << "usage: ipvs-wait [--add]  (requests \"VIP PORT REAL_IP REAL_PORT\" on stdin)\n";
    return 2;
  }
  auto ipvs = netlink::IpvsClient::open();
  if (!ipvs) {
    std::cerr << "ipvs-wait: cannot open IPVS netlink: " << ipvs.error().message() << "\n";
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto start = Clock::now();
    const std::optional<Request> r = parse(line);
    std::cout << (r ? serve(*ipvs, *r, add, start) : "error: bad request: " + line) << std::endl;
  }
  return 0;
}
