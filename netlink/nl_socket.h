#pragma once
// Netlink plumbing shared by the kernel adapters (IPVS over generic netlink, rtnetlink): RAII
// handles for libnl objects, the "netlink" error category, and NetlinkSocket, which sends many
// requests per sendmsg and matches every reply to its request by sequence number.
//
// Threading: a NetlinkSocket is used by one thread at a time. AckTracker is a plain value.
// Ownership: NetlinkSocket owns its nl_sock (and so the fd) and a receive arena; the messages
//   passed to it stay the caller's (their headers are stamped with seq, port and flags).
// Errors: libnl failures are codes in netlinkCategory() (values are libnl's NLE_*); errors the
//   kernel reports in an nlmsgerr are errno values in std::generic_category(), so ESRCH and
//   ENOENT stay distinct for the caller's idempotency rules. No exceptions.
// Metrics: every call returns what happened (batches, ENOBUFS, lost replies); the caller owns
//   the counters.
//
// This header does not include libnl, so it can sit in public headers of the adapters.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "ipvs/result.h"

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace netlink {

struct NlSockDeleter {
  void operator()(nl_sock* sock) const noexcept;
};
struct NlMsgDeleter {
  void operator()(nl_msg* msg) const noexcept;
};
using NlSockPtr = std::unique_ptr<nl_sock, NlSockDeleter>;
using NlMsgPtr = std::unique_ptr<nl_msg, NlMsgDeleter>;

// libnl's NLE_* codes (positive) as std::error_codes; equivalent to the nearest std::errc.
const std::error_category& netlinkCategory();
// `nle` may be negative (as libnl functions return it) or positive.
std::error_code libnlError(int nle);
// A kernel nlmsgerr.error (negative errno, or a subsystem code such as ipset's 4096 and up) or a
// positive one, in the generic category.
std::error_code kernelError(int error);

// Calls `fn` for each complete netlink message in one datagram. Stops at the first truncated or
// malformed header and returns false; true when the whole datagram was well formed.
bool forEachMessage(std::span<const std::uint8_t> datagram,
                    const std::function<void(const nlmsghdr&)>& fn);

// How a batch is acknowledged. kEvery: every request carries NLM_F_ACK and gets one NLMSG_ERROR
// (error 0 is the ACK). kLastOnly: only the last request asks for an ACK; the kernel still
// reports every failure, and processes and answers a sendmsg's requests in order, so the last
// reply proves that every earlier request without an error reply succeeded. That saves an ACK
// (an skb allocated, queued and read) per successful request.
enum class AckMode : std::uint8_t { kEvery, kLastOnly };

// Matches the replies of a pipelined batch (sequence numbers firstSeq .. firstSeq+count-1) to
// their requests. Replies to other sequence numbers are strays (e.g. late replies to a batch
// that timed out) and are ignored; in kEvery mode replies may come in any order.
class AckTracker {
 public:
  AckTracker(std::uint32_t firstSeq, std::size_t count, AckMode mode = AckMode::kEvery);

  // Feeds one received datagram (one or more netlink messages).
  void feed(std::span<const std::uint8_t> datagram);
  // Fails every request that has no reply yet with `code`; returns how many there were.
  std::size_t failPending(std::error_code code);

  bool done() const { return pending_ == 0; }
  std::size_t pending() const { return pending_; }
  std::size_t strays() const { return strays_; }
  std::size_t duplicates() const { return duplicates_; }
  std::size_t malformed() const { return malformed_; }
  // One entry per request; nullopt while unanswered. A default code is success.
  const std::vector<std::optional<std::error_code>>& results() const { return results_; }

 private:
  void onMessage(const nlmsghdr& hdr);

  std::uint32_t firstSeq_;
  AckMode mode_;
  std::vector<std::optional<std::error_code>> results_;
  std::size_t pending_;
  std::size_t strays_ = 0;
  std::size_t duplicates_ = 0;
  std::size_t malformed_ = 0;
};

// How a dump's replies are read. The kernel builds the next reply inside the read that takes
// the last one, up to the size of the largest read so far on the socket (at most 32 KiB), with
// no preemption point on a kernel with voluntary preemption; one recvmmsg takes several. A
// reader that must not keep the CPU from the sync thread, such as a full resync's dump on a
// small node, reads short replies one per call: more calls, each a short stretch in the kernel.
struct DumpReads {
  std::size_t chunkBytes = 32768;  // 4 KiB to 32 KiB
  std::size_t chunksPerCall = 8;
};
inline constexpr DumpReads kBackgroundDumpReads{8192, 1};

struct SocketOptions {
  int protocol = 0;                   // NETLINK_GENERIC (16), NETLINK_ROUTE (0), ...
  int bufferBytes = 4 * 1024 * 1024;  // SO_SNDBUF/SO_RCVBUF; forced past rmem_max when privileged
  std::chrono::milliseconds replyTimeout{10000};
  DumpReads dumpReads{};
};

struct BatchLimits {
  std::size_t maxMessages = 256;     // per sendmsg; 1 means one request per round trip
  std::size_t maxBytes = 64 * 1024;  // per sendmsg
  bool ackEveryRequest = false;      // AckMode::kEvery instead of kLastOnly
  // TEST ONLY, never set by the agent: drops the SO_RCVBUF bound of safeBatchMessages, so that
  // with ackEveryRequest and a small buffer one batch's ACKs overrun the receive queue and the
  // kernel reports ENOBUFS. The kernel test of the recovery path uses it.
  bool testOnlyOverrunReceiveQueue = false;
};

struct BatchOutcome {
  std::vector<std::error_code> results;  // one per request, in order; default code = success
  bool uncertain = false;                // replies were lost (ENOBUFS, timeout): re-read the kernel
  std::size_t batches = 0;               // sendmsg calls
  std::size_t enobufs = 0;               // receive-queue overruns seen
  std::size_t lostReplies = 0;           // requests failed because their reply never came
};

// Called for each reply message of a request (not for the final ACK / NLMSG_DONE). A non-zero
// return is remembered (the first one is returned) but the replies are still drained.
using ReplyHandler = std::function<std::error_code(const nlmsghdr&)>;

// Requests packed back to back in one buffer that is reused from call to call, so a large batch
// costs no allocation per request (encode each one into a scratch nl_msg, then append it).
// Callers pack at most kPackWindow requests before a transact, so the buffer stays near 150 KiB
// (an IPVS request is about 150 bytes) however long the run; the sendmsg batches inside a window
// are bounded by BatchLimits.
inline constexpr std::size_t kPackWindow = 1024;
class PackedRequests {
 public:
  void clear();
  void append(const nlmsghdr& msg);  // copies nlmsg_len bytes, padded to NLMSG_ALIGNTO
  void append(nl_msg* msg);
  std::size_t size() const { return offsets_.size(); }
  std::size_t bytes() const { return bytes_.size(); }
  nlmsghdr* at(std::size_t i);

 private:
  std::vector<std::uint8_t> bytes_;
  std::vector<std::size_t> offsets_;
};

class NetlinkSocket {
 public:
  static ipvs::Result<NetlinkSocket> open(SocketOptions options);

  NetlinkSocket(NetlinkSocket&&) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&&) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  ~NetlinkSocket();

  nl_sock* handle() const { return sock_.get(); }
  int fd() const;
  // The effective SO_RCVBUF, which bounds how many ACKs one batch may produce.
  int receiveBufferBytes() const { return rcvbuf_; }
  // Messages per batch that the receive buffer can hold the ACKs of, at most `limits` (with
  // testOnlyOverrunReceiveQueue: `limits` alone, up to the iovec limit).
  std::size_t safeBatchMessages(const BatchLimits& limits) const;

  // Sends the requests, many per sendmsg, each with NLM_F_REQUEST and its own sequence number,
  // and waits until every one is accounted for (see AckMode). Never stops at a failed request.
  BatchOutcome transact(std::span<nl_msg* const> requests, const BatchLimits& limits);
  BatchOutcome transact(PackedRequests& requests, const BatchLimits& limits);

  // Sends one request (the caller sets NLM_F_DUMP for a dump) and passes each reply message to
  // `onReply` until NLMSG_DONE or the ACK/error. Returns the first error.
  std::error_code request(nl_msg* msg, const ReplyHandler& onReply);

 private:
  struct Arena;
  NetlinkSocket(NlSockPtr sock, const SocketOptions& options);

  using DatagramFn = std::function<void(std::span<const std::uint8_t>)>;

  std::uint32_t stamp(nlmsghdr* hdr, std::uint16_t extraFlags);
  std::error_code sendAll(std::span<nlmsghdr* const> msgs);
  BatchOutcome transactHeaders(std::span<nlmsghdr* const> requests, const BatchLimits& limits);
  void runBatch(std::span<nlmsghdr* const> batch, bool ackEvery, std::error_code* results,
                BatchOutcome& out);
  // Reads the datagrams that are ready (waiting up to the reply timeout when `wait`) with one
  // recvmmsg into slots of `slotBytes`, and calls `fn` with each. Returns ENOBUFS, timed_out,
  // EAGAIN (when not waiting), ... or success when datagrams were read.
  // Reads the datagrams queued (waits for one if `wait`), at most `maxSlots` of `slotBytes`.
  std::error_code receive(const DatagramFn& fn, bool wait, std::size_t slotBytes,
                          std::size_t maxSlots = SIZE_MAX);
  void drain(const DatagramFn& fn, std::size_t slotBytes);

  NlSockPtr sock_;
  std::unique_ptr<Arena> arena_;
  std::chrono::milliseconds timeout_;
  DumpReads dumpReads_;
  std::uint32_t nextSeq_ = 1;
  int rcvbuf_ = 0;
};

}  // namespace netlink
