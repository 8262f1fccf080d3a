// The batching logic without a socket: ACK/sequence matching fed with synthetic reply
// datagrams, the error categories, and the single idempotency rule; and, on an unprivileged
// rtnetlink socket, the batch bound SO_RCVBUF sets.
#include <linux/netlink.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <climits>

#include "ipvs_test_util.h"
#include "netlink/ipvs_client.h"
#include "netlink/nl_socket.h"

using netlink::AckTracker;
using netlink::IpvsOpKind;

namespace {

using Datagram = std::vector<std::uint8_t>;

// Appends one NLMSG_ERROR (an ACK when error == 0) for `seq`, with NETLINK_CAP_ACK's shape:
// the nlmsgerr carries only the header of the request.
void appendAck(Datagram& d, std::uint32_t seq, int error) {
  nlmsghdr hdr{};
  hdr.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr));
  hdr.nlmsg_type = NLMSG_ERROR;
  hdr.nlmsg_flags = error == 0 ? NLM_F_CAPPED : 0;
  hdr.nlmsg_seq = seq;
  nlmsgerr err{};
  err.error = error;
  err.msg.nlmsg_seq = seq;
  const std::size_t at = d.size();
  d.resize(at + NLMSG_ALIGN(hdr.nlmsg_len));
  std::memcpy(d.data() + at, &hdr, sizeof(hdr));
  std::memcpy(d.data() + at + NLMSG_HDRLEN, &err, sizeof(err));
}

Datagram acks(std::initializer_list<std::pair<std::uint32_t, int>> list) {
  Datagram d;
  for (auto [seq, error] : list) appendAck(d, seq, error);
  return d;
}

std::error_code errnoCode(int e) { return {e, std::generic_category()}; }

}  // namespace

TEST_CASE("ACKs and errors are matched to requests in any order", "[ipvs][batch]") {
  AckTracker t(100, 4);
  CHECK(t.pending() == 4);
  t.feed(acks({{103, -EEXIST}, {101, 0}}));
  CHECK(t.pending() == 2);
  t.feed(acks({{100, -ENOENT}}));
  CHECK_FALSE(t.done());
  t.feed(acks({{102, 0}}));
  REQUIRE(t.done());
  const auto& r = t.results();
  CHECK(*r[0] == errnoCode(ENOENT));
  CHECK(*r[1] == std::error_code{});
  CHECK(*r[2] == std::error_code{});
  CHECK(*r[3] == errnoCode(EEXIST));
  CHECK(t.strays() == 0);
  CHECK(t.malformed() == 0);
}

TEST_CASE("a missing ACK stays pending until failed explicitly", "[ipvs][batch]") {
  AckTracker t(7, 3);
  t.feed(acks({{7, 0}, {9, -ESRCH}}));
  CHECK(t.pending() == 1);
  CHECK_FALSE(t.results()[1].has_value());
  const auto lost = std::make_error_code(std::errc::no_buffer_space);
  CHECK(t.failPending(lost) == 1);
  CHECK(t.done());
  CHECK(*t.results()[0] == std::error_code{});
  CHECK(*t.results()[1] == lost);
  CHECK(*t.results()[2] == errnoCode(ESRCH));
  CHECK(t.failPending(lost) == 0);  // nothing left to fail
}

TEST_CASE("strays, duplicates and data messages do not disturb the batch", "[ipvs][batch]") {
  AckTracker t(50, 2);
  t.feed(acks({{49, 0}, {52, -EEXIST}, {1000, 0}}));  // replies to other batches
  CHECK(t.strays() == 3);
  CHECK(t.pending() == 2);
  t.feed(acks({{50, -EEXIST}, {50, 0}}));  // a duplicate: the first reply stands
  CHECK(t.duplicates() == 1);
  CHECK(*t.results()[0] == errnoCode(EEXIST));
  // A data message with a batch sequence number is not an ACK.
  Datagram data(NLMSG_LENGTH(4), 0);
  nlmsghdr hdr{};
  hdr.nlmsg_len = NLMSG_LENGTH(4);
  hdr.nlmsg_type = 0x20;
  hdr.nlmsg_seq = 51;
  std::memcpy(data.data(), &hdr, sizeof(hdr));
  t.feed(data);
  CHECK(t.pending() == 1);
  t.feed(acks({{51, 0}}));
  CHECK(t.done());
}

