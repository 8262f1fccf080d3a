#include "agent/cleanup.h"

#include "agent/log.h"
#include "ipvs/diff.h"
#include "netlink/ipset_client.h"
#include "netlink/iptables_runner.h"
#include "netlink/ipvs_client.h"
#include "netlink/link_client.h"

namespace agent {

namespace {

constexpr ipvs::Family kFamilies[] = {ipvs::Family::kV4, ipvs::Family::kV6};

// The IPVS part: plan against an empty desired state, so the ownership rule decides.
bool cleanupIpvs(const Config& config, netlink::IpsetClient& ipsets, netlink::LinkClient& links,
                 const Logger& log) {
  auto client = netlink::IpvsClient::open();
  if (!client) {
    log.error("cannot open IPVS; no virtual server removed", {{"error", client.error()}});
    return false;
  }
  ipvs::KernelState observed;
  auto services = client->dump();
  if (!services) {
    log.error("cannot dump IPVS", {{"error", services.error()}});
    return false;
  }
  for (auto& vs : *services) observed.virtualServers.emplace(vs.server.key, std::move(vs));
  for (const auto family : kFamilies)
    if (auto entries = ipsets.list(family)) observed.ipsetEntries.merge(*entries);
  if (auto dummy = links.findLink(netlink::kDummyInterface); dummy && *dummy)
    if (auto addrs = links.listAddresses((*dummy)->index)) observed.boundAddresses = *addrs;

  ipvs::DiffOptions opts;
  opts.families.assign(std::begin(kFamilies), std::end(kFamilies));
  for (const auto& text : config.ipvs.excludeCIDRs)
    if (auto cidr = ipvs::Cidr::parse(text)) opts.excludeCIDRs.push_back(*cidr);
  const ipvs::Plan plan = ipvs::diff(ipvs::DesiredState{}, observed, opts);
  std::vector<ipvs::Operation> deletes;
  for (const auto& op : plan.operations)
    if (std::holds_alternative<ipvs::DeleteVirtualServer>(op)) deletes.push_back(op);
  const auto report = client->apply(deletes);
  for (std::size_t i = 0; i < deletes.size(); ++i) {
    const auto ec = i < report.results.size() ? report.results[i] : std::error_code{};
    if (ec) log.error("cannot delete", {{"operation", ipvs::describe(deletes[i])}, {"error", ec}});
  }
  log.info("removed the agent's virtual servers",
           {{"deleted", deletes.size() - report.failed},
            {"kept", observed.virtualServers.size() - deletes.size()}});
  return report.failed == 0;
}

}  // namespace

int runCleanup(const Options& options) {
  Logger log =
      Logger(Logger::Options{options.config.logging.verbosity, {}, {}}).withComponent("cleanup");
  bool ok = true;
  auto ipsets = netlink::IpsetClient::open();
  auto links = netlink::LinkClient::open();
  if (!ipsets || !links) {
    log.error("cannot open the ipset or rtnetlink interfaces");
    return 1;
  }
  ok = cleanupIpvs(options.config, *ipsets, *links, log) && ok;
  // Chains before sets: a set that a rule references cannot be destroyed.
  netlink::IptablesRunner iptables;
  for (const auto family : kFamilies) {
    if (auto r = iptables.cleanup(family, {true, true}); !r) {
      log.error("cannot remove the kube chains", {{"error", iptables.lastError()}});
      ok = false;
    }
  }
  for (const auto family : kFamilies) {
    if (auto r = ipsets->destroyAll(family); !r) {
      log.error("cannot destroy the ipsets", {{"error", ipsets->lastError()}});
      ok = false;
    }
  }
  if (auto r = links->deleteDummy(netlink::kDummyInterface); !r) {
    log.error("cannot delete kube-ipvs0", {{"error", r.error()}});
    ok = false;
  }
  return ok ? 0 : 1;
}

}  // namespace agent
