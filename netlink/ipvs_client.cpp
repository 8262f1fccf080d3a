#include "netlink/ipvs_client.h"

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <algorithm>
#include <variant>

namespace netlink {

namespace {

constexpr std::array<std::string_view, kIpvsOpKinds> kKindNames = {
    "add_service", "edit_service", "delete_service", "add_dest",
    "edit_dest",   "delete_dest",  "other"};
constexpr std::array<std::string_view, kIpvsOpResults> kResultNames = {"ok", "idempotent", "error"};

void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
  counter.fetch_add(by, std::memory_order_relaxed);
}

}  // namespace

std::string_view ipvsOpKindName(IpvsOpKind kind) {
  return kKindNames[static_cast<std::size_t>(kind)];
}

std::string_view ipvsOpResultName(IpvsOpResult result) {
  return kResultNames[static_cast<std::size_t>(result)];
}

IpvsOpKind ipvsOpKind(const ipvs::Operation& op) {
  using namespace ipvs;
  if (std::holds_alternative<AddVirtualServer>(op)) return IpvsOpKind::kAddService;
  if (std::holds_alternative<EditVirtualServer>(op)) return IpvsOpKind::kEditService;
  if (std::holds_alternative<DeleteVirtualServer>(op)) return IpvsOpKind::kDeleteService;
  if (std::holds_alternative<AddRealServer>(op)) return IpvsOpKind::kAddDest;
  if (std::holds_alternative<EditRealServer>(op)) return IpvsOpKind::kEditDest;
  if (std::holds_alternative<DeleteRealServer>(op)) return IpvsOpKind::kDeleteDest;
  return IpvsOpKind::kOther;
}

bool isIdempotentSuccess(IpvsOpKind kind, std::error_code ec) {
  if (!ec || ec.category() != std::generic_category()) return false;
  switch (kind) {
    case IpvsOpKind::kAddService:
    case IpvsOpKind::kAddDest:
      return ec == std::errc::file_exists;
    case IpvsOpKind::kDeleteService:  // the kernel answers ESRCH for an unknown service
      return ec == std::errc::no_such_process;
    case IpvsOpKind::kDeleteDest:  // ENOENT: no such destination; ESRCH: its service is gone too
      return ec == std::errc::no_such_file_or_directory || ec == std::errc::no_such_process;
    default:
      return false;
  }
}

IpvsClient::IpvsClient(NetlinkSocket socket, NlMsgPtr scratch, int familyId, IpvsOptions options)
    : socket_(std::move(socket)),
      scratch_(std::move(scratch)),
      packed_(std::make_unique<PackedRequests>()),
      familyId_(familyId),
      options_(options),
      counters_(std::make_unique<IpvsCounters>()) {}
IpvsClient::IpvsClient(IpvsClient&&) noexcept = default;
IpvsClient& IpvsClient::operator=(IpvsClient&&) noexcept = default;
IpvsClient::~IpvsClient() = default;

ipvs::Result<IpvsClient> IpvsClient::open(IpvsOptions options) {
  auto socket = NetlinkSocket::open(SocketOptions{NETLINK_GENERIC, options.socketBufferBytes,
                                                  options.replyTimeout, options.dumpReads});
  if (!socket) return socket.error();
  // Resolved once: the id is stable for as long as the ip_vs module stays loaded. The lookup
  // makes the kernel load ip_vs on demand.
  const int family = genl_ctrl_resolve(socket->handle(), IPVS_GENL_NAME);
  if (family == -NLE_OBJ_NOTFOUND) return std::make_error_code(std::errc::protocol_not_supported);
  if (family < 0) return libnlError(family);
  auto scratch = newScratchMessage();
  if (!scratch) return scratch.error();
  return IpvsClient(std::move(*socket), std::move(*scratch), family, options);
}

void IpvsClient::count(IpvsOpKind kind, IpvsOpResult result) {
  bump(counters_->operations[static_cast<std::size_t>(kind)][static_cast<std::size_t>(result)]);
}

