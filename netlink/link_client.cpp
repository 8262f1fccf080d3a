#include "netlink/link_client.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <cstring>
#include <map>
#include <utility>

namespace netlink {

namespace {

std::error_code ignoreReplies(const nlmsghdr&) { return {}; }

std::error_code noMemory() { return std::make_error_code(std::errc::not_enough_memory); }

ipvs::Result<NlMsgPtr> newMessage(int type, int flags, const void* header, std::size_t size) {
  NlMsgPtr msg(nlmsg_alloc_simple(type, flags));
  if (!msg) return noMemory();
  if (int e = nlmsg_append(msg.get(), const_cast<void*>(header), size, NLMSG_ALIGNTO); e < 0) {
    return libnlError(e);
  }
  return msg;
}

ipvs::Result<NlMsgPtr> addressMessage(int type, int flags, int ifindex, const ipvs::IpAddress& ip) {
  ifaddrmsg ifa{};
  ifa.ifa_family = ip.isV4() ? AF_INET : AF_INET6;
  ifa.ifa_prefixlen = ip.isV4() ? 32 : 128;  // kube-proxy's netlink.NewIPNet: a host route
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;         // "scope global"
  ifa.ifa_index = static_cast<std::uint32_t>(ifindex);
  auto msg = newMessage(type, flags, &ifa, sizeof(ifa));
  if (!msg) return msg;
  const int len = static_cast<int>(ip.byteLength());
  for (int attr : {IFA_LOCAL, IFA_ADDRESS}) {
    if (int e = nla_put(msg->get(), attr, len, ip.bytes().data()); e < 0) return libnlError(e);
  }
  return msg;
}

ipvs::Result<NlMsgPtr> linkMessage(int type, int flags, int ifindex, std::string_view name,
                                   std::string_view kind) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  auto msg = newMessage(type, flags, &ifi, sizeof(ifi));
  if (!msg) return msg;
  if (!name.empty()) {
    const std::string n(name);
    if (int e = nla_put_string(msg->get(), IFLA_IFNAME, n.c_str()); e < 0) return libnlError(e);
  }
  if (!kind.empty()) {
    nlattr* info = nla_nest_start(msg->get(), IFLA_LINKINFO);
    if (info == nullptr) return noMemory();
    const std::string k(kind);
    if (int e = nla_put_string(msg->get(), IFLA_INFO_KIND, k.c_str()); e < 0) return libnlError(e);
    if (int e = nla_nest_end(msg->get(), info); e < 0) return libnlError(e);
  }
  return msg;
}

std::optional<LinkInfo> parseLink(const nlmsghdr& hdr) {
  if (hdr.nlmsg_type != RTM_NEWLINK) return std::nullopt;
  auto* nlh = const_cast<nlmsghdr*>(&hdr);
  nlattr* tb[IFLA_MAX + 1] = {};
  if (nlmsg_parse(nlh, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(nlh));
  LinkInfo link;
  link.index = ifi->ifi_index;
  link.flags = ifi->ifi_flags;
  if (tb[IFLA_IFNAME] != nullptr) link.name = nla_get_string(tb[IFLA_IFNAME]);
  nlattr* info[IFLA_INFO_MAX + 1] = {};
  if (tb[IFLA_LINKINFO] != nullptr &&
      nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) == 0 &&
      info[IFLA_INFO_KIND] != nullptr) {
    link.kind = nla_get_string(info[IFLA_INFO_KIND]);
  }
  return link;
}

std::optional<LocalAddress> parseAddress(const nlmsghdr& hdr) {
  if (hdr.nlmsg_type != RTM_NEWADDR) return std::nullopt;
  auto* nlh = const_cast<nlmsghdr*>(&hdr);
  nlattr* tb[IFA_MAX + 1] = {};
  if (nlmsg_parse(nlh, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(nlh));
  // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point links);
  // IPv6 carries only IFA_ADDRESS unless a peer is set.
  nlattr* a = tb[IFA_LOCAL] != nullptr ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (a == nullptr) return std::nullopt;
  const ipvs::Family family = ifa->ifa_family == AF_INET ? ipvs::Family::kV4 : ipvs::Family::kV6;
  const int want = family == ipvs::Family::kV4 ? 4 : 16;
  if ((ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) || nla_len(a) != want) {
    return std::nullopt;
  }
  LocalAddress out;
  out.ifindex = static_cast<int>(ifa->ifa_index);
  out.address = ipvs::IpAddress::fromBytes(family, static_cast<const std::uint8_t*>(nla_data(a)));
  out.prefix = ifa->ifa_prefixlen;
  out.scope = ifa->ifa_scope;
  return out;
}

bool isV6LinkLocal(const ipvs::IpAddress& ip) {
  return !ip.isV4() && ip.bytes()[0] == 0xfe && (ip.bytes()[1] & 0xc0) == 0x80;
}

}  // namespace

ipvs::Result<NlMsgPtr> encodeAddressRequest(bool bind, int ifindex,
                                            const ipvs::IpAddress& address) {
  return bind ? addressMessage(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, address)
              : addressMessage(RTM_DELADDR, 0, ifindex, address);
}

std::optional<LocalAddress> decodeAddress(const nlmsghdr& hdr) { return parseAddress(hdr); }
std::optional<LinkInfo> decodeLink(const nlmsghdr& hdr) { return parseLink(hdr); }

bool isIdempotentLinkResult(LinkOp op, std::error_code ec) {
  switch (op) {
    case LinkOp::kBind:
    case LinkOp::kCreateLink:
      return ec == std::errc::file_exists;
    case LinkOp::kUnbind:
      return ec == std::errc::address_not_available || ec == std::errc::no_such_device_or_address ||
             ec == std::errc::no_such_device;
    case LinkOp::kDeleteLink:
      return ec == std::errc::no_such_device;
  }
  return false;
}

std::set<ipvs::IpAddress> nodeAddressCandidates(std::span<const LocalAddress> addresses,
                                                ipvs::Family family) {
  std::set<ipvs::IpAddress> out;
  for (const LocalAddress& a : addresses) {
    if (a.address.family() != family || a.address.isLoopback() || isV6LinkLocal(a.address)) {
      continue;
    }
    out.insert(a.address);
  }
  return out;
}

LinkClient::LinkClient(NetlinkSocket socket)
    : socket_(std::move(socket)), counters_(std::make_unique<LinkCounters>()) {}
LinkClient::LinkClient(LinkClient&&) noexcept = default;
LinkClient& LinkClient::operator=(LinkClient&&) noexcept = default;
LinkClient::~LinkClient() = default;

ipvs::Result<LinkClient> LinkClient::open(DumpReads dumpReads) {
  SocketOptions options;
  options.protocol = NETLINK_ROUTE;
  options.bufferBytes = 1024 * 1024;
  options.dumpReads = dumpReads;
  auto socket = NetlinkSocket::open(options);
  if (!socket) return socket.error();
  return LinkClient(std::move(*socket));
}

std::error_code LinkClient::note(LinkOp op, std::error_code ec, const std::string& context) {
  if (ec && isIdempotentLinkResult(op, ec)) {
    ++counters_->idempotent;
    return {};
  }
  if (ec) {
    ++counters_->failures;
    lastError_ = context + ": " + ec.message();
    return ec;
  }
  switch (op) {
    case LinkOp::kBind:
      ++counters_->binds;
      break;
    case LinkOp::kUnbind:
      ++counters_->unbinds;
      break;
    case LinkOp::kCreateLink:
      ++counters_->linksCreated;
      break;
    case LinkOp::kDeleteLink:
      ++counters_->linksDeleted;
      break;
  }
  return {};
}

ipvs::Result<std::optional<LinkInfo>> LinkClient::findLink(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return std::make_error_code(std::errc::invalid_argument);
  auto msg = linkMessage(RTM_GETLINK, 0, 0, name, {});
  if (!msg) return msg.error();
  std::optional<LinkInfo> found;
  const std::error_code ec = socket_.request(msg->get(), [&](const nlmsghdr& hdr) {
    if (auto link = parseLink(hdr)) found = std::move(link);
    return std::error_code{};
  });
  if (ec == std::errc::no_such_device) return std::optional<LinkInfo>{};
  if (ec) {
    ++counters_->failures;
    lastError_ = "get link " + std::string(name) + ": " + ec.message();
    return ec;
  }
  return found;
}

ipvs::Result<int> LinkClient::ensureDummy(std::string_view name) {
  auto link = findLink(name);
  if (!link) return link.error();
  if (!*link) {
    auto msg = linkMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, name, "dummy");
    if (!msg) return msg.error();
    const std::error_code ec = note(LinkOp::kCreateLink, socket_.request(msg->get(), ignoreReplies),
                                    "create dummy " + std::string(name));
    if (ec) return ec;
    link = findLink(name);
    if (!link) return link.error();
    if (!*link) return std::make_error_code(std::errc::no_such_device);
  } else if ((*link)->kind != "dummy") {
    lastError_ = "link " + std::string(name) + " exists as '" + (*link)->kind + "', not dummy";
  }
  return (*link)->index;
}

