#include "netlink/nl_socket.h"

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

namespace netlink {

namespace {

class NetlinkCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netlink"; }
  std::string message(int code) const override { return nl_geterror(code); }
  std::error_condition default_error_condition(int code) const noexcept override;
};

std::error_condition NetlinkCategory::default_error_condition(int code) const noexcept {
  switch (code) {
    case 0:
      return {};
    case NLE_INTR:
      return std::errc::interrupted;
    case NLE_BAD_SOCK:
      return std::errc::bad_file_descriptor;
    case NLE_AGAIN:
      return std::errc::resource_unavailable_try_again;
    case NLE_NOMEM:
      return std::errc::not_enough_memory;
    case NLE_EXIST:
      return std::errc::file_exists;
    case NLE_INVAL:
      return std::errc::invalid_argument;
    case NLE_RANGE:
      return std::errc::result_out_of_range;
    case NLE_MSGSIZE:
      return std::errc::message_size;
    case NLE_OPNOTSUPP:
      return std::errc::operation_not_supported;
    case NLE_AF_NOSUPPORT:
      return std::errc::address_family_not_supported;
    case NLE_OBJ_NOTFOUND:
      return std::errc::no_such_file_or_directory;
    case NLE_NOADDR:
      return std::errc::address_not_available;
    case NLE_BUSY:
      return std::errc::device_or_resource_busy;
    case NLE_NOACCESS:
      return std::errc::permission_denied;
    case NLE_PERM:
      return std::errc::operation_not_permitted;
    case NLE_NODEV:
      return std::errc::no_such_device;
    case NLE_PROTO_MISMATCH:
      return std::errc::protocol_not_supported;
    case NLE_NOATTR:
    case NLE_MISSING_ATTR:
    case NLE_MSG_TRUNC:
    case NLE_MSG_TOOSHORT:
    case NLE_MSG_OVERFLOW:
    case NLE_PARSE_ERR:
    case NLE_ATTRSIZE:
    case NLE_SEQ_MISMATCH:
    case NLE_MSGTYPE_NOSUPPORT:
      return std::errc::bad_message;
    default:
      return std::errc::io_error;
  }
}

// Bytes of receive buffer one ACK occupies (skb truesize of a small nlmsgerr, rounded up), so a
// batch never produces more ACKs than the socket can queue.
constexpr std::size_t kAckTruesize = 1024;
constexpr std::size_t kMaxIov = 1024;  // UIO_MAXIOV
// The receive arena of each socket (the agent holds six). recvmmsg fills up to 64 ACK slots or
// DumpReads::chunksPerCall dump slots per call; more replies take more calls, not more memory.
constexpr std::size_t kArenaBytes = 256 * 1024;
constexpr std::size_t kAckSlotBytes = 4096;  // ACKs are ~40 bytes with NETLINK_CAP_ACK
constexpr std::size_t kMaxSlots = kArenaBytes / kAckSlotBytes;

void trySetInt(int fd, int level, int option, int value) {
  // Best effort: old kernels lack CAP_ACK, unprivileged callers cannot force buffer sizes.
  (void)setsockopt(fd, level, option, &value, sizeof(value));
}

}  // namespace

void NlSockDeleter::operator()(nl_sock* sock) const noexcept { nl_socket_free(sock); }
void NlMsgDeleter::operator()(nl_msg* msg) const noexcept { nlmsg_free(msg); }

const std::error_category& netlinkCategory() {
  static const NetlinkCategory kCategory;
  return kCategory;
}

std::error_code libnlError(int nle) {
  return {nle == INT_MIN ? NLE_FAILURE : (nle < 0 ? -nle : nle), netlinkCategory()};
}

// The code comes from the wire: an NLMSG_ERROR of INT_MIN (not negatable, UB) or far beyond the
// kernel's errno range is a malformed reply, not an errno. The bound is not MAX_ERRNO (4095):
// nfnetlink's ipset answers with its own codes from 4096 up (IPSET_ERR_EXIST is 4103).
std::error_code kernelError(int error) {
  constexpr int kMaxErrno = 0xffff;
  if (error < -kMaxErrno || error > kMaxErrno)
    return std::make_error_code(std::errc::protocol_error);
  return {error < 0 ? -error : error, std::generic_category()};
}

bool forEachMessage(std::span<const std::uint8_t> datagram,
                    const std::function<void(const nlmsghdr&)>& fn) {
  std::size_t offset = 0;
  while (datagram.size() - offset >= sizeof(nlmsghdr)) {
    nlmsghdr hdr;
    std::memcpy(&hdr, datagram.data() + offset, sizeof(hdr));
    if (hdr.nlmsg_len < sizeof(nlmsghdr) || hdr.nlmsg_len > datagram.size() - offset) return false;
    // Receive buffers are 4-byte aligned and netlink keeps messages NLMSG_ALIGNTO aligned, so
    // the header can be used in place for libnl's parsers.
    fn(*reinterpret_cast<const nlmsghdr*>(datagram.data() + offset));
    offset += std::min<std::size_t>(NLMSG_ALIGN(hdr.nlmsg_len), datagram.size() - offset);
  }
  return offset == datagram.size();
}

