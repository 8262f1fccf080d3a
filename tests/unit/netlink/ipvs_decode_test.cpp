// Decoding of hand-built kernel replies: the normal shapes (as ip_vs_ctl.c fills them) and the
// broken ones: truncated attributes, oversize strings, missing mandatory attributes, values out
// of range, random garbage. Every broken input must give a clean error, never a crash.
#include <catch2/catch.hpp>
#include <random>

#include "ipvs_test_util.h"
#include "netlink/ipvs_codec.h"

using namespace ipvs;
using namespace ipvs_test;
using netlink::decodeDest;
using netlink::decodeService;

namespace {

enum Omit : unsigned {
  kNone = 0,
  kNoAf = 1,
  kNoSched = 2,
  kNoFlags = 4,
  kNoNetmask = 8,
  kNoPort = 16,
  kNoTimeout = 32
};

// A service as the kernel dumps it (ip_vs_genl_fill_service).
void putKernelService(Builder& b, std::uint16_t af, std::uint16_t proto, const IpAddress& addr,
                      std::uint16_t port, const std::string& sched, std::uint32_t netmask,
                      unsigned omit = kNone) {
  nlattr* svc = b.nest(IPVS_CMD_ATTR_SERVICE);
  if (!(omit & kNoAf)) b.u16(IPVS_SVC_ATTR_AF, af);
  b.u16(IPVS_SVC_ATTR_PROTOCOL, proto);
  b.addr(IPVS_SVC_ATTR_ADDR, addr);
  if (!(omit & kNoPort)) b.u16(IPVS_SVC_ATTR_PORT, htons(port));
  if (!(omit & kNoSched)) b.str(IPVS_SVC_ATTR_SCHED_NAME, sched);
  const ip_vs_flags flags{IP_VS_SVC_F_HASHED | IP_VS_SVC_F_PERSISTENT, ~0u};
  if (!(omit & kNoFlags)) b.raw(IPVS_SVC_ATTR_FLAGS, &flags, sizeof(flags));
  if (!(omit & kNoTimeout)) b.u32(IPVS_SVC_ATTR_TIMEOUT, 10800);
  if (!(omit & kNoNetmask)) b.u32(IPVS_SVC_ATTR_NETMASK, netmask);
  nlattr* stats = b.nest(IPVS_SVC_ATTR_STATS);
  b.u32(IPVS_STATS_ATTR_CONNS, 5);
  b.end(stats);
  b.end(svc);
}

struct DestSpec {
  IpAddress addr;
  std::uint16_t port = 80;
  std::uint32_t method = IP_VS_CONN_F_MASQ;
  bool stats32 = true;
  bool stats64 = true;
  bool family = true;
  bool weight = true;
};

// A destination as the kernel dumps it (ip_vs_genl_fill_dest).
void putKernelDest(Builder& b, const DestSpec& d) {
  nlattr* dest = b.nest(IPVS_CMD_ATTR_DEST);
  b.addr(IPVS_DEST_ATTR_ADDR, d.addr);
  b.u16(IPVS_DEST_ATTR_PORT, htons(d.port));
  b.u32(IPVS_DEST_ATTR_FWD_METHOD, d.method);
  if (d.weight) b.u32(IPVS_DEST_ATTR_WEIGHT, 7);
  b.u32(IPVS_DEST_ATTR_U_THRESH, 100);
  b.u32(IPVS_DEST_ATTR_L_THRESH, 50);
  b.u32(IPVS_DEST_ATTR_ACTIVE_CONNS, 3);
  b.u32(IPVS_DEST_ATTR_INACT_CONNS, 4);
  b.u32(IPVS_DEST_ATTR_PERSIST_CONNS, 2);
  if (d.family) b.u16(IPVS_DEST_ATTR_ADDR_FAMILY, d.addr.isV4() ? AF_INET : AF_INET6);
  if (d.stats32) {
    nlattr* s = b.nest(IPVS_DEST_ATTR_STATS);
    b.u32(IPVS_STATS_ATTR_CONNS, 11);
    b.u32(IPVS_STATS_ATTR_INPKTS, 12);
    b.u32(IPVS_STATS_ATTR_OUTPKTS, 13);
    b.u64(IPVS_STATS_ATTR_INBYTES, 14);
    b.u64(IPVS_STATS_ATTR_OUTBYTES, 15);
    b.end(s);
  }
  if (d.stats64) {
    nlattr* s = b.nest(IPVS_DEST_ATTR_STATS64);
    b.u64(IPVS_STATS_ATTR_CONNS, 0x100000001ull);
    b.u64(IPVS_STATS_ATTR_INPKTS, 0x100000002ull);
    b.u64(IPVS_STATS_ATTR_OUTPKTS, 0x100000003ull);
    b.u64(IPVS_STATS_ATTR_INBYTES, 0x100000004ull);
    b.u64(IPVS_STATS_ATTR_OUTBYTES, 0x100000005ull);
    b.end(s);
  }
  b.end(dest);
}

bool isMissingAttr(const std::error_code& ec) {
  return ec == netlink::libnlError(NLE_MISSING_ATTR);
}

}  // namespace