ipvs::Result<void> LinkClient::deleteDummy(std::string_view name) {
  auto link = findLink(name);
  if (!link) return link.error();
  if (!*link) {
    ++counters_->idempotent;
    return {};
  }
  if ((*link)->kind != "dummy") {
    ++counters_->failures;
    lastError_ = "link " + std::string(name) + " is '" + (*link)->kind + "', not a dummy";
    return std::make_error_code(std::errc::invalid_argument);
  }
  auto msg = linkMessage(RTM_DELLINK, 0, (*link)->index, {}, {});
  if (!msg) return msg.error();
  if (auto ec = note(LinkOp::kDeleteLink, socket_.request(msg->get(), ignoreReplies),
                     "delete link " + std::string(name))) {
    return ec;
  }
  return {};
}

// ---- addresses ----

ipvs::Result<std::vector<LinkInfo>> LinkClient::dumpLinks() {
  auto msg = linkMessage(RTM_GETLINK, NLM_F_DUMP, 0, {}, {});
  if (!msg) return msg.error();
  std::vector<LinkInfo> links;
  ++counters_->dumps;
  const std::error_code ec = socket_.request(msg->get(), [&](const nlmsghdr& hdr) {
    if (auto link = parseLink(hdr)) links.push_back(std::move(*link));
    return std::error_code{};
  });
  if (ec) {
    ++counters_->failures;
    lastError_ = "dump links: " + ec.message();
    return ec;
  }
  return links;
}