TEST_CASE("last-only mode: the final reply settles every silent request", "[ipvs][batch]") {
  using netlink::AckMode;
  AckTracker t(10, 5, AckMode::kLastOnly);
  t.feed(acks({{12, -EEXIST}}));
  CHECK(t.pending() == 4);  // silence proves nothing until the last reply
  t.feed(acks({{14, 0}}));
  REQUIRE(t.done());
  CHECK(*t.results()[0] == std::error_code{});
  CHECK(*t.results()[1] == std::error_code{});
  CHECK(*t.results()[2] == errnoCode(EEXIST));
  CHECK(*t.results()[3] == std::error_code{});
  CHECK(*t.results()[4] == std::error_code{});

  AckTracker lastFails(20, 3, AckMode::kLastOnly);
  lastFails.feed(acks({{19, -EINVAL}, {22, -ENOENT}}));  // 19 is a stray
  REQUIRE(lastFails.done());
  CHECK(lastFails.strays() == 1);
  CHECK(*lastFails.results()[0] == std::error_code{});
  CHECK(*lastFails.results()[2] == errnoCode(ENOENT));

  // Without the final reply nothing is known: the unanswered requests fail.
  AckTracker lost(30, 4, AckMode::kLastOnly);
  lost.feed(acks({{31, -ESRCH}}));
  CHECK(lost.pending() == 3);
  CHECK(lost.failPending(errnoCode(ENOBUFS)) == 3);
  CHECK(*lost.results()[0] == errnoCode(ENOBUFS));
  CHECK(*lost.results()[1] == errnoCode(ESRCH));
  CHECK(*lost.results()[3] == errnoCode(ENOBUFS));
}

TEST_CASE("sequence numbers wrap around", "[ipvs][batch]") {
  AckTracker t(0xfffffffeu, 4);
  t.feed(acks({{1, -EINVAL}, {0xffffffffu, 0}, {0, 0}, {0xfffffffeu, 0}}));
  REQUIRE(t.done());
  CHECK(*t.results()[3] == errnoCode(EINVAL));
  CHECK(t.strays() == 0);
}

TEST_CASE("truncated and short replies are counted, not read past", "[ipvs][batch]") {
  AckTracker t(1, 2);
  Datagram d = acks({{1, 0}, {2, -EEXIST}});
  d.resize(d.size() - 8);  // the second message now ends early
  t.feed(d);
  CHECK(t.malformed() == 1);
  CHECK(t.pending() == 1);
  CHECK(*t.results()[0] == std::error_code{});

  Datagram tiny(NLMSG_HDRLEN, 0);  // an NLMSG_ERROR without room for the error code
  nlmsghdr hdr{};
  hdr.nlmsg_len = NLMSG_HDRLEN;
  hdr.nlmsg_type = NLMSG_ERROR;
  hdr.nlmsg_seq = 2;
  std::memcpy(tiny.data(), &hdr, sizeof(hdr));
  t.feed(tiny);
  CHECK(t.malformed() == 2);
  CHECK(t.pending() == 1);

  Datagram bogus(3, 0xff);  // shorter than a header
  t.feed(bogus);
  CHECK(t.malformed() == 3);
  hdr.nlmsg_len = 4;  // a header claiming to be shorter than itself
  Datagram small(NLMSG_HDRLEN, 0);
  std::memcpy(small.data(), &hdr, sizeof(hdr));
  t.feed(small);
  CHECK(t.malformed() == 4);
}

TEST_CASE("forEachMessage walks aligned messages and stops at a bad one", "[ipvs][batch]") {
  Datagram d = acks({{1, 0}, {2, 0}, {3, 0}});
  std::vector<std::uint32_t> seqs;
  CHECK(netlink::forEachMessage(d, [&](const nlmsghdr& h) { seqs.push_back(h.nlmsg_seq); }));
  CHECK(seqs == std::vector<std::uint32_t>{1, 2, 3});
  seqs.clear();
  d.resize(d.size() - 1);
  CHECK_FALSE(netlink::forEachMessage(d, [&](const nlmsghdr& h) { seqs.push_back(h.nlmsg_seq); }));
  CHECK(seqs == std::vector<std::uint32_t>{1, 2});
  CHECK(netlink::forEachMessage({}, [](const nlmsghdr&) { FAIL("no message expected"); }));
}

