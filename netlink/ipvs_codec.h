#pragma once
// Encoding of IPVS generic-netlink requests and decoding of the kernel's replies, without a
// socket, so that both directions are unit-tested byte for byte.
//
// Threading: pure functions. Ownership: encoders return an owned nl_msg (NlMsgPtr); decoders
//   read the message they are given and keep nothing.
// Errors: encoders reject what the kernel could not accept (a non-IPVS operation, a scheduler
//   name over 15 characters, a netmask out of range) with invalid_argument; decoders return
//   netlink-category codes (missing attribute, bad length) and never read past nlmsg_len.
//   Decoders require the caller to guarantee that nlmsg_len bytes are readable (forEachMessage
//   does).
//
// Wire conventions (from <linux/ip_vs.h> and the kernel's ip_vs_ctl.c):
// - ports are big-endian u16, addresses are 16-byte nf_inet_addr (IPv4 in the first 4 bytes);
// - a fwmark service is identified by AF + FWMARK only; the kernel reports it as TCP, and the
//   decoder returns protocol kTcp, the zero address and port 0 for it;
// - the persistence netmask is a big-endian mask for IPv4 and a prefix length for IPv6; the
//   model holds a prefix length, and encodes 0 as the full length (32/128), which is also what
//   the decoder returns for an unset netmask; a kernel mask with no such prefix (IPv4 0.0.0.0 or
//   non-contiguous) decodes to ipvs::kNetmaskNotAPrefix, which the encoder refuses;
// - kFlagHashed is stripped from decoded flags and never sent.

#include <cstdint>
#include <string>

#include "ipvs/kernel_objects.h"
#include "ipvs/operation.h"
#include "ipvs/result.h"
#include "netlink/nl_socket.h"

struct nlmsghdr;

namespace netlink {

// Global IPVS connection timeouts, seconds. 0 in setTimeouts() leaves that timeout unchanged.
struct IpvsTimeouts {
  std::uint32_t tcp = 0;
  std::uint32_t tcpFin = 0;
  std::uint32_t udp = 0;

  bool operator==(const IpvsTimeouts&) const = default;
};

// Connection counters and traffic statistics of a real server, as the kernel dumps them. The
// agent's mirror keeps only the two connection counters (ipvs::RealServerConns); the rest is
// for tests and tools that compare with `ipvsadm --stats`.
struct RealServerStats {
  std::uint32_t activeConns = 0;
  std::uint32_t inactiveConns = 0;
  std::uint32_t persistConns = 0;
  std::uint64_t conns = 0;
  std::uint64_t inPackets = 0;
  std::uint64_t outPackets = 0;
  std::uint64_t inBytes = 0;
  std::uint64_t outBytes = 0;

  bool operator==(const RealServerStats&) const = default;
};

// One decoded destination: the real server and all its counters.
struct DecodedDest {
  ipvs::RealServer server;
  RealServerStats stats;

  // The mirror's view: the server and the counters the planner reads.
  ipvs::ObservedRealServer observed() const {
    return {server, {stats.activeConns, stats.inactiveConns}};
  }
};

struct IpvsInfo {
  std::uint32_t version = 0;  // e.g. 0x010201 for 1.2.1
  std::uint32_t connTableSize = 0;

  std::string versionString() const;  // "1.2.1"
};

// True for the six virtual/real server kinds this codec handles.
bool isIpvsOperation(const ipvs::Operation& op);

// The request for one operation (NEW/SET/DEL_SERVICE, NEW/SET/DEL_DEST). `familyId` is the
// resolved generic-netlink id of "IPVS". Header flags and sequence are stamped by the socket.
ipvs::Result<NlMsgPtr> encodeOperation(const ipvs::Operation& op, int familyId);
// The same into `scratch` (from newScratchMessage()), which is reset first: a batch reuses one
// buffer instead of allocating a message per operation.
std::error_code encodeOperation(const ipvs::Operation& op, int familyId, nl_msg* scratch);
ipvs::Result<NlMsgPtr> newScratchMessage();

ipvs::Result<NlMsgPtr> encodeDumpServices(int familyId);
ipvs::Result<NlMsgPtr> encodeDumpDests(const ipvs::VirtualServerKey& key, int familyId);
ipvs::Result<NlMsgPtr> encodeGetConfig(int familyId);
ipvs::Result<NlMsgPtr> encodeSetConfig(const IpvsTimeouts& timeouts, int familyId);
ipvs::Result<NlMsgPtr> encodeGetInfo(int familyId);

// Decoders of whole generic-netlink messages (a dump reply, or a request built above).
ipvs::Result<ipvs::VirtualServerKey> decodeServiceKey(const nlmsghdr& msg);
ipvs::Result<ipvs::VirtualServer> decodeService(const nlmsghdr& msg);
// `serviceFamily` is used when the kernel predates IPVS_DEST_ATTR_ADDR_FAMILY (< 3.18).
ipvs::Result<DecodedDest> decodeDest(const nlmsghdr& msg, ipvs::Family serviceFamily);
ipvs::Result<IpvsTimeouts> decodeConfig(const nlmsghdr& msg);
ipvs::Result<IpvsInfo> decodeInfo(const nlmsghdr& msg);
// The generic-netlink command of a message, or -1 if it has no valid genl header.
int decodeCommand(const nlmsghdr& msg);

}  // namespace netlink