ipvs::Result<std::vector<LocalAddress>> LinkClient::localAddresses(int exceptIndex) {
  auto links = dumpLinks();
  if (!links) return links.error();
  std::map<int, std::string> names;
  for (LinkInfo& l : *links) names.emplace(l.index, std::move(l.name));

  ifaddrmsg ifa{};
  ifa.ifa_family = AF_UNSPEC;
  auto msg = newMessage(RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa));
  if (!msg) return msg.error();
  std::vector<LocalAddress> out;
  ++counters_->dumps;
  const std::error_code ec = socket_.request(msg->get(), [&](const nlmsghdr& hdr) {
    auto a = parseAddress(hdr);
    if (a && a->ifindex != exceptIndex) {
      const auto name = names.find(a->ifindex);
      if (name != names.end()) a->interface = name->second;
      out.push_back(std::move(*a));
    }
    return std::error_code{};
  });
  if (ec) {
    ++counters_->failures;
    lastError_ = "dump addresses: " + ec.message();
    return ec;
  }
  return out;
}

ipvs::Result<std::set<ipvs::IpAddress>> LinkClient::listAddresses(int ifindex) {
  std::set<ipvs::IpAddress> out;
  auto listed = listAddressesEach(ifindex, [&out](const ipvs::IpAddress& a) { out.insert(a); });
  if (!listed) return listed.error();
  return out;
}

ipvs::Result<void> LinkClient::listAddressesEach(
    int ifindex, const std::function<void(const ipvs::IpAddress&)>& each) {
  // The kernel filters an address dump by index only under strict checking; a full dump
  // filtered here works on every kernel.
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_UNSPEC;
  auto msg = newMessage(RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa));
  if (!msg) return msg.error();
  ++counters_->dumps;
  const std::error_code ec = socket_.request(msg->get(), [&](const nlmsghdr& hdr) {
    if (auto a = parseAddress(hdr); a && a->ifindex == ifindex) each(a->address);
    return std::error_code{};
  });
  if (ec) {
    ++counters_->failures;
    lastError_ = "dump addresses of link " + std::to_string(ifindex) + ": " + ec.message();
    return ec;
  }
  return {};
}

std::vector<std::error_code> LinkClient::changeAll(int ifindex,
                                                   std::span<const ipvs::IpAddress> addresses,
                                                   bool add) {
  std::vector<std::error_code> results(addresses.size());
  // Each request is encoded into a libnl message (a page each) and copied into the packed
  // buffer at once, a window at a time: 10,000 addresses never hold 10,000 pages.
  PackedRequests packed;
  std::vector<std::size_t> slot;  // request in the window -> index in addresses
  const auto send = [&] {
    if (slot.empty()) return;
    const BatchOutcome outcome = socket_.transact(packed, BatchLimits{});
    for (std::size_t r = 0; r < slot.size(); ++r) results[slot[r]] = outcome.results[r];
    packed.clear();
    slot.clear();
  };
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    auto msg = encodeAddressRequest(add, ifindex, addresses[i]);
    if (!msg) {
      results[i] = msg.error();
      continue;
    }
    packed.append(msg->get());
    slot.push_back(i);
    if (slot.size() == kPackWindow) send();
  }
  send();
  const LinkOp op = add ? LinkOp::kBind : LinkOp::kUnbind;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    results[i] = note(op, results[i],
                      std::string(add ? "bind " : "unbind ") + addresses[i].toString() +
                          (add ? " to link " : " from link ") + std::to_string(ifindex));
  }
  return results;
}

std::vector<std::error_code> LinkClient::bindAll(int ifindex,
                                                 std::span<const ipvs::IpAddress> addresses) {
  return changeAll(ifindex, addresses, true);
}

std::vector<std::error_code> LinkClient::unbindAll(int ifindex,
                                                   std::span<const ipvs::IpAddress> addresses) {
  return changeAll(ifindex, addresses, false);
}

ipvs::Result<void> LinkClient::bind(int ifindex, const ipvs::IpAddress& address) {
  if (auto ec = changeAll(ifindex, std::span(&address, 1), true).front()) return ec;
  return {};
}

ipvs::Result<void> LinkClient::unbind(int ifindex, const ipvs::IpAddress& address) {
  if (auto ec = changeAll(ifindex, std::span(&address, 1), false).front()) return ec;
  return {};
}

}  // namespace netlink
