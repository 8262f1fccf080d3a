// Encoding half of ipvs_codec.h.
#include "netlink/ipvs_codec.h"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <variant>

namespace netlink {

namespace {

using ipvs::Family;
using ipvs::Result;

std::error_code invalid() { return std::make_error_code(std::errc::invalid_argument); }

constexpr std::size_t kAddrBytes = 16;  // sizeof(union nf_inet_addr)
constexpr std::size_t kMessageBytes = 512;

// ---- encoding ----

// Puts attributes and remembers the first failure, so every nla_put_*() return is checked
// without a goto (the NLA_PUT_* macros) or a branch per line.
class Writer {
 public:
  explicit Writer(nl_msg* msg) : msg_(msg) {}
  void u16(int type, std::uint16_t v) { check(nla_put_u16(msg_, type, v)); }
  void u32(int type, std::uint32_t v) { check(nla_put_u32(msg_, type, v)); }
  void bytes(int type, const void* data, std::size_t len) {
    check(nla_put(msg_, type, static_cast<int>(len), data));
  }
  void string(int type, const std::string& s) { check(nla_put_string(msg_, type, s.c_str())); }
  nlattr* nestStart(int type) {
    nlattr* nest = err_ == 0 ? nla_nest_start(msg_, type) : nullptr;
    if (!nest && err_ == 0) err_ = -NLE_NOMEM;
    return nest;
  }
  void nestEnd(nlattr* nest) {
    if (nest) check(nla_nest_end(msg_, nest));
  }
  std::error_code error() const { return err_ == 0 ? std::error_code{} : libnlError(err_); }

 private:
  void check(int rc) {
    if (err_ == 0 && rc < 0) err_ = rc;
  }
  nl_msg* msg_;
  int err_ = 0;
};

std::uint16_t afOf(Family f) { return f == Family::kV4 ? AF_INET : AF_INET6; }

// Starts a request in `msg`, dropping whatever it held: nlmsg_len is where libnl appends, and
// genlmsg_put rewrites the headers, so an emptied message is as good as a new one.
std::error_code startMessage(nl_msg* msg, int familyId, std::uint8_t cmd, int flags) {
  nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN;
  if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, familyId, 0, flags, cmd, IPVS_GENL_VERSION)) {
    return libnlError(NLE_NOMEM);
  }
  return {};
}

Result<NlMsgPtr> newMessage(int familyId, std::uint8_t cmd, int flags) {
  auto msg = newScratchMessage();
  if (!msg) return msg.error();
  if (auto ec = startMessage(msg->get(), familyId, cmd, flags)) return ec;
  return msg;
}

void putAddr(Writer& w, int type, const ipvs::IpAddress& addr) {
  std::array<std::uint8_t, kAddrBytes> raw{};  // nf_inet_addr; IPv4 in the first 4 bytes
  std::memcpy(raw.data(), addr.bytes().data(), addr.byteLength());
  w.bytes(type, raw.data(), raw.size());
}

void putServiceKey(Writer& w, const ipvs::VirtualServerKey& key) {
  w.u16(IPVS_SVC_ATTR_AF, afOf(key.family()));
  if (key.fwmark != 0) {
    w.u32(IPVS_SVC_ATTR_FWMARK, key.fwmark);
    return;
  }
  w.u16(IPVS_SVC_ATTR_PROTOCOL, static_cast<std::uint16_t>(key.protocol));
  putAddr(w, IPVS_SVC_ATTR_ADDR, key.address);
  w.u16(IPVS_SVC_ATTR_PORT, htons(key.port));
}

std::error_code checkService(const ipvs::VirtualServer& vs) {
  const std::uint32_t maxPrefix = vs.key.family() == Family::kV4 ? 32 : 128;
  if (vs.scheduler.empty() || vs.scheduler.size() >= IP_VS_SCHEDNAME_MAXLEN ||
      vs.scheduler.find('\0') != std::string::npos || vs.netmask > maxPrefix) {
    return invalid();
  }
  return {};
}

