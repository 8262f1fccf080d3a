// IpsetClient::apply: member changes pipelined over the client's own nfnetlink socket, one
// request per entry (netlink/ipset_codec.h), so a run of thousands costs a few sendmsg calls
// instead of a libipset round trip (three, with its type lookup) per entry.

#include <linux/netlink.h>

#include <algorithm>
#include <string>

#include "netlink/ipset_client.h"
#include "netlink/ipset_codec.h"
#include "netlink/nl_socket.h"

namespace netlink {

ipvs::ApplyReport IpsetClient::apply(std::span<const IpsetChange> changes) {
  ipvs::ApplyReport report;
  report.results.resize(changes.size());
  std::vector<std::size_t> pending;  // positions of the changes in packed_, not sent yet
  pending.reserve(std::min(changes.size(), kPackWindow));
  packed_->clear();
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const IpsetChange& c = changes[i];
    const ipvs::IpsetEntry& e = *c.entry;
    scratch_.clear();
    if (socket_ && plausibleIpsetEntry(e.entry) &&
        encodeIpsetChange(ipvs::ipsetName(e.set, e.family), ipvs::ipsetDef(e.set).type, e.family,
                          e.entry, c.add, scratch_)) {
      packed_->append(*reinterpret_cast<const nlmsghdr*>(scratch_.data()));
      pending.push_back(i);
      if (pending.size() == kPackWindow) flush(changes, pending, report);
      continue;
    }
    // libipset parses (and words the error for) what the codec does not know. What is queued
    // goes first, so the kernel sees the changes in their order.
    flush(changes, pending, report);
    const std::uint64_t idempotentBefore = counters_->idempotent.load();
    if (auto r = change(e, c.add); !r) {
      report.results[i] = r.error();
      ++report.failed;
    }
    report.idempotent += counters_->idempotent.load() - idempotentBefore;
  }
  flush(changes, pending, report);
  return report;
}

void IpsetClient::flush(std::span<const IpsetChange> changes, std::vector<std::size_t>& indexes,
                        ipvs::ApplyReport& report) {
  if (indexes.empty()) return;
  BatchOutcome out = socket_->transact(*packed_, BatchLimits{});
  report.stateUncertain = report.stateUncertain || out.uncertain;
  for (std::size_t j = 0; j < indexes.size(); ++j) {
    record(changes[indexes[j]], out.results[j], report);
    report.results[indexes[j]] = out.results[j];
  }
  indexes.clear();
  packed_->clear();
}

// Turns the kernel's answer to one change into its result, its counters and, for a failure,
// lastError().
void IpsetClient::record(const IpsetChange& change, std::error_code& ec,
                         ipvs::ApplyReport& report) {
  const ipvs::IpsetEntry& e = *change.entry;
  const std::error_code kind = classifyIpsetKernelError(ec, ipvs::ipsetDef(e.set).type, change.add);
  if (!kind) {
    ++(change.add ? counters_->adds : counters_->deletes);
    return;
  }
  if (kind == (change.add ? IpsetError::kAlreadyAdded : IpsetError::kNotAdded)) {
    ++counters_->idempotent;
    ++report.idempotent;
    ec.clear();
    return;
  }
  if (kind == IpsetError::kSyntax) ++counters_->invalidEntries;
  ++counters_->failures;
  ++report.failed;
  lastError_ = std::string(change.add ? "ipset add " : "ipset del ") +
               ipvs::ipsetName(e.set, e.family) + " " + e.entry + ": " + kind.message() +
               " (kernel error " + std::to_string(ec.value()) + ")";
  ec = kind;
}

}  // namespace netlink
