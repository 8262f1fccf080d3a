#pragma once
// KernelDataplane: ipvs::Dataplane against the real kernel.
//
// Purpose: routes each planned operation to the client that owns its object: IPVS virtual and
//   real servers to IpvsClient (consecutive ones go out as one batch), ipset entries to
//   IpsetClient (consecutive ones pipelined), kube-ipvs0 addresses to LinkClient (consecutive binds
//   or unbinds pipelined). observe() dumps all three. Order is kept: the plan's phases stay in
//   sequence.
// Threading: one thread at a time (the sync loop's). Counters may be read from any thread.
//   openReader() gives a reader with its own clients, for a dump on another thread.
// Ownership: owns the three clients, each with one long-lived socket or session.
// Errors: per operation, as the Dataplane contract says; idempotency is decided inside each
//   client. kube-ipvs0 is created on open() if missing.
// Metrics: the clients' counters, via ipvs()/ipsets()/links().

#include <memory>
#include <span>
#include <vector>

#include "ipvs/dataplane.h"
#include "netlink/ipset_client.h"
#include "netlink/ipvs_client.h"
#include "netlink/link_client.h"

namespace netlink {

struct KernelDataplaneOptions {
  std::vector<ipvs::Family> families{ipvs::Family::kV4};  // whose ipsets are read and created
  IpvsOptions ipvs;
};

class KernelDataplane final : public ipvs::Dataplane {
 public:
  // Opens the clients, ensures kube-ipvs0 and creates the families' ipsets.
  [[nodiscard]] static ipvs::Result<KernelDataplane> open(KernelDataplaneOptions options);

  ipvs::Result<ipvs::KernelState> observe() override;
  // A reader on sockets of its own (null if they cannot be opened).
  std::unique_ptr<ipvs::KernelReader> openReader() override;
  ipvs::ApplyReport apply(std::span<const ipvs::Operation> ops) override;
  ipvs::Result<std::vector<ipvs::ObservedRealServer>> observeRealServers(
      const ipvs::VirtualServerKey& key) override {
    return ipvs_.dumpRealServers(key);
  }

  IpvsClient& ipvs() { return ipvs_; }
  IpsetClient& ipsets() { return ipsets_; }
  LinkClient& links() { return links_; }
  int dummyIndex() const { return dummyIndex_; }

 private:
  KernelDataplane(KernelDataplaneOptions options, IpvsClient ipvs, IpsetClient ipsets,
                  LinkClient links, int dummyIndex);
  std::size_t applyIpvsRun(std::span<const ipvs::Operation> ops, ipvs::ApplyReport& report);
  std::size_t applyAddressRun(std::span<const ipvs::Operation> ops, ipvs::ApplyReport& report);
  std::size_t applyIpsetRun(std::span<const ipvs::Operation> ops, ipvs::ApplyReport& report);

  KernelDataplaneOptions options_;
  IpvsClient ipvs_;
  IpsetClient ipsets_;
  LinkClient links_;
  int dummyIndex_;
};

}  // namespace netlink
