#include "netlink/kernel_dataplane.h"

#include <functional>
#include <memory>
#include <utility>
#include <variant>

#include "netlink/ipvs_codec.h"

namespace netlink {

namespace {

const ipvs::IpAddress* addressOf(const ipvs::Operation& op, bool bind) {
  if (bind) {
    const auto* b = std::get_if<ipvs::BindAddress>(&op);
    return b != nullptr ? &b->address : nullptr;
  }
  const auto* u = std::get_if<ipvs::UnbindAddress>(&op);
  return u != nullptr ? &u->address : nullptr;
}

// One full read of the kernel through the given clients: every virtual server, the families'
// ipset members and kube-ipvs0's addresses. With `sinks`, what they take goes to them one by one
// instead of into the state.
ipvs::Result<ipvs::KernelState> dumpKernel(IpvsClient& ipvsClient, IpsetClient& ipsets,
                                           LinkClient& links,
                                           std::span<const ipvs::Family> families, int dummyIndex,
                                           const ipvs::KernelReader::Sinks* sinks = nullptr) {
  ipvs::KernelState state;
  const std::error_code ec = ipvsClient.dumpEach([&](ipvs::ObservedVirtualServer&& vs) {
    if (sinks != nullptr) return sinks->virtualServer(std::move(vs));
    const auto key = vs.server.key;
    state.virtualServers.emplace_hint(state.virtualServers.end(), key, std::move(vs));
  });
  if (ec) return ec;
  for (const auto family : families) {
    if (sinks != nullptr && sinks->ipsetEntry) {
      if (auto listed = ipsets.listEach(family, sinks->ipsetEntry); !listed) return listed.error();
      continue;
    }
    auto entries = ipsets.list(family);
    if (!entries) return entries.error();
    state.ipsetEntries.merge(*entries);
  }
  if (sinks != nullptr && sinks->boundAddress) {
    if (auto listed = links.listAddressesEach(dummyIndex, sinks->boundAddress); !listed)
      return listed.error();
    return state;
  }
  auto addresses = links.listAddresses(dummyIndex);
  if (!addresses) return addresses.error();
  state.boundAddresses = std::move(*addresses);
  return state;
}

// A reader with sockets of its own, so that its dump may run beside the dataplane's writes.
class Reader final : public ipvs::KernelReader {
 public:
  Reader(IpvsClient ipvsClient, IpsetClient ipsets, LinkClient links,
         std::vector<ipvs::Family> families, int dummyIndex)
      : ipvs_(std::move(ipvsClient)),
        ipsets_(std::move(ipsets)),
        links_(std::move(links)),
        families_(std::move(families)),
        dummyIndex_(dummyIndex) {}

  ipvs::Result<ipvs::KernelState> observe() override {
    return dumpKernel(ipvs_, ipsets_, links_, families_, dummyIndex_);
  }
  ipvs::Result<ipvs::KernelState> observeEach(const Sinks& sinks) override {
    return dumpKernel(ipvs_, ipsets_, links_, families_, dummyIndex_, &sinks);
  }

