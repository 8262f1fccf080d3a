#include "netlink/conntrack_client.h"

#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace netlink {
namespace {

struct CtDeleter {
  void operator()(nfnl_ct* ct) const noexcept { nfnl_ct_put(ct); }
};
using CtPtr = std::unique_ptr<nfnl_ct, CtDeleter>;

std::optional<ipvs::IpAddress> address(const nl_addr* a, ipvs::Family family) {
  if (a == nullptr) return std::nullopt;
  const unsigned want = family == ipvs::Family::kV4 ? 4u : 16u;
  if (nl_addr_get_len(a) != want) return std::nullopt;
  return ipvs::IpAddress::fromBytes(family,
                                    static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(a)));
}

std::optional<ipvs::ConntrackTuple> tuple(const nfnl_ct& ct, int reply, ipvs::Family family) {
  auto src = address(nfnl_ct_get_src(&ct, reply), family);
  auto dst = address(nfnl_ct_get_dst(&ct, reply), family);
  if (!src || !dst) return std::nullopt;
  return ipvs::ConntrackTuple{*src, *dst, nfnl_ct_get_src_port(&ct, reply),
                              nfnl_ct_get_dst_port(&ct, reply)};
}

// The dump callback's state: the filters and the entries kept for deletion.
struct DumpContext {
  std::span<const ipvs::ConntrackFilter> filters;
  std::vector<CtPtr> matched;
};

int onEntry(nl_msg* msg, void* arg) noexcept {
  auto& ctx = *static_cast<DumpContext*>(arg);
  nfnl_ct* raw = nullptr;
  if (nfnlmsg_ct_parse(nlmsg_hdr(msg), &raw) < 0 || raw == nullptr) return NL_OK;
  CtPtr ct(raw);
  const auto entry = decodeConntrack(*ct);
  if (!entry || ctx.matched.size() >= ConntrackClient::kMaxDeletesPerCall) return NL_OK;
  const bool hit = std::any_of(ctx.filters.begin(), ctx.filters.end(),
                               [&](const auto& f) { return ipvs::matches(f, *entry); });
  if (hit) {
    try {
      ctx.matched.push_back(std::move(ct));
    } catch (...) {  // no exception may cross libnl's C frames
      return NL_STOP;
    }
  }
  return NL_OK;
}

}  // namespace

std::optional<ipvs::ConntrackEntry> decodeConntrack(const nfnl_ct& ct) {
  ipvs::ConntrackEntry out;
  switch (nfnl_ct_get_proto(&ct)) {
    case IPPROTO_UDP:
      out.protocol = ipvs::Protocol::kUdp;
      break;
    case IPPROTO_TCP:
      out.protocol = ipvs::Protocol::kTcp;
      break;
    case IPPROTO_SCTP:
      out.protocol = ipvs::Protocol::kSctp;
      break;
    default:
      return std::nullopt;
  }
  ipvs::Family family;
  switch (nfnl_ct_get_family(&ct)) {
    case AF_INET:
      family = ipvs::Family::kV4;
      break;
    case AF_INET6:
      family = ipvs::Family::kV6;
      break;
    default:
      return std::nullopt;
  }
  auto original = tuple(ct, 0, family);
  auto reply = tuple(ct, 1, family);
  if (!original || !reply) return std::nullopt;
  out.original = *original;
  out.reply = *reply;
  return out;
}

ipvs::Result<ConntrackClient> ConntrackClient::open() {
  NlSockPtr sock(nl_socket_alloc());
  if (!sock) return std::make_error_code(std::errc::not_enough_memory);
  if (int err = nfnl_connect(sock.get()); err < 0) return libnlError(err);
  return ConntrackClient(std::move(sock));
}

ipvs::Result<std::size_t> ConntrackClient::deleteEntries(
    std::span<const ipvs::ConntrackFilter> filters) {
  if (filters.empty()) return std::size_t{0};
  DumpContext ctx{filters, {}};
  if (int err = nfnl_ct_dump_request(sock_.get()); err < 0) return libnlError(err);
  nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, onEntry, &ctx);
  const int dumped = nl_recvmsgs_default(sock_.get());
  nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
  if (dumped < 0) return libnlError(dumped);
  std::size_t deleted = 0;
  std::error_code first;
  for (const auto& ct : ctx.matched) {
    const int err = nfnl_ct_del(sock_.get(), ct.get(), 0);
    if (err >= 0) {
      ++deleted;
    } else if (err != -NLE_OBJ_NOTFOUND && !first) {
      first = libnlError(err);
    }
  }
  if (first) return first;
  return deleted;
}

}  // namespace netlink
