// Encode -> decode round trips for every IPVS operation kind and field, plus checks of the
// exact wire form where the kernel is picky (byte order, netmask, flags mask).
#include "netlink/ipvs_codec.h"

#include <catch2/catch.hpp>

#include "ipvs_test_util.h"

using namespace ipvs;
using namespace ipvs_test;
using netlink::decodeCommand;
using netlink::decodeDest;
using netlink::decodeService;
using netlink::decodeServiceKey;
using netlink::encodeOperation;

namespace {

// Finds the nested attributes of one top-level IPVS attribute of an encoded message.
std::vector<nlattr*> nested(nl_msg* msg, int top, int maxType) {
  std::vector<nlattr*> tb(static_cast<std::size_t>(maxType) + 1);
  nlattr* outer = nlmsg_find_attr(nlmsg_hdr(msg), GENL_HDRLEN, top);
  REQUIRE(outer != nullptr);
  REQUIRE(nla_parse_nested(tb.data(), maxType, outer, nullptr) == 0);
  return tb;
}

VirtualServer expectedAfterDecode(VirtualServer vs) {
  if (vs.netmask == 0) vs.netmask = vs.key.family() == Family::kV4 ? 32 : 128;
  vs.flags &= ~kFlagHashed;
  return vs;
}

}  // namespace

TEST_CASE("virtual servers of every shape survive encode and decode", "[ipvs][codec]") {
  std::vector<VirtualServer> cases;
  cases.push_back({key("10.20.30.41", 80), "rr", 0, 0, 0});
  cases.push_back({key("10.20.30.42", 53, Protocol::kUdp), "wrr", 0, 0, 32});
  cases.push_back({key("10.20.30.43", 9999, Protocol::kSctp), "lc", 0, 0, 0});
  cases.push_back({key("2001:db8::1", 443), "sh", kFlagSched1 | kFlagSched2, 0, 128});
  cases.push_back({key("2001:db8::2", 5353, Protocol::kUdp), "mh", kFlagSched2, 0, 64});
  cases.push_back({key("10.0.0.1", 65535), "rr", kFlagPersistent, 10800, 24});
  cases.push_back({key("10.0.0.2", 1), "wlc", kFlagPersistent | kFlagOnePacket, 1, 0});
  cases.push_back({key("10.0.0.3", 8080), "rr", kFlagHashed | kFlagSched3, 0, 0});
  cases.push_back({fwmarkKey(Family::kV4, 7), "rr", 0, 0, 0});
  cases.push_back({fwmarkKey(Family::kV6, 0xfffffffe), "sed", kFlagPersistent, 300, 96});
  cases.push_back({key("10.0.0.4", 80), "abcdefghijklmno", 0, 0, 0});  // 15 chars: the maximum
  cases.push_back({key("10.0.0.5", 80), "rr", 0, 0, 1});

  for (const VirtualServer& vs : cases) {
    INFO(vs.key.address.toString() << " port " << vs.key.port << " fwmark " << vs.key.fwmark);
    for (bool edit : {false, true}) {
      const Operation op =
          edit ? Operation{EditVirtualServer{vs}} : Operation{AddVirtualServer{vs}};
      auto msg = encodeOperation(op, kFamilyId);
      REQUIRE(msg);
      const nlmsghdr& hdr = *nlmsg_hdr(msg->get());
      CHECK(hdr.nlmsg_type == kFamilyId);
      CHECK(decodeCommand(hdr) == (edit ? IPVS_CMD_SET_SERVICE : IPVS_CMD_NEW_SERVICE));
      auto decoded = decodeService(hdr);
      REQUIRE(decoded);
      CHECK(*decoded == expectedAfterDecode(vs));
    }
    auto del = encodeOperation(DeleteVirtualServer{vs.key}, kFamilyId);
    REQUIRE(del);
    CHECK(decodeCommand(*nlmsg_hdr(del->get())) == IPVS_CMD_DEL_SERVICE);
    auto k = decodeServiceKey(*nlmsg_hdr(del->get()));
    REQUIRE(k);
    CHECK(*k == vs.key);
    // A delete carries the key only, so it is not a full service.
    CHECK_FALSE(decodeService(*nlmsg_hdr(del->get())));
  }
}