// The kernel's netmask: a big-endian mask for IPv4, a prefix length for IPv6.
std::uint32_t wireNetmask(const ipvs::VirtualServer& vs) {
  if (vs.key.family() == Family::kV6) return vs.netmask == 0 ? 128 : vs.netmask;
  const std::uint32_t prefix = vs.netmask == 0 ? 32 : vs.netmask;
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return htonl(mask);
}

void putService(Writer& w, const ipvs::VirtualServer& vs) {
  putServiceKey(w, vs.key);
  w.string(IPVS_SVC_ATTR_SCHED_NAME, vs.scheduler);
  // mask: every flag but HASHED, so an edit replaces the whole set and leaves the kernel's own
  // bookkeeping bit alone.
  const ip_vs_flags flags{vs.flags & ~ipvs::kFlagHashed, ~ipvs::kFlagHashed};
  w.bytes(IPVS_SVC_ATTR_FLAGS, &flags, sizeof(flags));
  w.u32(IPVS_SVC_ATTR_TIMEOUT, vs.timeout);
  w.u32(IPVS_SVC_ATTR_NETMASK, wireNetmask(vs));
}

void putDest(Writer& w, const ipvs::RealServer& rs, bool full) {
  putAddr(w, IPVS_DEST_ATTR_ADDR, rs.key.address);
  w.u16(IPVS_DEST_ATTR_PORT, htons(rs.key.port));
  // Kernels before 3.18 ignore this attribute and use the service's family.
  w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, afOf(rs.key.address.family()));
  if (!full) return;
  w.u32(IPVS_DEST_ATTR_FWD_METHOD, static_cast<std::uint32_t>(rs.method));
  w.u32(IPVS_DEST_ATTR_WEIGHT, rs.weight);
  w.u32(IPVS_DEST_ATTR_U_THRESH, rs.upperThreshold);
  w.u32(IPVS_DEST_ATTR_L_THRESH, rs.lowerThreshold);
}

std::error_code checkDest(const ipvs::RealServer& rs) {
  // The kernel keeps weight and thresholds as int; larger values would arrive negative.
  constexpr auto kMax = static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max());
  if (rs.weight > kMax || rs.upperThreshold > kMax || rs.lowerThreshold > kMax ||
      rs.method > ipvs::ForwardMethod::kBypass) {
    return invalid();
  }
  return {};
}

// What one operation sends: command, service part, optional destination part.
struct Request {
  std::uint8_t cmd = 0;
  ipvs::VirtualServerKey key;
  std::optional<ipvs::VirtualServer> service;  // full service (add/edit service)
  std::optional<ipvs::RealServer> dest;
  bool fullDest = false;
};

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

Result<Request> requestFor(const ipvs::Operation& op) {
  using namespace ipvs;
  return std::visit(Overloaded{
                        [](const AddVirtualServer& o) -> Result<Request> {
                          return Request{IPVS_CMD_NEW_SERVICE, o.server.key, o.server, {}, false};
                        },
                        [](const EditVirtualServer& o) -> Result<Request> {
                          return Request{IPVS_CMD_SET_SERVICE, o.server.key, o.server, {}, false};
                        },
                        [](const DeleteVirtualServer& o) -> Result<Request> {
                          return Request{IPVS_CMD_DEL_SERVICE, o.key, {}, {}, false};
                        },
                        [](const AddRealServer& o) -> Result<Request> {
                          return Request{IPVS_CMD_NEW_DEST, o.virtualServer, {}, o.server, true};
                        },
                        [](const EditRealServer& o) -> Result<Request> {
                          return Request{IPVS_CMD_SET_DEST, o.virtualServer, {}, o.server, true};
                        },
                        [](const DeleteRealServer& o) -> Result<Request> {
                          RealServer keyOnly;  // a delete sends the key only
                          keyOnly.key = o.key;
                          return Request{IPVS_CMD_DEL_DEST, o.virtualServer, {}, keyOnly, false};
                        },
                        [](const auto&) -> Result<Request> { return invalid(); },
                    },
                    op);
}

}  // namespace