TEST_CASE("error codes map to std::errc", "[ipvs][batch]") {
  CHECK(netlink::kernelError(-EEXIST) == std::errc::file_exists);
  CHECK(netlink::kernelError(ESRCH) == std::errc::no_such_process);
  CHECK(netlink::kernelError(-ENOBUFS) == std::errc::no_buffer_space);
  // Fuzz finding (tests/fuzz/corpus/netlink_reply/error-int-min): INT_MIN was negated (UB);
  // codes outside the kernel's errno range are a malformed reply.
  CHECK(netlink::kernelError(INT_MIN) == std::errc::protocol_error);
  CHECK(netlink::kernelError(-65536) == std::errc::protocol_error);
  CHECK(netlink::kernelError(-4103).value() == 4103);  // ipset's IPSET_ERR_EXIST
  CHECK(netlink::kernelError(INT_MAX) == std::errc::protocol_error);
  CHECK(netlink::kernelError(-4095).value() == 4095);
  CHECK(netlink::libnlError(INT_MIN).value() > 0);
  const auto& cat = netlink::netlinkCategory();
  CHECK(std::string(cat.name()) == "netlink");
  CHECK(netlink::libnlError(-NLE_MISSING_ATTR) == std::errc::bad_message);
  CHECK(netlink::libnlError(NLE_NOMEM) == std::errc::not_enough_memory);
  CHECK(netlink::libnlError(-NLE_PERM) == std::errc::operation_not_permitted);
  CHECK(netlink::libnlError(-NLE_OBJ_NOTFOUND) == std::errc::no_such_file_or_directory);
  CHECK(netlink::libnlError(-NLE_RANGE) == std::errc::result_out_of_range);
  CHECK_FALSE(netlink::libnlError(-NLE_MISSING_ATTR).message().empty());
  CHECK(netlink::libnlError(-NLE_EXIST).category() == cat);
}

TEST_CASE("idempotency: exactly the 'already done' errors count as success", "[ipvs][batch]") {
  using K = IpvsOpKind;
  const auto eexist = errnoCode(EEXIST);
  const auto esrch = errnoCode(ESRCH);
  const auto enoent = errnoCode(ENOENT);
  CHECK(netlink::isIdempotentSuccess(K::kAddService, eexist));
  CHECK(netlink::isIdempotentSuccess(K::kAddDest, eexist));
  CHECK(netlink::isIdempotentSuccess(K::kDeleteService, esrch));
  CHECK(netlink::isIdempotentSuccess(K::kDeleteDest, enoent));
  CHECK(netlink::isIdempotentSuccess(K::kDeleteDest, esrch));
  // Not idempotent: the object is missing for an edit or an add of a dest, or other errors.
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kAddDest, esrch));
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kEditService, esrch));
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kEditDest, enoent));
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kDeleteService, enoent));
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kDeleteService, eexist));
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kAddService, errnoCode(EINVAL)));
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kOther, eexist));
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kAddService, {}));
  // Only the kernel's errno counts, not a library code that compares equal to EEXIST.
  CHECK_FALSE(netlink::isIdempotentSuccess(K::kAddService, netlink::libnlError(NLE_EXIST)));
}

TEST_CASE("operation kinds have stable metric names", "[ipvs][batch]") {
  using namespace ipvs;
  CHECK(netlink::ipvsOpKind(AddVirtualServer{}) == IpvsOpKind::kAddService);
  CHECK(netlink::ipvsOpKind(EditVirtualServer{}) == IpvsOpKind::kEditService);
  CHECK(netlink::ipvsOpKind(DeleteVirtualServer{}) == IpvsOpKind::kDeleteService);
  CHECK(netlink::ipvsOpKind(AddRealServer{}) == IpvsOpKind::kAddDest);
  CHECK(netlink::ipvsOpKind(EditRealServer{}) == IpvsOpKind::kEditDest);
  CHECK(netlink::ipvsOpKind(DeleteRealServer{}) == IpvsOpKind::kDeleteDest);
  CHECK(netlink::ipvsOpKind(BindAddress{}) == IpvsOpKind::kOther);
  CHECK(netlink::ipvsOpKindName(IpvsOpKind::kAddDest) == "add_dest");
  CHECK(netlink::ipvsOpResultName(netlink::IpvsOpResult::kIdempotent) == "idempotent");
}

TEST_CASE("the batch bound follows SO_RCVBUF unless the test-only overrun knob drops it",
          "[ipvs][batch][enobufs]") {
  // A NETLINK_ROUTE socket needs no privilege; only its receive buffer matters here.
  auto socket = netlink::NetlinkSocket::open({NETLINK_ROUTE, 4096, std::chrono::seconds(1)});
  REQUIRE(socket.has_value());
  const auto rcvbuf = static_cast<std::size_t>(socket->receiveBufferBytes());
  INFO("SO_RCVBUF " << rcvbuf);
  REQUIRE(rcvbuf < 64 * 1024);
  netlink::BatchLimits limits;
  limits.maxMessages = 1000;
  const std::size_t bounded = socket->safeBatchMessages(limits);
  CHECK(bounded == std::max<std::size_t>(1, rcvbuf / 2 / 1024));
  limits.testOnlyOverrunReceiveQueue = true;
  CHECK(socket->safeBatchMessages(limits) == 1000);
  limits.maxMessages = 5000;
  CHECK(socket->safeBatchMessages(limits) == 1024);  // still one sendmsg's iovec limit
}