TEST_CASE("a kernel service reply decodes, with HASHED stripped", "[ipvs][decode]") {
  Builder b(IPVS_CMD_NEW_SERVICE);
  putKernelService(b, AF_INET, IPPROTO_UDP, ip("10.96.0.10"), 53, "wrr", htonl(0xffffff00));
  auto vs = decodeService(b.hdr());
  REQUIRE(vs);
  CHECK(vs->key == key("10.96.0.10", 53, Protocol::kUdp));
  CHECK(vs->scheduler == "wrr");
  CHECK(vs->flags == kFlagPersistent);
  CHECK(vs->timeout == 10800);
  CHECK(vs->netmask == 24);

  Builder v6(IPVS_CMD_NEW_SERVICE);
  putKernelService(v6, AF_INET6, IPPROTO_SCTP, ip("fd00::1"), 3868, "sh", 128);
  vs = decodeService(v6.hdr());
  REQUIRE(vs);
  CHECK(vs->key == key("fd00::1", 3868, Protocol::kSctp));
  CHECK(vs->netmask == 128);
}

// Fuzz finding (tests/fuzz/corpus/netlink_reply/ipv4-netmask-zero): an IPv4 mask of 0.0.0.0
// decoded to 0, which the model reads as "unset" (/32): a foreign /0 looked like the agent's /32.
TEST_CASE("a kernel netmask that is no model prefix decodes apart from every prefix",
          "[ipvs][decode]") {
  for (std::uint32_t mask : {0u, 0x7fffffffu, 0xff00ff00u, 0xfffffffdu}) {
    INFO(mask);
    Builder b(IPVS_CMD_NEW_SERVICE);
    putKernelService(b, AF_INET, IPPROTO_TCP, ip("10.0.0.1"), 80, "rr", htonl(mask));
    const auto vs = decodeService(b.hdr());
    REQUIRE(vs);
    CHECK(vs->netmask == kNetmaskNotAPrefix);
    CHECK_FALSE(netlink::encodeOperation(AddVirtualServer{*vs}, 0x23));  // never sent back
  }
  Builder v6(IPVS_CMD_NEW_SERVICE);
  putKernelService(v6, AF_INET6, IPPROTO_TCP, ip("fd00::1"), 80, "rr", 0);
  CHECK(decodeService(v6.hdr())->netmask == kNetmaskNotAPrefix);
  for (std::uint32_t prefix : {1u, 8u, 31u, 32u}) {
    Builder b(IPVS_CMD_NEW_SERVICE);
    putKernelService(b, AF_INET, IPPROTO_TCP, ip("10.0.0.1"), 80, "rr",
                     htonl(~std::uint32_t{0} << (32 - prefix)));
    CHECK(decodeService(b.hdr())->netmask == prefix);
  }
}