 private:
  IpvsClient ipvs_;
  IpsetClient ipsets_;
  LinkClient links_;
  std::vector<ipvs::Family> families_;
  int dummyIndex_;
};

}  // namespace

KernelDataplane::KernelDataplane(KernelDataplaneOptions options, IpvsClient ipvs,
                                 IpsetClient ipsets, LinkClient links, int dummyIndex)
    : options_(std::move(options)),
      ipvs_(std::move(ipvs)),
      ipsets_(std::move(ipsets)),
      links_(std::move(links)),
      dummyIndex_(dummyIndex) {}

ipvs::Result<KernelDataplane> KernelDataplane::open(KernelDataplaneOptions options) {
  auto ipvs = IpvsClient::open(options.ipvs);
  if (!ipvs) return ipvs.error();
  auto ipsets = IpsetClient::open();
  if (!ipsets) return ipsets.error();
  auto links = LinkClient::open();
  if (!links) return links.error();
  auto dummy = links->ensureDummy(kDummyInterface);
  if (!dummy) return dummy.error();
  for (const auto family : options.families) {
    if (auto created = ipsets->createAll(family); !created) return created.error();
  }
  return KernelDataplane(std::move(options), std::move(*ipvs), std::move(*ipsets),
                         std::move(*links), *dummy);
}

ipvs::Result<ipvs::KernelState> KernelDataplane::observe() {
  return dumpKernel(ipvs_, ipsets_, links_, options_.families, dummyIndex_);
}

std::unique_ptr<ipvs::KernelReader> KernelDataplane::openReader() {
  // The reader runs beside the sync thread: it reads short dump replies one at a time, so it
  // never keeps the CPU in the kernel for long, and between two replies it meets the mirror's
  // lock, where a waiting sync goes first.
  IpvsOptions ipvsOptions = options_.ipvs;
  ipvsOptions.dumpReads = kBackgroundDumpReads;
  auto ipvsClient = IpvsClient::open(ipvsOptions);
  auto ipsets = IpsetClient::open();
  auto links = LinkClient::open(kBackgroundDumpReads);
  if (!ipvsClient || !ipsets || !links) return nullptr;
  return std::make_unique<Reader>(std::move(*ipvsClient), std::move(*ipsets), std::move(*links),
                                  options_.families, dummyIndex_);
}

ipvs::ApplyReport KernelDataplane::apply(std::span<const ipvs::Operation> ops) {
  ipvs::ApplyReport report;
  report.results.reserve(ops.size());
  std::size_t i = 0;
  while (i < ops.size()) {
    if (isIpvsOperation(ops[i])) {
      i += applyIpvsRun(ops.subspan(i), report);
    } else if (addressOf(ops[i], true) != nullptr || addressOf(ops[i], false) != nullptr) {
      i += applyAddressRun(ops.subspan(i), report);
    } else {
      i += applyIpsetRun(ops.subspan(i), report);
    }
  }
  return report;
}

std::size_t KernelDataplane::applyIpvsRun(std::span<const ipvs::Operation> ops,
                                          ipvs::ApplyReport& report) {
  std::size_t n = 0;
  while (n < ops.size() && isIpvsOperation(ops[n])) ++n;
  ipvs::ApplyReport batch = ipvs_.apply(ops.first(n));
  report.results.insert(report.results.end(), batch.results.begin(), batch.results.end());
  report.failed += batch.failed;
  report.idempotent += batch.idempotent;
  report.stateUncertain = report.stateUncertain || batch.stateUncertain;
  return n;
}

std::size_t KernelDataplane::applyAddressRun(std::span<const ipvs::Operation> ops,
                                             ipvs::ApplyReport& report) {
  const bool bind = addressOf(ops[0], true) != nullptr;
  std::vector<ipvs::IpAddress> addresses;
  while (addresses.size() < ops.size()) {
    const ipvs::IpAddress* ip = addressOf(ops[addresses.size()], bind);
    if (ip == nullptr) break;
    addresses.push_back(*ip);
  }
  const auto results =
      bind ? links_.bindAll(dummyIndex_, addresses) : links_.unbindAll(dummyIndex_, addresses);
  for (const auto& ec : results) {
    report.results.push_back(ec);
    if (ec) ++report.failed;
  }
  return addresses.size();
}

std::size_t KernelDataplane::applyIpsetRun(std::span<const ipvs::Operation> ops,
                                           ipvs::ApplyReport& report) {
  std::vector<IpsetChange> changes;
  for (const ipvs::Operation& op : ops) {
    if (const auto* add = std::get_if<ipvs::AddIpsetEntry>(&op)) {
      changes.push_back({&add->entry, true});
    } else if (const auto* del = std::get_if<ipvs::DeleteIpsetEntry>(&op)) {
      changes.push_back({&del->entry, false});
    } else {
      break;
    }
  }
  if (changes.empty()) {  // an operation no client owns
    report.results.push_back(std::make_error_code(std::errc::invalid_argument));
    ++report.failed;
    return 1;
  }
  const ipvs::ApplyReport batch = ipsets_.apply(changes);
  report.results.insert(report.results.end(), batch.results.begin(), batch.results.end());
  report.failed += batch.failed;
  report.idempotent += batch.idempotent;
  report.stateUncertain = report.stateUncertain || batch.stateUncertain;
  return changes.size();
}

}  // namespace netlink