ipvs::ApplyReport IpvsClient::apply(std::span<const ipvs::Operation> ops) {
  ipvs::ApplyReport report;
  report.results.resize(ops.size());
  bump(counters_->applies);
  // Requests are packed and sent a window at a time, so the packed buffer stays small however
  // long the run (a first sync at 10k Services is 110k requests, 16 MiB packed at once).
  std::vector<std::size_t> opIndex;  // request position in the window -> operation position
  opIndex.reserve(std::min(ops.size(), kPackWindow));
  packed_->clear();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    // Not an IPVS kind, or a field the kernel would reject: fails here, never sent.
    if (std::error_code ec = encodeOperation(ops[i], familyId_, scratch_.get())) {
      report.results[i] = ec;
      continue;
    }
    packed_->append(scratch_.get());
    opIndex.push_back(i);
    if (opIndex.size() == kPackWindow) send(opIndex, report);
  }
  send(opIndex, report);

  for (std::size_t i = 0; i < ops.size(); ++i) {
    const IpvsOpKind kind = ipvsOpKind(ops[i]);
    std::error_code& ec = report.results[i];
    if (isIdempotentSuccess(kind, ec)) {
      ec.clear();
      ++report.idempotent;
      count(kind, IpvsOpResult::kIdempotent);
    } else if (ec) {
      ++report.failed;
      count(kind, IpvsOpResult::kError);
    } else {
      count(kind, IpvsOpResult::kOk);
    }
  }
  return report;
}

void IpvsClient::send(std::vector<std::size_t>& opIndex, ipvs::ApplyReport& report) {
  if (opIndex.empty()) return;
  BatchLimits limits{options_.batchMessages, options_.batchBytes, options_.ackEveryRequest};
  limits.testOnlyOverrunReceiveQueue = options_.testOnlyOverrunReceiveQueue;
  if (options_.oneByOne) limits.maxMessages = 1;
  const BatchOutcome out = socket_.transact(*packed_, limits);
  for (std::size_t j = 0; j < opIndex.size(); ++j) report.results[opIndex[j]] = out.results[j];
  report.stateUncertain = report.stateUncertain || out.uncertain;
  bump(counters_->batches, out.batches);
  bump(counters_->messages, opIndex.size());
  if (out.batches > 0) {
    counters_->lastBatchMessages.store((opIndex.size() + out.batches - 1) / out.batches,
                                       std::memory_order_relaxed);
  }
  bump(counters_->enobufs, out.enobufs);
  bump(counters_->lostReplies, out.lostReplies);
  opIndex.clear();
  packed_->clear();
}

ipvs::Result<std::vector<ipvs::ObservedVirtualServer>> IpvsClient::dump() {
  std::vector<ipvs::ObservedVirtualServer> services;
  const std::error_code ec = dumpEach(
      [&services](ipvs::ObservedVirtualServer&& vs) { services.push_back(std::move(vs)); });
  if (ec) return ec;
  return services;
}

std::error_code IpvsClient::dumpEach(
    const std::function<void(ipvs::ObservedVirtualServer&&)>& each) {
  bump(counters_->dumps);
  // The kernel allows one running dump per socket (a second one gets EBUSY), so each service's
  // destinations are dumped on a second socket while the service dump waits between its
  // batches: a service goes to `each` as soon as it is read, and no list of services is held.
  if (!destSocket_) {
    auto socket = NetlinkSocket::open(SocketOptions{NETLINK_GENERIC, options_.socketBufferBytes,
                                                    options_.replyTimeout, options_.dumpReads});
    if (!socket) {
      bump(counters_->dumpErrors);
      return socket.error();
    }
    destSocket_ = std::make_unique<NetlinkSocket>(std::move(*socket));
  }
  auto request = encodeDumpServices(familyId_);
  if (!request) return request.error();
  std::error_code failed;  // a destination dump failed: the rest of the services are skipped
  std::error_code ec = socket_.request(request->get(), [&](const nlmsghdr& hdr) {
    if (failed || hdr.nlmsg_type != familyId_) return std::error_code{};
    auto vs = decodeService(hdr);
    if (!vs) {
      bump(counters_->decodeErrors);
      return std::error_code{};
    }
    ipvs::ObservedVirtualServer observed{std::move(*vs), {}};
    failed = dumpDests(*destSocket_, observed);
    if (!failed) each(std::move(observed));
    return failed;
  });
  if (ec) bump(counters_->dumpErrors);
  return ec;
}