TEST_CASE("a fwmark service reply decodes to the canonical fwmark key", "[ipvs][decode]") {
  Builder b(IPVS_CMD_NEW_SERVICE);
  nlattr* svc = b.nest(IPVS_CMD_ATTR_SERVICE);
  b.u16(IPVS_SVC_ATTR_AF, AF_INET6);
  b.u32(IPVS_SVC_ATTR_FWMARK, 99);
  b.str(IPVS_SVC_ATTR_SCHED_NAME, "rr");
  const ip_vs_flags flags{IP_VS_SVC_F_HASHED, ~0u};
  b.raw(IPVS_SVC_ATTR_FLAGS, &flags, sizeof(flags));
  b.u32(IPVS_SVC_ATTR_TIMEOUT, 0);
  b.u32(IPVS_SVC_ATTR_NETMASK, 128);
  b.end(svc);
  auto vs = decodeService(b.hdr());
  REQUIRE(vs);
  CHECK(vs->key == fwmarkKey(Family::kV6, 99));
  CHECK(vs->flags == 0);
}

TEST_CASE("a kernel destination reply decodes with counters", "[ipvs][decode]") {
  Builder b(IPVS_CMD_NEW_DEST);
  putKernelDest(b, {ip("10.244.1.5"), 8080, IP_VS_CONN_F_DROUTE});
  auto d = decodeDest(b.hdr(), Family::kV4);
  REQUIRE(d);
  CHECK(d->server.key == RealServerKey{ip("10.244.1.5"), 8080});
  CHECK(d->server.method == ForwardMethod::kDirectRoute);
  CHECK(d->server.weight == 7);
  CHECK(d->server.upperThreshold == 100);
  CHECK(d->server.lowerThreshold == 50);
  CHECK(d->stats.activeConns == 3);
  CHECK(d->stats.inactiveConns == 4);
  CHECK(d->stats.persistConns == 2);
  // STATS64 wins over the 32-bit STATS when both are present.
  CHECK(d->stats.conns == 0x100000001ull);
  CHECK(d->stats.outBytes == 0x100000005ull);

  Builder old(IPVS_CMD_NEW_DEST);  // a pre-4.1 kernel: STATS only, no ADDR_FAMILY
  putKernelDest(old, {ip("fd00::7"), 443, IP_VS_CONN_F_MASQ, true, false, false});
  d = decodeDest(old.hdr(), Family::kV6);
  REQUIRE(d);
  CHECK(d->server.key.address == ip("fd00::7"));
  CHECK(d->stats.conns == 11);
  CHECK(d->stats.inPackets == 12);
  CHECK(d->stats.outPackets == 13);
  CHECK(d->stats.inBytes == 14);
  CHECK(d->stats.outBytes == 15);
}

TEST_CASE("the mirror's view of a destination keeps the server and its connection counters",
          "[ipvs][decode]") {
  Builder b(IPVS_CMD_NEW_DEST);
  putKernelDest(b, {ip("10.244.1.5"), 8080, IP_VS_CONN_F_DROUTE});
  auto d = decodeDest(b.hdr(), Family::kV4);
  REQUIRE(d);
  const ObservedRealServer o = d->observed();
  CHECK(o.server == d->server);
  CHECK(o.conns == RealServerConns{3, 4});  // what graceful termination reads
}

TEST_CASE("missing mandatory attributes are clean errors", "[ipvs][decode]") {
  for (unsigned omit : {kNoAf, kNoSched, kNoFlags, kNoNetmask, kNoPort, kNoTimeout}) {
    INFO("omit " << omit);
    Builder b(IPVS_CMD_NEW_SERVICE);
    putKernelService(b, AF_INET, IPPROTO_TCP, ip("10.0.0.1"), 80, "rr", ~0u, omit);
    auto vs = decodeService(b.hdr());
    REQUIRE_FALSE(vs);
    CHECK(isMissingAttr(vs.error()));
  }
  Builder noService(IPVS_CMD_NEW_SERVICE);
  CHECK(isMissingAttr(decodeService(noService.hdr()).error()));
  CHECK(isMissingAttr(decodeDest(noService.hdr(), Family::kV4).error()));

  Builder noWeight(IPVS_CMD_NEW_DEST);
  DestSpec spec{ip("10.0.0.2")};
  spec.weight = false;
  putKernelDest(noWeight, spec);
  CHECK(isMissingAttr(decodeDest(noWeight.hdr(), Family::kV4).error()));
  CHECK(isMissingAttr(netlink::decodeConfig(noService.hdr()).error()));
  CHECK(isMissingAttr(netlink::decodeInfo(noService.hdr()).error()));
}