// ---------------------------------------------------------------------------------------------
// AckTracker

AckTracker::AckTracker(std::uint32_t firstSeq, std::size_t count, AckMode mode)
    : firstSeq_(firstSeq), mode_(mode), results_(count), pending_(count) {}

void AckTracker::feed(std::span<const std::uint8_t> datagram) {
  if (!forEachMessage(datagram, [this](const nlmsghdr& hdr) { onMessage(hdr); })) ++malformed_;
}

void AckTracker::onMessage(const nlmsghdr& hdr) {
  const std::size_t index = static_cast<std::uint32_t>(hdr.nlmsg_seq - firstSeq_);
  if (index >= results_.size()) {
    ++strays_;
    return;
  }
  if (hdr.nlmsg_type != NLMSG_ERROR) return;  // data replies are not expected here
  if (hdr.nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
    ++malformed_;
    return;
  }
  int error = 0;
  std::memcpy(&error, reinterpret_cast<const std::uint8_t*>(&hdr) + NLMSG_HDRLEN, sizeof(error));
  if (results_[index]) {
    ++duplicates_;
    return;
  }
  results_[index] = error == 0 ? std::error_code{} : kernelError(error);
  --pending_;
  if (mode_ == AckMode::kLastOnly && index + 1 == results_.size()) {
    // The kernel answers in order and always reports failures, so every earlier request that
    // has no reply by now succeeded.
    for (auto& result : results_) {
      if (!result) result = std::error_code{};
    }
    pending_ = 0;
  }
}

std::size_t AckTracker::failPending(std::error_code code) {
  std::size_t failed = 0;
  for (auto& result : results_) {
    if (!result) {
      result = code;
      ++failed;
    }
  }
  pending_ = 0;
  return failed;
}

// ---------------------------------------------------------------------------------------------
// PackedRequests

void PackedRequests::clear() {
  bytes_.clear();  // keeps the capacity: the next batch of the same size allocates nothing
  offsets_.clear();
}

void PackedRequests::append(const nlmsghdr& msg) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&msg);
  offsets_.push_back(bytes_.size());
  bytes_.insert(bytes_.end(), p, p + msg.nlmsg_len);
  bytes_.resize(bytes_.size() + (NLMSG_ALIGN(msg.nlmsg_len) - msg.nlmsg_len), 0);
}

void PackedRequests::append(nl_msg* msg) { append(*nlmsg_hdr(msg)); }

nlmsghdr* PackedRequests::at(std::size_t i) {
  // Offsets are NLMSG_ALIGNTO multiples and the vector's storage is malloc-aligned.
  return reinterpret_cast<nlmsghdr*>(bytes_.data() + offsets_[i]);
}

// ---------------------------------------------------------------------------------------------
// NetlinkSocket

struct NetlinkSocket::Arena {
  std::size_t slotBytes = 0;  // how the headers below currently carve `bytes`
  alignas(8) std::array<std::uint8_t, kArenaBytes> bytes;
  std::array<iovec, kMaxSlots> iov;
  std::array<mmsghdr, kMaxSlots> headers;
  std::array<sockaddr_nl, kMaxSlots> peers;
};

NetlinkSocket::NetlinkSocket(NlSockPtr sock, const SocketOptions& options)
    // Not zero-filled: a socket that never receives much never makes its arena resident.
    : sock_(std::move(sock)),
      arena_(std::make_unique_for_overwrite<Arena>()),
      timeout_(options.replyTimeout),
      dumpReads_(options.dumpReads) {}
NetlinkSocket::NetlinkSocket(NetlinkSocket&&) noexcept = default;
NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&&) noexcept = default;
NetlinkSocket::~NetlinkSocket() = default;

int NetlinkSocket::fd() const { return nl_socket_get_fd(sock_.get()); }

