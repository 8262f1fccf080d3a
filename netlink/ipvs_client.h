#pragma once
// IpvsClient: IPVS virtual and real servers over generic netlink, one long-lived socket.
//
// Purpose: the only writer and reader of the kernel's IPVS tables. dump() reads every virtual
//   server with its real servers and counters; apply() writes operations in batches (many
//   requests per sendmsg, each with its own sequence number; by default only the last of a
//   batch asks for an ACK, see AckMode) and maps every error reply back to its operation.
// Threading: one thread at a time calls the methods (the Dataplane contract). counters() may be
//   read from any thread (relaxed atomics), e.g. by the /metrics handler.
// Ownership: owns one NETLINK_GENERIC socket (RAII) and the resolved "IPVS" family id; both
//   live as long as the client. Move-only.
// Errors: no exceptions. Kernel errors are errno codes (generic category), libnl failures are
//   netlink-category codes. Idempotency lives here and only here (isIdempotentSuccess): EEXIST
//   on an add, ESRCH (no such service) and ENOENT (no such destination) on a delete are
//   success, counted as idempotent. A lost reply or ENOBUFS sets ApplyReport::stateUncertain
//   and fails the unacknowledged operations; the caller must re-read the kernel.
// Metrics: IpvsCounters — operations by kind and result, batches and messages sent, ENOBUFS,
//   lost replies, dumps, dump errors, undecodable objects skipped by a dump.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "ipvs/dataplane.h"
#include "ipvs/kernel_objects.h"
#include "ipvs/operation.h"
#include "ipvs/result.h"
#include "netlink/ipvs_codec.h"
#include "netlink/nl_socket.h"

namespace netlink {

struct IpvsOptions {
  std::size_t batchMessages = 256;     // requests per sendmsg (also bounded by SO_RCVBUF)
  std::size_t batchBytes = 64 * 1024;  // bytes per sendmsg
  bool oneByOne = false;               // one request per round trip: the benchmark's baseline
  // Ask for an ACK from every request instead of only the last of each batch (AckMode).
  bool ackEveryRequest = false;
  // TEST ONLY, never set by the agent's flags: batches are not bounded by SO_RCVBUF, so with
  // ackEveryRequest and a small socketBufferBytes a large apply() overruns the receive queue
  // (ENOBUFS, stateUncertain). See BatchLimits::testOnlyOverrunReceiveQueue.
  bool testOnlyOverrunReceiveQueue = false;
  int socketBufferBytes = 4 * 1024 * 1024;
  std::chrono::milliseconds replyTimeout{10000};
  DumpReads dumpReads{};  // see DumpReads (nl_socket.h)
};

enum class IpvsOpKind : std::uint8_t {
  kAddService,
  kEditService,
  kDeleteService,
  kAddDest,
  kEditDest,
  kDeleteDest,
  kOther,  // not an IPVS operation: rejected with EINVAL
};
inline constexpr std::size_t kIpvsOpKinds = 7;
std::string_view ipvsOpKindName(IpvsOpKind kind);  // "add_service", ...
IpvsOpKind ipvsOpKind(const ipvs::Operation& op);

enum class IpvsOpResult : std::uint8_t { kOk, kIdempotent, kError };
inline constexpr std::size_t kIpvsOpResults = 3;
std::string_view ipvsOpResultName(IpvsOpResult result);  // "ok", "idempotent", "error"

// The one place that decides which kernel errors mean "already done".
bool isIdempotentSuccess(IpvsOpKind kind, std::error_code ec);

struct IpvsCounters {
  using Counter = std::atomic<std::uint64_t>;
  std::array<std::array<Counter, kIpvsOpResults>, kIpvsOpKinds> operations{};
  Counter batches{0};   // sendmsg calls made by apply()
  Counter messages{0};  // requests sent by apply(); messages / batches = per batch
  Counter lastBatchMessages{0};
  Counter enobufs{0};
  Counter lostReplies{0};
  Counter applies{0};
  Counter dumps{0};
  Counter dumpErrors{0};
  Counter decodeErrors{0};  // services or destinations a dump could not decode (skipped)

  std::uint64_t operationCount(IpvsOpKind kind, IpvsOpResult result) const {
    return operations[static_cast<std::size_t>(kind)][static_cast<std::size_t>(result)].load(
        std::memory_order_relaxed);
  }
};

class IpvsClient {
 public:
  static ipvs::Result<IpvsClient> open(IpvsOptions options = {});

  IpvsClient(IpvsClient&&) noexcept;
  IpvsClient& operator=(IpvsClient&&) noexcept;
  ~IpvsClient();

  // Every virtual server, with its real servers sorted by key. Objects the codec cannot decode
  // are skipped and counted (decodeErrors).
  ipvs::Result<std::vector<ipvs::ObservedVirtualServer>> dump();
  // The same, each virtual server handed to `each` as soon as it and its real servers are read;
  // nothing is held meanwhile (the real servers are dumped on a second socket).
  std::error_code dumpEach(const std::function<void(ipvs::ObservedVirtualServer&&)>& each);

  // The six IPVS kinds, in order, batched; any other kind fails with EINVAL.
  ipvs::ApplyReport apply(std::span<const ipvs::Operation> ops);

  // The real servers of one virtual server, with fresh counters (one dump request).
  ipvs::Result<std::vector<ipvs::ObservedRealServer>> dumpRealServers(
      const ipvs::VirtualServerKey& key);
  // The same with all the kernel's counters (packets, bytes), sorted by key; for tools and
  // tests, since the mirror keeps only the connection counters.
  ipvs::Result<std::vector<DecodedDest>> dumpDestStats(const ipvs::VirtualServerKey& key);
  ipvs::Result<IpvsTimeouts> getTimeouts();
  ipvs::Result<void> setTimeouts(const IpvsTimeouts& timeouts);  // 0 leaves one unchanged
  ipvs::Result<IpvsInfo> info();

  const IpvsCounters& counters() const { return *counters_; }
  const IpvsOptions& options() const { return options_; }
  int familyId() const { return familyId_; }
  int receiveBufferBytes() const { return socket_.receiveBufferBytes(); }

 private:
  IpvsClient(NetlinkSocket socket, NlMsgPtr scratch, int familyId, IpvsOptions options);

  std::error_code dumpDests(NetlinkSocket& socket, ipvs::ObservedVirtualServer& vs);
  ipvs::Result<std::vector<DecodedDest>> dumpDestStats(NetlinkSocket& socket,
                                                       const ipvs::VirtualServerKey& key);
  // Sends what is packed (the operations at opIndex) and records their results.
  void send(std::vector<std::size_t>& opIndex, ipvs::ApplyReport& report);
  void count(IpvsOpKind kind, IpvsOpResult result);

  NetlinkSocket socket_;
  // dumpEach()'s destination dumps, beside the service dump on socket_; opened by the first.
  std::unique_ptr<NetlinkSocket> destSocket_;
  NlMsgPtr scratch_;                        // each operation is encoded here, then packed
  std::unique_ptr<PackedRequests> packed_;  // reused; at most kPackWindow requests
  int familyId_;
  IpvsOptions options_;
  std::unique_ptr<IpvsCounters> counters_;  // heap: atomics do not move
};

}  // namespace netlink
