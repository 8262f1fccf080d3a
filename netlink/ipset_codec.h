#pragma once
// The netlink side of ipset member changes, without libipset: one nfnetlink IPSET_CMD_ADD or
// IPSET_CMD_DEL request per entry, so a run of changes is pipelined over one socket with one
// reply per failure (NetlinkSocket::transact), and every entry keeps its own result.
//
// Why not libipset: it sends one entry per round trip (three with its set-type lookup), or, in
// restore mode, many entries in one message that the kernel stops processing at the first
// failure, which loses the per-entry outcome.
//
// Scope: the canonical text forms the planner writes for the agent's set types (hash:ip,
// hash:ip,port, hash:ip,port,ip, hash:ip,port,net, bitmap:port with one port). Anything else is
// refused here, and the caller hands it to libipset, whose parser and messages stay the
// reference.

#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "ipvs/address.h"

namespace netlink {

// Appends the request (nlmsghdr with NLM_F_EXCL, so a present entry on add and an absent one on
// delete come back as errors the caller may count as idempotent) to `out`. False, with `out`
// unchanged, when the entry is not in the canonical form of `type` or of `family`.
bool encodeIpsetChange(std::string_view setName, std::string_view type, ipvs::Family family,
                       std::string_view entry, bool add, std::vector<std::uint8_t>& out);

// The IpsetError a kernel reply to such a request for a set of `type` stands for (ipset's
// private codes are 4096 and up, and the type-specific ones mean different things per type; see
// kernelError in nl_socket.h). Success stays success; other plain errnos and codes of other
// categories (a lost reply) are returned unchanged.
std::error_code classifyIpsetKernelError(std::error_code kernel, std::string_view type, bool add);

}  // namespace netlink