ipvs::Result<NetlinkSocket> NetlinkSocket::open(SocketOptions options) {
  DumpReads& dump = options.dumpReads;
  dump.chunkBytes = std::clamp<std::size_t>(dump.chunkBytes, 4096, DumpReads{}.chunkBytes);
  dump.chunksPerCall =
      std::clamp<std::size_t>(dump.chunksPerCall, 1, kArenaBytes / dump.chunkBytes);
  NlSockPtr sock(nl_socket_alloc());
  if (!sock) return std::make_error_code(std::errc::not_enough_memory);
  if (int err = nl_connect(sock.get(), options.protocol); err < 0) return libnlError(err);
  // Capped at net.core.[rw]mem_max; the *FORCE variants go past it with CAP_NET_ADMIN, which
  // any IPVS or route writer holds anyway.
  if (int err = nl_socket_set_buffer_size(sock.get(), options.bufferBytes, options.bufferBytes);
      err < 0) {
    return libnlError(err);
  }
  // The kernel sizes a dump's replies by the largest read so far on the socket: libnl's own
  // reads (the generic netlink family lookup) read no more than ours, or a later dump reply
  // would not fit a slot of dumpReads.chunkBytes.
  if (int err = nl_socket_set_msg_buf_size(sock.get(), dump.chunkBytes); err < 0)
    return libnlError(err);
  const int fd = nl_socket_get_fd(sock.get());
  trySetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, options.bufferBytes);
  trySetInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, options.bufferBytes);
  // Error ACKs carry only the header of the failed request, not the whole request.
  trySetInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);

  NetlinkSocket result(std::move(sock), options);
  int rcvbuf = 0;
  socklen_t len = sizeof(rcvbuf);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) != 0) return kernelError(errno);
  result.rcvbuf_ = rcvbuf;
  return result;
}

std::size_t NetlinkSocket::safeBatchMessages(const BatchLimits& limits) const {
  const std::size_t budget = limits.testOnlyOverrunReceiveQueue
                                 ? kMaxIov
                                 : static_cast<std::size_t>(rcvbuf_) / 2 / kAckTruesize;
  return std::clamp<std::size_t>(std::min({limits.maxMessages, budget, kMaxIov}), 1, kMaxIov);
}

std::uint32_t NetlinkSocket::stamp(nlmsghdr* hdr, std::uint16_t extraFlags) {
  hdr->nlmsg_seq = nextSeq_++;
  hdr->nlmsg_pid = nl_socket_get_local_port(sock_.get());
  hdr->nlmsg_flags = static_cast<std::uint16_t>(hdr->nlmsg_flags | NLM_F_REQUEST | extraFlags);
  return hdr->nlmsg_seq;
}

std::error_code NetlinkSocket::sendAll(std::span<nlmsghdr* const> msgs) {
  std::array<iovec, kMaxIov> iov{};
  const std::size_t count = std::min(msgs.size(), kMaxIov);
  for (std::size_t i = 0; i < count; ++i) iov[i] = {msgs[i], NLMSG_ALIGN(msgs[i]->nlmsg_len)};
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof(kernel);
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  while (sendmsg(fd(), &msg, 0) < 0) {
    if (errno != EINTR) return kernelError(errno);
  }
  return {};
}

std::error_code NetlinkSocket::receive(const DatagramFn& fn, bool wait, std::size_t slotBytes,
                                       std::size_t maxSlots) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  // Every slot of this size is carved, however many this call reads: a later call with the same
  // size may read more (an ACK read after a dump read of one 4 KiB reply).
  const std::size_t carved = std::min(kMaxSlots, kArenaBytes / slotBytes);
  const std::size_t slots = std::min(carved, maxSlots);
  Arena& a = *arena_;
  if (a.slotBytes != slotBytes) {  // carve the arena only when the slot size changes
    for (std::size_t i = 0; i < carved; ++i) {
      a.iov[i] = {a.bytes.data() + i * slotBytes, slotBytes};
      a.headers[i] = {};
      a.headers[i].msg_hdr.msg_name = &a.peers[i];
      a.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
      a.headers[i].msg_hdr.msg_iov = &a.iov[i];
      a.headers[i].msg_hdr.msg_iovlen = 1;
    }
    a.slotBytes = slotBytes;
  }
  for (;;) {
    // Replies are usually queued already (the kernel answers inside our sendmsg), so read first
    // and poll only when the queue is empty.
    const int n =
        recvmmsg(fd(), a.headers.data(), static_cast<unsigned>(slots), MSG_DONTWAIT, nullptr);
    if (n >= 0) {
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        if (a.peers[i].nl_pid != 0) continue;  // only the kernel may answer us
        // A truncated datagram (MSG_TRUNC) ends in a partial message, which parsers reject.
        const std::size_t len = std::min<std::size_t>(a.headers[i].msg_len, slotBytes);
        fn(std::span<const std::uint8_t>(a.bytes.data() + i * slotBytes, len));
      }
      // msg_namelen is value-result: restore it on the slots this call used.
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        a.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
      }
      return {};
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return kernelError(errno);
    if (!wait) return std::make_error_code(std::errc::resource_unavailable_try_again);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::make_error_code(std::errc::timed_out);
    pollfd pfd{fd(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      return kernelError(errno);
    }
  }
}