bool isIpvsOperation(const ipvs::Operation& op) {
  return std::holds_alternative<ipvs::AddVirtualServer>(op) ||
         std::holds_alternative<ipvs::EditVirtualServer>(op) ||
         std::holds_alternative<ipvs::DeleteVirtualServer>(op) ||
         std::holds_alternative<ipvs::AddRealServer>(op) ||
         std::holds_alternative<ipvs::EditRealServer>(op) ||
         std::holds_alternative<ipvs::DeleteRealServer>(op);
}

Result<NlMsgPtr> newScratchMessage() {
  // Requests stay under ~250 bytes; libnl's default page-sized buffer would cost a page each.
  NlMsgPtr msg(nlmsg_alloc_size(kMessageBytes));
  if (!msg) return std::make_error_code(std::errc::not_enough_memory);
  return msg;
}

std::error_code encodeOperation(const ipvs::Operation& op, int familyId, nl_msg* scratch) {
  auto req = requestFor(op);
  if (!req) return req.error();
  if (req->service) {
    if (auto ec = checkService(*req->service)) return ec;
  }
  if (req->dest && req->fullDest) {
    if (auto ec = checkDest(*req->dest)) return ec;
  }
  if (auto ec = startMessage(scratch, familyId, req->cmd, 0)) return ec;
  Writer w(scratch);
  nlattr* svc = w.nestStart(IPVS_CMD_ATTR_SERVICE);
  if (req->service) {
    putService(w, *req->service);
  } else {
    putServiceKey(w, req->key);
  }
  w.nestEnd(svc);
  if (req->dest) {
    nlattr* dest = w.nestStart(IPVS_CMD_ATTR_DEST);
    putDest(w, *req->dest, req->fullDest);
    w.nestEnd(dest);
  }
  return w.error();
}

Result<NlMsgPtr> encodeOperation(const ipvs::Operation& op, int familyId) {
  auto msg = newScratchMessage();
  if (!msg) return msg.error();
  if (auto ec = encodeOperation(op, familyId, msg->get())) return ec;
  return std::move(*msg);
}

Result<NlMsgPtr> encodeDumpServices(int familyId) {
  return newMessage(familyId, IPVS_CMD_GET_SERVICE, NLM_F_DUMP);
}

Result<NlMsgPtr> encodeDumpDests(const ipvs::VirtualServerKey& key, int familyId) {
  auto msg = newMessage(familyId, IPVS_CMD_GET_DEST, NLM_F_DUMP);
  if (!msg) return msg.error();
  Writer w(msg->get());
  nlattr* svc = w.nestStart(IPVS_CMD_ATTR_SERVICE);
  putServiceKey(w, key);
  w.nestEnd(svc);
  if (auto ec = w.error()) return ec;
  return std::move(*msg);
}

Result<NlMsgPtr> encodeGetConfig(int familyId) {
  return newMessage(familyId, IPVS_CMD_GET_CONFIG, 0);
}

Result<NlMsgPtr> encodeSetConfig(const IpvsTimeouts& timeouts, int familyId) {
  auto msg = newMessage(familyId, IPVS_CMD_SET_CONFIG, 0);
  if (!msg) return msg.error();
  Writer w(msg->get());
  // An absent attribute leaves that timeout as it is.
  if (timeouts.tcp) w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, timeouts.tcp);
  if (timeouts.tcpFin) w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, timeouts.tcpFin);
  if (timeouts.udp) w.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, timeouts.udp);
  if (auto ec = w.error()) return ec;
  return std::move(*msg);
}

Result<NlMsgPtr> encodeGetInfo(int familyId) { return newMessage(familyId, IPVS_CMD_GET_INFO, 0); }

std::string IpvsInfo::versionString() const {
  return std::to_string((version >> 16) & 0xff) + "." + std::to_string((version >> 8) & 0xff) +
         "." + std::to_string(version & 0xff);
}

}  // namespace netlink