TEST_CASE("real servers of every shape survive encode and decode", "[ipvs][codec]") {
  std::vector<RealServer> cases;
  for (auto method : {ForwardMethod::kMasquerade, ForwardMethod::kLocal, ForwardMethod::kTunnel,
                      ForwardMethod::kDirectRoute, ForwardMethod::kBypass}) {
    RealServer r = rs("10.180.0.1", 8080, 3);
    r.method = method;
    cases.push_back(r);
  }
  RealServer thresholds = rs("10.180.0.2", 1, 0);
  thresholds.upperThreshold = 1000;
  thresholds.lowerThreshold = 10;
  cases.push_back(thresholds);
  cases.push_back(rs("10.180.0.3", 65535, 0x7fffffff));
  const std::vector<VirtualServerKey> services = {
      key("10.20.30.41", 80), key("10.20.30.41", 53, Protocol::kUdp),
      key("10.20.30.41", 80, Protocol::kSctp), fwmarkKey(Family::kV4, 42)};
  for (const auto& svc : services) {
    for (const RealServer& r : cases) {
      INFO(r.key.address.toString() << ":" << r.key.port);
      for (bool edit : {false, true}) {
        const Operation op =
            edit ? Operation{EditRealServer{svc, r}} : Operation{AddRealServer{svc, r}};
        auto msg = encodeOperation(op, kFamilyId);
        REQUIRE(msg);
        const nlmsghdr& hdr = *nlmsg_hdr(msg->get());
        CHECK(decodeCommand(hdr) == (edit ? IPVS_CMD_SET_DEST : IPVS_CMD_NEW_DEST));
        auto k = decodeServiceKey(hdr);
        REQUIRE(k);
        CHECK(*k == svc);
        auto d = decodeDest(hdr, svc.family());
        REQUIRE(d);
        CHECK(d->server == r);
        CHECK(d->stats == netlink::RealServerStats{});
      }
    }
  }
  // IPv6 service and real server; an IPv6 tunnel real server behind an IPv4 service.
  const VirtualServerKey v6 = key("2001:db8::10", 443);
  RealServer v6rs = rs("fd00::5", 8443, 2);
  auto msg = encodeOperation(AddRealServer{v6, v6rs}, kFamilyId);
  REQUIRE(msg);
  auto d = decodeDest(*nlmsg_hdr(msg->get()), Family::kV6);
  REQUIRE(d);
  CHECK(d->server == v6rs);
  v6rs.method = ForwardMethod::kTunnel;
  msg = encodeOperation(AddRealServer{key("10.1.1.1", 80), v6rs}, kFamilyId);
  REQUIRE(msg);
  d = decodeDest(*nlmsg_hdr(msg->get()), Family::kV4);  // ADDR_FAMILY overrides the service's
  REQUIRE(d);
  CHECK(d->server == v6rs);
}

TEST_CASE("a real-server delete sends the key and family only", "[ipvs][codec]") {
  const RealServerKey target{ip("10.180.0.9"), 9090};
  auto msg = encodeOperation(DeleteRealServer{key("10.20.30.41", 80), target}, kFamilyId);
  REQUIRE(msg);
  CHECK(decodeCommand(*nlmsg_hdr(msg->get())) == IPVS_CMD_DEL_DEST);
  auto dest = nested(msg->get(), IPVS_CMD_ATTR_DEST, IPVS_DEST_ATTR_MAX);
  REQUIRE(dest[IPVS_DEST_ATTR_ADDR]);
  REQUIRE(dest[IPVS_DEST_ATTR_PORT]);
  REQUIRE(dest[IPVS_DEST_ATTR_ADDR_FAMILY]);
  CHECK(ntohs(nla_get_u16(dest[IPVS_DEST_ATTR_PORT])) == 9090);
  CHECK(nla_get_u16(dest[IPVS_DEST_ATTR_ADDR_FAMILY]) == AF_INET);
  CHECK(std::memcmp(nla_data(dest[IPVS_DEST_ATTR_ADDR]), target.address.bytes().data(), 4) == 0);
  CHECK_FALSE(dest[IPVS_DEST_ATTR_WEIGHT]);
  CHECK_FALSE(dest[IPVS_DEST_ATTR_FWD_METHOD]);
  // Not a full destination, so the decoder refuses it as a dump entry.
  CHECK_FALSE(decodeDest(*nlmsg_hdr(msg->get()), Family::kV4));
}