void NetlinkSocket::drain(const DatagramFn& fn, std::size_t slotBytes) {
  // Everything the kernel will answer is queued by the time sendmsg returns (netlink requests
  // are processed synchronously in the sender's context), so reading until EAGAIN is enough.
  for (int i = 0; i < 4096; ++i) {
    if (receive(fn, false, slotBytes)) return;
  }
}

void NetlinkSocket::runBatch(std::span<nlmsghdr* const> batch, bool ackEvery,
                             std::error_code* results, BatchOutcome& out) {
  const std::uint32_t first = nextSeq_;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const bool ack = ackEvery || i + 1 == batch.size();
    stamp(batch[i], ack ? NLM_F_ACK : 0);
  }
  AckTracker tracker(first, batch.size(), ackEvery ? AckMode::kEvery : AckMode::kLastOnly);
  ++out.batches;
  if (std::error_code ec = sendAll(batch)) {
    tracker.failPending(ec);  // nothing was processed: a certain failure
  }
  const DatagramFn feed = [&tracker](std::span<const std::uint8_t> d) { tracker.feed(d); };
  while (!tracker.done()) {
    const std::error_code ec = receive(feed, true, kAckSlotBytes);
    if (!ec) continue;
    out.uncertain = true;
    if (ec == std::errc::no_buffer_space) {
      ++out.enobufs;
      drain(feed, kAckSlotBytes);
    }
    out.lostReplies += tracker.failPending(ec);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) results[i] = *tracker.results()[i];
}

BatchOutcome NetlinkSocket::transact(std::span<nl_msg* const> requests, const BatchLimits& limits) {
  std::vector<nlmsghdr*> headers(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) headers[i] = nlmsg_hdr(requests[i]);
  return transactHeaders(headers, limits);
}

BatchOutcome NetlinkSocket::transact(PackedRequests& requests, const BatchLimits& limits) {
  std::vector<nlmsghdr*> headers(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) headers[i] = requests.at(i);
  return transactHeaders(headers, limits);
}

BatchOutcome NetlinkSocket::transactHeaders(std::span<nlmsghdr* const> requests,
                                            const BatchLimits& limits) {
  BatchOutcome out;
  out.results.resize(requests.size());
  const std::size_t maxMessages = safeBatchMessages(limits);
  std::size_t begin = 0;
  while (begin < requests.size()) {
    std::size_t end = begin;
    std::size_t bytes = 0;
    while (end < requests.size() && end - begin < maxMessages) {
      const std::size_t len = NLMSG_ALIGN(requests[end]->nlmsg_len);
      if (end > begin && bytes + len > limits.maxBytes) break;
      bytes += len;
      ++end;
    }
    runBatch(requests.subspan(begin, end - begin), limits.ackEveryRequest,
             out.results.data() + begin, out);
    begin = end;
  }
  return out;
}

std::error_code NetlinkSocket::request(nl_msg* msg, const ReplyHandler& onReply) {
  nlmsghdr* request = nlmsg_hdr(msg);
  const std::uint32_t seq = stamp(request, NLM_F_ACK);
  if (std::error_code ec = sendAll(std::span<nlmsghdr* const>(&request, 1))) return ec;
  bool done = false;
  bool malformed = false;
  bool interrupted = false;
  std::error_code result;
  const auto onMessage = [&](const nlmsghdr& hdr) {
    if (done || hdr.nlmsg_seq != seq || hdr.nlmsg_type == NLMSG_NOOP) return;
    if (hdr.nlmsg_type == NLMSG_ERROR || hdr.nlmsg_type == NLMSG_DONE) {
      // Both carry an int first: the nlmsgerr's error, or the dump's final status.
      int error = 0;
      if (hdr.nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
        std::memcpy(&error, reinterpret_cast<const std::uint8_t*>(&hdr) + NLMSG_HDRLEN,
                    sizeof(error));
      }
      if (error < 0 && !result) result = kernelError(error);
      done = true;
      return;
    }
    if (hdr.nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
    if (std::error_code ec = onReply(hdr); ec && !result) result = ec;
  };
  const DatagramFn feed = [&](std::span<const std::uint8_t> d) {
    if (!forEachMessage(d, onMessage)) malformed = true;
  };
  while (!done) {
    if (std::error_code ec = receive(feed, true, dumpReads_.chunkBytes, dumpReads_.chunksPerCall)) {
      if (ec == std::errc::no_buffer_space) drain(feed, dumpReads_.chunkBytes);
      return ec;
    }
  }
  if (!result && interrupted) result = std::make_error_code(std::errc::interrupted);
  if (!result && malformed) result = std::make_error_code(std::errc::bad_message);
  return result;
}

}  // namespace netlink
