#pragma once
// ConntrackClient: ipvs::ConntrackPort over ctnetlink (nfnetlink conntrack), with libnl-nf.
//
// Purpose: deletes the UDP conntrack entries that the reconcile engine found stale
//   (ipvs/conntrack_cleanup.h). ctnetlink cannot delete by a partial tuple, so, as kube-proxy's
//   netlink library does, one call dumps the table once (both families), keeps the entries
//   that match a filter, and deletes each by its full tuple and id.
// Threading: one thread at a time (the sync loop's).
// Ownership: owns one NETLINK_NETFILTER socket, opened once and reused.
// Errors: libnl codes in netlinkCategory(); an entry that is gone before its delete (ENOENT:
//   it expired or another tool deleted it) is not an error. The first other failure is
//   returned after the remaining deletes were tried.
// Bounds: at most kMaxDeletesPerCall matched entries are held and deleted per call; the rest
//   expire by their UDP timeout, as they would without cleanup.

#include <cstddef>
#include <optional>
#include <span>

#include "ipvs/conntrack_port.h"
#include "netlink/nl_socket.h"

struct nfnl_ct;

namespace netlink {

// One libnl conntrack object as the entry the filters look at; nullopt for a protocol or
// family the agent never programs.
std::optional<ipvs::ConntrackEntry> decodeConntrack(const nfnl_ct& ct);

class ConntrackClient final : public ipvs::ConntrackPort {
 public:
  static constexpr std::size_t kMaxDeletesPerCall = 65536;

  static ipvs::Result<ConntrackClient> open();

  ipvs::Result<std::size_t> deleteEntries(std::span<const ipvs::ConntrackFilter> filters) override;

 private:
  explicit ConntrackClient(NlSockPtr sock) : sock_(std::move(sock)) {}
  NlSockPtr sock_;
};

}  // namespace netlink
