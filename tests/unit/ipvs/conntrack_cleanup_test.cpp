// ipvs/conntrack_cleanup.h: which UDP conntrack entries a change leaves stale (kube-proxy's
// pkg/proxy/conntrack/cleanup.go) and how a filter matches a dumped entry.

#include "ipvs/conntrack_cleanup.h"

#include <catch2/catch.hpp>

using namespace ipvs;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
VirtualServerKey udp(const char* vip, std::uint16_t port) {
  return {ip(vip), Protocol::kUdp, port, 0};
}
RealServerKey rs(const char* addr, std::uint16_t port) { return {ip(addr), port}; }
ConntrackFilter toBackend(const char* vip, std::uint16_t port, const char* backend,
                          std::uint16_t backendPort) {
  return {Protocol::kUdp, ip(vip), port, rs(backend, backendPort)};
}
ConntrackFilter toService(const char* vip, std::uint16_t port) {
  return {Protocol::kUdp, ip(vip), port, std::nullopt};
}

}  // namespace

TEST_CASE("conntrack: a removed UDP real server is flushed on every VS of the Service",
          "[conntrack]") {
  const UdpRealServers before{
      {udp("10.96.0.10", 53), {rs("10.244.1.1", 53), rs("10.244.1.2", 53)}},
      {udp("192.168.1.5", 30053), {rs("10.244.1.1", 53), rs("10.244.1.2", 53)}},
  };
  const UdpRealServers after{
      {udp("10.96.0.10", 53), {rs("10.244.1.2", 53)}},
      {udp("192.168.1.5", 30053), {rs("10.244.1.2", 53)}},
  };
  CHECK(udpConntrackFlushes(before, after) ==
        std::vector<ConntrackFilter>{toBackend("10.96.0.10", 53, "10.244.1.1", 53),
                                     toBackend("192.168.1.5", 30053, "10.244.1.1", 53)});
  CHECK(udpConntrackFlushes(after, after).empty());
}

TEST_CASE("conntrack: a deleted UDP VS flushes its real servers, a new real server flushes nothing",
          "[conntrack]") {
  const UdpRealServers before{{udp("10.96.0.10", 53), {rs("10.244.1.1", 53)}}};
  CHECK(udpConntrackFlushes(before, {}) ==
        std::vector<ConntrackFilter>{toBackend("10.96.0.10", 53, "10.244.1.1", 53)});
  const UdpRealServers grown{{udp("10.96.0.10", 53), {rs("10.244.1.1", 53), rs("10.244.1.3", 53)}}};
  CHECK(udpConntrackFlushes(before, grown).empty());
}

TEST_CASE("conntrack: a backend port change flushes the old port's entries", "[conntrack]") {
  const UdpRealServers before{{udp("fd00:96::10", 53), {rs("fd00:244::1", 5353)}}};
  const UdpRealServers after{{udp("fd00:96::10", 53), {rs("fd00:244::1", 5354)}}};
  CHECK(udpConntrackFlushes(before, after) ==
        std::vector<ConntrackFilter>{toBackend("fd00:96::10", 53, "fd00:244::1", 5353)});
}

TEST_CASE("conntrack: a UDP VS going from no real servers to some flushes its address and port",
          "[conntrack]") {
  const UdpRealServers empty{{udp("10.96.0.10", 53), {}}};
  const UdpRealServers served{{udp("10.96.0.10", 53), {rs("10.244.1.1", 53)}}};
  CHECK(udpConntrackFlushes(empty, served) ==
        std::vector<ConntrackFilter>{toService("10.96.0.10", 53)});
  // A VS that did not exist before counts as one without endpoints (kube-proxy: newly active).
  CHECK(udpConntrackFlushes({}, served) ==
        std::vector<ConntrackFilter>{toService("10.96.0.10", 53)});
  CHECK(udpConntrackFlushes(empty, empty).empty());
  CHECK(udpConntrackFlushes(served, empty) ==
        std::vector<ConntrackFilter>{toBackend("10.96.0.10", 53, "10.244.1.1", 53)});
}

TEST_CASE("conntrack: TCP, SCTP and fwmark virtual servers are never flushed", "[conntrack]") {
  const VirtualServerKey tcp{ip("10.96.0.10"), Protocol::kTcp, 80, 0};
  const VirtualServerKey sctp{ip("10.96.0.10"), Protocol::kSctp, 80, 0};
  const VirtualServerKey mark{IpAddress{}, Protocol::kUdp, 0, 7};
  const UdpRealServers before{{tcp, {rs("10.244.1.1", 80)}},
                              {sctp, {rs("10.244.1.1", 80)}},
                              {mark, {rs("10.244.1.1", 80)}}};
  CHECK(udpConntrackFlushes(before, {}).empty());
  const UdpRealServers after{{tcp, {rs("10.244.1.1", 80)}}, {mark, {rs("10.244.1.1", 80)}}};
  CHECK(udpConntrackFlushes({}, after).empty());
}

TEST_CASE("conntrack: a filter matches protocol, original destination and reply source",
          "[conntrack]") {
  ConntrackEntry e;
  e.protocol = Protocol::kUdp;
  e.original = {ip("10.250.0.5"), ip("10.96.0.10"), 40053, 53};
  e.reply = {ip("10.244.1.1"), ip("10.250.0.5"), 53, 40053};
  CHECK(matches(toBackend("10.96.0.10", 53, "10.244.1.1", 53), e));
  CHECK(matches(toService("10.96.0.10", 53), e));
  CHECK_FALSE(matches(toBackend("10.96.0.10", 53, "10.244.1.2", 53), e));
  CHECK_FALSE(matches(toBackend("10.96.0.10", 53, "10.244.1.1", 54), e));
  CHECK_FALSE(matches(toService("10.96.0.10", 54), e));
  CHECK_FALSE(matches(toService("10.96.0.11", 53), e));
  e.protocol = Protocol::kTcp;
  CHECK_FALSE(matches(toService("10.96.0.10", 53), e));
}
