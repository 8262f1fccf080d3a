#pragma once
// kube-ipvs0 and its addresses, over rtnetlink (docs/kube-proxy-behaviour.md#dummy-interface).
//
// Purpose: ensure the dummy link exists (created like kube-proxy's: a plain dummy, left DOWN;
//   the dummy driver makes it NOARP), list, bind and unbind its addresses (/32 or /128, scope
//   global, as kube-proxy's netlink AddrAdd), delete it for --cleanup, and list the local
//   addresses of every other interface (NodePort addresses; an external or LoadBalancer IP that
//   is already local elsewhere is not bound again).
// Threading: one thread at a time; counters() may be read from any thread (relaxed atomics).
// Ownership: one NETLINK_ROUTE socket (netlink::NetlinkSocket) for the client's lifetime.
//   Move-only.
// Errors: kernel errno values in the generic category (ENODEV: no such link), libnl failures
//   in netlinkCategory(). Idempotency lives in isIdempotentLinkResult() only: EEXIST on a bind or
//   a create, EADDRNOTAVAIL / ENXIO / ENODEV on an unbind and ENODEV on a delete are success,
//   counted as idempotent.
// Metrics: LinkCounters.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ipvs/address.h"
#include "ipvs/result.h"
#include "netlink/nl_socket.h"

namespace netlink {

inline constexpr std::string_view kDummyInterface = "kube-ipvs0";

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;    // "dummy", "veth", ... (empty for links without IFLA_INFO_KIND)
  unsigned flags = 0;  // IFF_*
};

struct LocalAddress {
  std::string interface;
  int ifindex = 0;
  ipvs::IpAddress address;
  std::uint8_t prefix = 0;
  std::uint8_t scope = 0;  // RT_SCOPE_*
};

enum class LinkOp : std::uint8_t { kBind, kUnbind, kCreateLink, kDeleteLink };
// The one place that decides which kernel errors mean "already done".
bool isIdempotentLinkResult(LinkOp op, std::error_code ec);

// kube-proxy's isValidForSet: the family's addresses, without loopback and IPv6 link-local.
std::set<ipvs::IpAddress> nodeAddressCandidates(std::span<const LocalAddress> addresses,
                                                ipvs::Family family);

// Encoding and decoding, exposed for round-trip tests without a socket. The request binds
// (RTM_NEWADDR, create+excl) or unbinds (RTM_DELADDR) `address` as a host route, scope global.
ipvs::Result<NlMsgPtr> encodeAddressRequest(bool bind, int ifindex, const ipvs::IpAddress& address);
// An RTM_NEWADDR message (dump reply or request); nullopt for anything else or malformed.
std::optional<LocalAddress> decodeAddress(const nlmsghdr& hdr);
// An RTM_NEWLINK message; nullopt for anything else or malformed.
std::optional<LinkInfo> decodeLink(const nlmsghdr& hdr);

struct LinkCounters {
  using Counter = std::atomic<std::uint64_t>;
  Counter binds{0};
  Counter unbinds{0};
  Counter idempotent{0};
  Counter linksCreated{0};
  Counter linksDeleted{0};
  Counter dumps{0};
  Counter failures{0};
};

class LinkClient {
 public:
  [[nodiscard]] static ipvs::Result<LinkClient> open(DumpReads dumpReads = {});

  LinkClient(LinkClient&&) noexcept;
  LinkClient& operator=(LinkClient&&) noexcept;
  LinkClient(const LinkClient&) = delete;
  LinkClient& operator=(const LinkClient&) = delete;
  ~LinkClient();

  // nullopt when there is no such link.
  [[nodiscard]] ipvs::Result<std::optional<LinkInfo>> findLink(std::string_view name);
  // The link's index, creating a dummy of that name when missing. An existing link that is not
  // a dummy is kept (kube-proxy does the same) but reported in lastError().
  [[nodiscard]] ipvs::Result<int> ensureDummy(std::string_view name = kDummyInterface);
  // Deletes the dummy; missing is success; a link of another kind is invalid_argument.
  [[nodiscard]] ipvs::Result<void> deleteDummy(std::string_view name = kDummyInterface);

  // Every address on the link (both families).
  [[nodiscard]] ipvs::Result<std::set<ipvs::IpAddress>> listAddresses(int ifindex);
  // The same addresses, each handed to `each` as it is read.
  [[nodiscard]] ipvs::Result<void> listAddressesEach(
      int ifindex, const std::function<void(const ipvs::IpAddress&)>& each);
  // Every address on every link but `exceptIndex` (0: none excluded).
  [[nodiscard]] ipvs::Result<std::vector<LocalAddress>> localAddresses(int exceptIndex);

  [[nodiscard]] ipvs::Result<void> bind(int ifindex, const ipvs::IpAddress& address);
  [[nodiscard]] ipvs::Result<void> unbind(int ifindex, const ipvs::IpAddress& address);
  // Many binds or unbinds pipelined on the socket; one result per address (default = success).
  std::vector<std::error_code> bindAll(int ifindex, std::span<const ipvs::IpAddress> addresses);
  std::vector<std::error_code> unbindAll(int ifindex, std::span<const ipvs::IpAddress> addresses);

  const LinkCounters& counters() const { return *counters_; }
  const std::string& lastError() const { return lastError_; }

 private:
  explicit LinkClient(NetlinkSocket socket);
  std::vector<std::error_code> changeAll(int ifindex, std::span<const ipvs::IpAddress> addresses,
                                         bool add);
  std::error_code note(LinkOp op, std::error_code ec, const std::string& context);
  ipvs::Result<std::vector<LinkInfo>> dumpLinks();

  NetlinkSocket socket_;
  std::unique_ptr<LinkCounters> counters_;
  std::string lastError_;
};

}  // namespace netlink