TEST_CASE("the wire form matches what the kernel expects", "[ipvs][codec]") {
  VirtualServer vs{key("10.20.30.41", 80), "rr", kFlagPersistent | kFlagHashed, 60, 24};
  auto msg = encodeOperation(AddVirtualServer{vs}, kFamilyId);
  REQUIRE(msg);
  auto svc = nested(msg->get(), IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
  // Port in network byte order; address as a 16-byte nf_inet_addr.
  const auto* port = static_cast<const std::uint8_t*>(nla_data(svc[IPVS_SVC_ATTR_PORT]));
  CHECK(port[0] == 0x00);
  CHECK(port[1] == 0x50);
  CHECK(nla_len(svc[IPVS_SVC_ATTR_ADDR]) == 16);
  CHECK(nla_get_u16(svc[IPVS_SVC_ATTR_AF]) == AF_INET);
  CHECK(nla_get_u16(svc[IPVS_SVC_ATTR_PROTOCOL]) == IPPROTO_TCP);
  // IPv4 netmask as a big-endian mask.
  CHECK(ntohl(nla_get_u32(svc[IPVS_SVC_ATTR_NETMASK])) == 0xffffff00u);
  // Flags without HASHED, and a mask that leaves HASHED alone.
  ip_vs_flags flags{};
  REQUIRE(nla_len(svc[IPVS_SVC_ATTR_FLAGS]) == sizeof(flags));
  std::memcpy(&flags, nla_data(svc[IPVS_SVC_ATTR_FLAGS]), sizeof(flags));
  CHECK(flags.flags == kFlagPersistent);
  CHECK(flags.mask == ~kFlagHashed);
  CHECK(std::string(nla_get_string(svc[IPVS_SVC_ATTR_SCHED_NAME])) == "rr");

  // IPv6 netmask as a prefix length; 0 means the full length.
  vs.key = key("2001:db8::1", 80);
  vs.netmask = 0;
  msg = encodeOperation(AddVirtualServer{vs}, kFamilyId);
  REQUIRE(msg);
  svc = nested(msg->get(), IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
  CHECK(nla_get_u32(svc[IPVS_SVC_ATTR_NETMASK]) == 128);

  // A fwmark service is AF + FWMARK, nothing else.
  msg = encodeOperation(DeleteVirtualServer{fwmarkKey(Family::kV4, 5)}, kFamilyId);
  REQUIRE(msg);
  svc = nested(msg->get(), IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
  CHECK(nla_get_u32(svc[IPVS_SVC_ATTR_FWMARK]) == 5);
  CHECK_FALSE(svc[IPVS_SVC_ATTR_PROTOCOL]);
  CHECK_FALSE(svc[IPVS_SVC_ATTR_ADDR]);
  CHECK_FALSE(svc[IPVS_SVC_ATTR_PORT]);
}

TEST_CASE("operations the kernel would reject are refused before sending", "[ipvs][codec]") {
  const auto einval = std::make_error_code(std::errc::invalid_argument);
  CHECK(encodeOperation(BindAddress{ip("10.0.0.1")}, kFamilyId).error() == einval);
  CHECK(encodeOperation(UnbindAddress{ip("10.0.0.1")}, kFamilyId).error() == einval);
  CHECK(encodeOperation(AddIpsetEntry{}, kFamilyId).error() == einval);
  CHECK(encodeOperation(DeleteIpsetEntry{}, kFamilyId).error() == einval);
  CHECK_FALSE(netlink::isIpvsOperation(BindAddress{}));
  CHECK(netlink::isIpvsOperation(DeleteRealServer{}));

  VirtualServer vs{key("10.0.0.1", 80), "abcdefghijklmnop", 0, 0, 0};  // 16 chars
  CHECK(encodeOperation(AddVirtualServer{vs}, kFamilyId).error() == einval);
  vs.scheduler = "";
  CHECK(encodeOperation(EditVirtualServer{vs}, kFamilyId).error() == einval);
  vs.scheduler = std::string("r\0r", 3);
  CHECK(encodeOperation(AddVirtualServer{vs}, kFamilyId).error() == einval);
  vs.scheduler = "rr";
  vs.netmask = 33;
  CHECK(encodeOperation(AddVirtualServer{vs}, kFamilyId).error() == einval);
  vs.key = key("2001:db8::1", 80);
  vs.netmask = 129;
  CHECK(encodeOperation(AddVirtualServer{vs}, kFamilyId).error() == einval);
  vs.netmask = 128;
  CHECK(encodeOperation(AddVirtualServer{vs}, kFamilyId));

  RealServer r = rs("10.1.1.1", 80, 0x80000000u);
  CHECK(encodeOperation(AddRealServer{key("10.0.0.1", 80), r}, kFamilyId).error() == einval);
  r.weight = 1;
  r.upperThreshold = 0x80000000u;
  CHECK(encodeOperation(EditRealServer{key("10.0.0.1", 80), r}, kFamilyId).error() == einval);
  r.upperThreshold = 0;
  r.method = static_cast<ForwardMethod>(5);
  CHECK(encodeOperation(AddRealServer{key("10.0.0.1", 80), r}, kFamilyId).error() == einval);
}

TEST_CASE("config, info and dump requests are well formed", "[ipvs][codec]") {
  auto set = netlink::encodeSetConfig({900, 120, 300}, kFamilyId);
  REQUIRE(set);
  CHECK(decodeCommand(*nlmsg_hdr(set->get())) == IPVS_CMD_SET_CONFIG);
  auto timeouts = netlink::decodeConfig(*nlmsg_hdr(set->get()));
  REQUIRE(timeouts);
  CHECK(*timeouts == netlink::IpvsTimeouts{900, 120, 300});
  // 0 means "leave unchanged", so the attribute is left out.
  set = netlink::encodeSetConfig({900, 0, 0}, kFamilyId);
  REQUIRE(set);
  CHECK(nlmsg_find_attr(nlmsg_hdr(set->get()), GENL_HDRLEN, IPVS_CMD_ATTR_TIMEOUT_TCP));
  CHECK_FALSE(nlmsg_find_attr(nlmsg_hdr(set->get()), GENL_HDRLEN, IPVS_CMD_ATTR_TIMEOUT_UDP));
  CHECK_FALSE(netlink::decodeConfig(*nlmsg_hdr(set->get())));

  auto get = netlink::encodeGetConfig(kFamilyId);
  REQUIRE(get);
  CHECK(decodeCommand(*nlmsg_hdr(get->get())) == IPVS_CMD_GET_CONFIG);
  auto info = netlink::encodeGetInfo(kFamilyId);
  REQUIRE(info);
  CHECK(decodeCommand(*nlmsg_hdr(info->get())) == IPVS_CMD_GET_INFO);

  auto services = netlink::encodeDumpServices(kFamilyId);
  REQUIRE(services);
  CHECK((nlmsg_hdr(services->get())->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
  CHECK(decodeCommand(*nlmsg_hdr(services->get())) == IPVS_CMD_GET_SERVICE);
  auto dests = netlink::encodeDumpDests(key("10.9.8.7", 6, Protocol::kUdp), kFamilyId);
  REQUIRE(dests);
  CHECK((nlmsg_hdr(dests->get())->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
  CHECK(decodeCommand(*nlmsg_hdr(dests->get())) == IPVS_CMD_GET_DEST);
  auto k = decodeServiceKey(*nlmsg_hdr(dests->get()));
  REQUIRE(k);
  CHECK(*k == key("10.9.8.7", 6, Protocol::kUdp));
}

TEST_CASE("a reused scratch message encodes exactly like a fresh one", "[ipvs][codec]") {
  auto scratch = netlink::newScratchMessage();
  REQUIRE(scratch);
  const VirtualServer big{key("2001:db8::1", 443), "abcdefghijklmno", kFlagPersistent, 10, 64};
  RealServer r = rs("fd00::1", 8443, 9);
  r.upperThreshold = 5;
  const std::vector<Operation> ops = {
      AddVirtualServer{big}, AddRealServer{big.key, r},
      DeleteVirtualServer{key("10.0.0.1", 80)},  // shorter than what the scratch held
      DeleteRealServer{fwmarkKey(Family::kV4, 3), {ip("10.1.1.1"), 0}}, EditVirtualServer{big}};
  netlink::PackedRequests packed;
  for (const Operation& op : ops) {
    REQUIRE_FALSE(encodeOperation(op, kFamilyId, scratch->get()));
    auto fresh = encodeOperation(op, kFamilyId);
    REQUIRE(fresh);
    CHECK(bytesOf(*nlmsg_hdr(scratch->get())) == bytesOf(*nlmsg_hdr(fresh->get())));
    packed.append(scratch->get());
  }
  // Packed back to back, each at an aligned offset, each intact.
  REQUIRE(packed.size() == ops.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto fresh = encodeOperation(ops[i], kFamilyId);
    REQUIRE(fresh);
    CHECK(reinterpret_cast<std::uintptr_t>(packed.at(i)) % NLMSG_ALIGNTO == 0);
    CHECK(bytesOf(*packed.at(i)) == bytesOf(*nlmsg_hdr(fresh->get())));
    total += NLMSG_ALIGN(packed.at(i)->nlmsg_len);
  }
  CHECK(packed.bytes() == total);
  // A failed encode leaves nothing to send.
  CHECK(encodeOperation(BindAddress{}, kFamilyId, scratch->get()) == std::errc::invalid_argument);
  packed.clear();
  CHECK(packed.size() == 0);
  CHECK(packed.bytes() == 0);
}