TEST_CASE("oversize, unterminated and short attributes are rejected", "[ipvs][decode]") {
  Builder longName(IPVS_CMD_NEW_SERVICE);
  putKernelService(longName, AF_INET, IPPROTO_TCP, ip("10.0.0.1"), 80,
                   "a-scheduler-name-far-too-long", ~0u);
  auto vs = decodeService(longName.hdr());
  REQUIRE_FALSE(vs);
  CHECK(vs.error().category() == netlink::netlinkCategory());

  Builder unterminated(IPVS_CMD_NEW_SERVICE);
  nlattr* svc = unterminated.nest(IPVS_CMD_ATTR_SERVICE);
  unterminated.u16(IPVS_SVC_ATTR_AF, AF_INET);
  unterminated.raw(IPVS_SVC_ATTR_SCHED_NAME, "rrrr", 4);  // no NUL
  unterminated.end(svc);
  CHECK_FALSE(decodeService(unterminated.hdr()));

  Builder shortPort(IPVS_CMD_NEW_SERVICE);
  svc = shortPort.nest(IPVS_CMD_ATTR_SERVICE);
  shortPort.u16(IPVS_SVC_ATTR_AF, AF_INET);
  shortPort.u16(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
  shortPort.addr(IPVS_SVC_ATTR_ADDR, ip("10.0.0.1"));
  const std::uint8_t one = 1;
  shortPort.raw(IPVS_SVC_ATTR_PORT, &one, 1);
  shortPort.end(svc);
  CHECK_FALSE(netlink::decodeServiceKey(shortPort.hdr()));

  Builder shortAddr(IPVS_CMD_NEW_SERVICE);  // 4 address bytes for an IPv6 service
  svc = shortAddr.nest(IPVS_CMD_ATTR_SERVICE);
  shortAddr.u16(IPVS_SVC_ATTR_AF, AF_INET6);
  shortAddr.u16(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
  shortAddr.raw(IPVS_SVC_ATTR_ADDR, "\x0a\x00\x00\x01", 4);
  shortAddr.u16(IPVS_SVC_ATTR_PORT, htons(80));
  shortAddr.end(svc);
  CHECK(netlink::decodeServiceKey(shortAddr.hdr()).error() == netlink::libnlError(NLE_ATTRSIZE));
}

TEST_CASE("values outside the model are rejected", "[ipvs][decode]") {
  Builder badAf(IPVS_CMD_NEW_SERVICE);
  putKernelService(badAf, 7, IPPROTO_TCP, ip("10.0.0.1"), 80, "rr", ~0u);
  CHECK_FALSE(decodeService(badAf.hdr()));

  Builder badProto(IPVS_CMD_NEW_SERVICE);
  putKernelService(badProto, AF_INET, IPPROTO_ICMP, ip("10.0.0.1"), 80, "rr", ~0u);
  CHECK(decodeService(badProto.hdr()).error() == std::errc::protocol_not_supported);

  Builder badMask(IPVS_CMD_NEW_SERVICE);
  putKernelService(badMask, AF_INET6, IPPROTO_TCP, ip("fd00::1"), 80, "rr", 129);
  CHECK_FALSE(decodeService(badMask.hdr()));

  Builder badMethod(IPVS_CMD_NEW_DEST);
  putKernelDest(badMethod, {ip("10.0.0.1"), 80, 6});
  CHECK_FALSE(decodeDest(badMethod.hdr(), Family::kV4));

  Builder badFamily(IPVS_CMD_NEW_DEST);
  nlattr* dest = badFamily.nest(IPVS_CMD_ATTR_DEST);
  badFamily.addr(IPVS_DEST_ATTR_ADDR, ip("10.0.0.1"));
  badFamily.u16(IPVS_DEST_ATTR_PORT, htons(80));
  for (int t : {IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_WEIGHT, IPVS_DEST_ATTR_U_THRESH,
                IPVS_DEST_ATTR_L_THRESH}) {
    badFamily.u32(t, 0);
  }
  badFamily.u16(IPVS_DEST_ATTR_ADDR_FAMILY, 99);
  badFamily.end(dest);
  CHECK_FALSE(decodeDest(badFamily.hdr(), Family::kV4));
}

TEST_CASE("a nest whose length runs past the message is not read", "[ipvs][decode]") {
  Builder b(IPVS_CMD_NEW_SERVICE);
  putKernelService(b, AF_INET, IPPROTO_TCP, ip("10.0.0.1"), 80, "rr", ~0u);
  std::vector<std::uint8_t> bytes = bytesOf(b.hdr());
  // Cut the message in the middle of the service nest and fix up nlmsg_len: the nest header now
  // claims more bytes than the message holds.
  const std::size_t cut = NLMSG_HDRLEN + GENL_HDRLEN + 24;
  bytes.resize(cut);
  std::uint32_t len = static_cast<std::uint32_t>(cut);
  std::memcpy(bytes.data(), &len, sizeof(len));
  const auto& hdr = *reinterpret_cast<const nlmsghdr*>(bytes.data());
  auto vs = decodeService(hdr);
  REQUIRE_FALSE(vs);
  CHECK(isMissingAttr(vs.error()));

  // A message too short for a genl header at all.
  nlmsghdr bare{};
  bare.nlmsg_len = sizeof(bare);
  bare.nlmsg_type = kFamilyId;
  CHECK(netlink::decodeCommand(bare) == -1);
  CHECK_FALSE(decodeService(bare));
  CHECK_FALSE(decodeDest(bare, Family::kV4));
}

TEST_CASE("random bytes after a valid header never crash the decoders", "[ipvs][decode]") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    Builder b(static_cast<std::uint8_t>(round % 2 ? IPVS_CMD_NEW_SERVICE : IPVS_CMD_NEW_DEST));
    std::vector<std::uint8_t> junk(1 + rng() % 200);
    for (auto& byte : junk) byte = static_cast<std::uint8_t>(rng());
    // Sometimes start with a plausible nest header so the parser goes deeper.
    if (junk.size() >= 4 && round % 3 == 0) {
      const std::uint16_t nlen = static_cast<std::uint16_t>(junk.size());
      const std::uint16_t type = round % 2 ? IPVS_CMD_ATTR_SERVICE : IPVS_CMD_ATTR_DEST;
      std::memcpy(junk.data(), &nlen, 2);
      std::memcpy(junk.data() + 2, &type, 2);
    }
    void* tail = nlmsg_reserve(b.get(), junk.size(), NLMSG_ALIGNTO);
    REQUIRE(tail != nullptr);
    std::memcpy(tail, junk.data(), junk.size());
    (void)decodeService(b.hdr());
    (void)netlink::decodeServiceKey(b.hdr());
    (void)decodeDest(b.hdr(), Family::kV4);
    (void)netlink::decodeConfig(b.hdr());
    (void)netlink::decodeInfo(b.hdr());
  }
  SUCCEED("no crash");
}

TEST_CASE("info and config replies decode", "[ipvs][decode]") {
  Builder info(IPVS_CMD_SET_INFO, 0);
  info.u32(IPVS_INFO_ATTR_VERSION, 0x010201);
  info.u32(IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
  auto i = netlink::decodeInfo(info.hdr());
  REQUIRE(i);
  CHECK(i->version == 0x010201);
  CHECK(i->versionString() == "1.2.1");
  CHECK(i->connTableSize == 4096);

  Builder config(IPVS_CMD_SET_CONFIG, 0);
  config.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, 900);
  config.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, 120);
  config.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, 300);
  auto t = netlink::decodeConfig(config.hdr());
  REQUIRE(t);
  CHECK(*t == netlink::IpvsTimeouts{900, 120, 300});
}
