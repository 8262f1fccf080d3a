// libFuzzer target: the kernel's netlink replies as the agent reads them: the datagram walker
// (forEachMessage), the ACK tracker of a pipelined batch, and the IPVS decoders on every message
// (service and destination dumps, config, info). Truncated or oversize attributes must give an
// error, never a read past the message (ASan). What a decoder accepts must be something the
// agent can write back: re-encoded as a request and decoded again, it must be equal.
//
// Input: byte 0 bit 0 picks AckMode::kLastOnly, bit 1 the IPv6 service family for destinations;
// byte 1 is the batch size (1..32, sequence numbers from kFirstSeq); the rest is one datagram.
#include <linux/ip_vs.h>
#include <netlink/msg.h>

#include <span>
#include <vector>

#include "netlink/ipvs_codec.h"
#include "netlink/nl_socket.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr std::uint32_t kFirstSeq = 1000;
constexpr int kFamilyId = 0x23;

void checkAcks(std::span<const std::uint8_t> datagram, netlink::AckMode mode, std::size_t count) {
  netlink::AckTracker acks(kFirstSeq, count, mode);
  acks.feed(datagram);
  std::size_t unanswered = 0;
  for (const auto& r : acks.results()) unanswered += r ? 0 : 1;
  if (acks.results().size() != count || unanswered != acks.pending()) {
    fuzz::fail("ACK tracker: pending count disagrees with its results");
  }
  const std::size_t failed = acks.failPending(std::make_error_code(std::errc::timed_out));
  if (failed != unanswered || !acks.done()) fuzz::fail("ACK tracker: failPending left requests");
}

void checkService(const nlmsghdr& msg) {
  const auto vs = netlink::decodeService(msg);
  if (!vs) return;
  if (vs->scheduler.size() >= IP_VS_SCHEDNAME_MAXLEN ||
      vs->scheduler.find('\0') != std::string::npos) {
    fuzz::fail("decoded scheduler name is too long or holds a NUL");
  }
  if ((vs->flags & ipvs::kFlagHashed) != 0) fuzz::fail("decoded flags keep IP_VS_SVC_F_HASHED");
  const auto request = netlink::encodeOperation(ipvs::AddVirtualServer{*vs}, kFamilyId);
  if (!request) return;  // not writable as is (e.g. a netmask out of range): an error, fine
  const auto back = netlink::decodeService(*nlmsg_hdr(request->get()));
  if (!back || !(*back == *vs)) fuzz::fail("decoded service does not survive a re-encode");
}

void checkDest(const nlmsghdr& msg, ipvs::Family family) {
  const auto rs = netlink::decodeDest(msg, family);
  if (!rs) return;
  const ipvs::VirtualServerKey owner{};
  const auto request = netlink::encodeOperation(ipvs::AddRealServer{owner, rs->server}, kFamilyId);
  if (!request) return;
  const auto back = netlink::decodeDest(*nlmsg_hdr(request->get()), family);
  if (!back || !(back->server == rs->server)) {
    fuzz::fail("decoded destination does not survive a re-encode");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto mode = (data[0] & 1) ? netlink::AckMode::kLastOnly : netlink::AckMode::kEvery;
  const auto family = (data[0] & 2) ? ipvs::Family::kV6 : ipvs::Family::kV4;
  const std::size_t count = 1 + data[1] % 32u;
  // An owned copy: receive buffers are aligned, and the decoders rely on it.
  const std::vector<std::uint8_t> datagram(data + 2, data + size);

  checkAcks(datagram, mode, count);
  netlink::forEachMessage(datagram, [&](const nlmsghdr& msg) {
    (void)netlink::decodeCommand(msg);
    (void)netlink::decodeServiceKey(msg);
    checkService(msg);
    checkDest(msg, family);
    (void)netlink::decodeConfig(msg);
    (void)netlink::decodeInfo(msg);
  });
  return 0;
}