std::error_code IpvsClient::dumpDests(NetlinkSocket& socket, ipvs::ObservedVirtualServer& vs) {
  auto dests = dumpDestStats(socket, vs.server.key);
  if (!dests) return dests.error();
  // Exactly sized: the mirror holds 100k of these at 10k Services.
  vs.realServers.clear();
  vs.realServers.reserve(dests->size());
  for (const auto& d : *dests) vs.realServers.push_back(d.observed());
  return {};
}

ipvs::Result<std::vector<DecodedDest>> IpvsClient::dumpDestStats(
    const ipvs::VirtualServerKey& key) {
  return dumpDestStats(socket_, key);
}

ipvs::Result<std::vector<DecodedDest>> IpvsClient::dumpDestStats(
    NetlinkSocket& socket, const ipvs::VirtualServerKey& key) {
  auto request = encodeDumpDests(key, familyId_);
  if (!request) return request.error();
  std::vector<DecodedDest> dests;
  std::error_code ec = socket.request(request->get(), [&](const nlmsghdr& hdr) {
    if (hdr.nlmsg_type != familyId_) return std::error_code{};
    auto rs = decodeDest(hdr, key.family());
    if (rs) {
      dests.push_back(*rs);
    } else {
      bump(counters_->decodeErrors);
    }
    return std::error_code{};
  });
  if (ec) return ec;
  std::sort(dests.begin(), dests.end(),
            [](const auto& a, const auto& b) { return a.server.key < b.server.key; });
  return dests;
}

ipvs::Result<std::vector<ipvs::ObservedRealServer>> IpvsClient::dumpRealServers(
    const ipvs::VirtualServerKey& key) {
  ipvs::ObservedVirtualServer vs;
  vs.server.key = key;
  if (const std::error_code ec = dumpDests(socket_, vs)) return ec;
  return std::move(vs.realServers);
}

ipvs::Result<IpvsTimeouts> IpvsClient::getTimeouts() {
  auto request = encodeGetConfig(familyId_);
  if (!request) return request.error();
  ipvs::Result<IpvsTimeouts> result = libnlError(NLE_MISSING_ATTR);  // until a reply decodes
  std::error_code ec = socket_.request(request->get(), [&](const nlmsghdr& hdr) {
    if (hdr.nlmsg_type == familyId_) result = decodeConfig(hdr);
    return std::error_code{};
  });
  if (ec) return ec;
  return result;
}

ipvs::Result<void> IpvsClient::setTimeouts(const IpvsTimeouts& timeouts) {
  auto request = encodeSetConfig(timeouts, familyId_);
  if (!request) return request.error();
  std::error_code ec =
      socket_.request(request->get(), [](const nlmsghdr&) { return std::error_code{}; });
  if (ec) return ec;
  return {};
}

ipvs::Result<IpvsInfo> IpvsClient::info() {
  auto request = encodeGetInfo(familyId_);
  if (!request) return request.error();
  ipvs::Result<IpvsInfo> result = libnlError(NLE_MISSING_ATTR);
  std::error_code ec = socket_.request(request->get(), [&](const nlmsghdr& hdr) {
    if (hdr.nlmsg_type == familyId_) result = decodeInfo(hdr);
    return std::error_code{};
  });
  if (ec) return ec;
  return result;
}

}  // namespace netlink
