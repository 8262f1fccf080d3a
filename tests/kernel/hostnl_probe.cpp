// hostnl_probe: a command-line face of the host-side kernel adapters (ipsets, kube-ipvs0,
// iptables, sysctls) for the kernel test tests/kernel/hostnl.sh, which checks what it did with
// the real ipset, ip and iptables-save tools inside the qemu guest.
//
//   hostnl_probe ipset-create-all 4|6          ipset-list 4|6          ipset-destroy-all 4|6
//   hostnl_probe ipset-add|ipset-del SET ENTRY ipset-destroy SET       ipset-resync SET ENTRY...
//   hostnl_probe ipset-apply add|del SET ENTRY [add|del SET ENTRY]...  (one batch; a line each)
//   hostnl_probe link-ensure | link-delete | link-list | link-local | link-bind IP... |
//                link-unbind IP...
//   hostnl_probe ipt-render|ipt-sync 4|6 [--set NAME]... [--masq-all] [--cluster-cidr CIDR]
//                [--random-fully] [--mark-bit N] [--lb-drop IP,PROTO,PORT]...
//   hostnl_probe ipt-cleanup 4|6 ipvs|iptables|all
//   hostnl_probe sysctl-apply [--strict-arp] | conn-reuse RELEASE
//
// Exit status 0 on success; otherwise "error: <category> <value>: <detail>" on stderr, status 1.

#include <iostream>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ipvs/iptables_rules.h"
#include "netlink/ipset_client.h"
#include "netlink/iptables_runner.h"
#include "netlink/link_client.h"
#include "netlink/sysctl_client.h"

namespace {

using Args = std::vector<std::string>;

int failed(std::error_code ec, const std::string& detail) {
  std::cerr << "error: " << ec.category().name() << " " << ec.value() << ": " << detail << "\n";
  return 1;
}

ipvs::Family family(const std::string& s) {
  return s == "6" ? ipvs::Family::kV6 : ipvs::Family::kV4;
}

std::optional<ipvs::IpsetEntry> entryOf(const std::string& set, const std::string& text) {
  const auto found = netlink::lookupIpsetName(set);
  if (!found) return std::nullopt;
  return ipvs::IpsetEntry{found->first, found->second, text};
}

// One IpsetClient::apply of every (add|del SET ENTRY) triple; prints "ok" or the error of each.
int ipsetApply(netlink::IpsetClient& c, const Args& a) {
  if (a.empty() || a.size() % 3 != 0) {
    return failed(std::make_error_code(std::errc::invalid_argument), "changes are triples");
  }
  std::vector<ipvs::IpsetEntry> entries;
  std::vector<bool> adds;
  for (std::size_t i = 0; i + 2 < a.size(); i += 3) {
    const auto e = entryOf(a[i + 1], a[i + 2]);
    if (!e || (a[i] != "add" && a[i] != "del")) {
      return failed(std::make_error_code(std::errc::invalid_argument), "bad change " + a[i + 1]);
    }
    entries.push_back(*e);
    adds.push_back(a[i] == "add");
  }
  std::vector<netlink::IpsetChange> changes;
  for (std::size_t i = 0; i < entries.size(); ++i) changes.push_back({&entries[i], adds[i]});
  const ipvs::ApplyReport report = c.apply(changes);
  for (const std::error_code& ec : report.results) {
    if (ec) {
      std::cout << "error " << ec.category().name() << " " << ec.value() << "\n";
    } else {
      std::cout << "ok\n";
    }
  }
  std::cerr << "failed " << report.failed << " idempotent " << report.idempotent << " last "
            << c.lastError() << "\n";
  return report.failed == 0 ? 0 : 1;
}

int ipsetCommand(const std::string& cmd, const Args& a) {
  auto client = netlink::IpsetClient::open();
  if (!client) return failed(client.error(), "open libipset");
  auto& c = *client;
  ipvs::Result<void> r;
  if (cmd == "ipset-apply") return ipsetApply(c, a);
  if (cmd == "ipset-create-all" && a.size() == 1) {
    r = c.createAll(family(a[0]));
  } else if (cmd == "ipset-destroy-all" && a.size() == 1) {
    r = c.destroyAll(family(a[0]));
  } else if ((cmd == "ipset-add" || cmd == "ipset-del") && a.size() == 2) {
    const auto e = entryOf(a[0], a[1]);
    if (!e) return failed(std::make_error_code(std::errc::invalid_argument), "unknown set " + a[0]);
    r = cmd == "ipset-add" ? c.add(*e) : c.del(*e);
  } else if (cmd == "ipset-destroy" && a.size() == 1) {
    const auto found = netlink::lookupIpsetName(a[0]);
    if (!found) return failed(std::make_error_code(std::errc::invalid_argument), "unknown set");
    r = c.destroy(found->first, found->second);
  } else if (cmd == "ipset-list" && a.size() == 1) {
    auto entries = c.list(family(a[0]));
    if (!entries) return failed(entries.error(), c.lastError());
    for (const ipvs::IpsetEntry& e : *entries) {
      std::cout << ipvs::ipsetName(e.set, e.family) << " " << e.entry << "\n";
    }
  } else if (cmd == "ipset-resync" && !a.empty()) {
    const auto found = netlink::lookupIpsetName(a[0]);
    if (!found) return failed(std::make_error_code(std::errc::invalid_argument), "unknown set");
    const std::vector<std::string> entries(a.begin() + 1, a.end());
    auto report = c.resync(found->first, found->second, entries);
    if (!report) return failed(report.error(), c.lastError());
    std::cout << "added " << report->added << " skipped " << report->skipped
              << (report->skipped != 0 ? " first " + report->firstSkipped : "") << "\n";
  } else {
    return failed(std::make_error_code(std::errc::invalid_argument), "bad ipset command");
  }
  if (!r) return failed(r.error(), c.lastError());
  const netlink::IpsetCounters& k = c.counters();
  std::cerr << "counters: adds " << k.adds << " deletes " << k.deletes << " idempotent "
            << k.idempotent << " creates " << k.creates << " adopted " << k.adopted << "\n";
  return 0;
}

int linkCommand(const std::string& cmd, const Args& a) {
  // link-list-short: the list as a full resync's dump reads it, in short dump replies.
  auto client = netlink::LinkClient::open(cmd == "link-list-short" ? netlink::kBackgroundDumpReads
                                                                   : netlink::DumpReads{});
  if (!client) return failed(client.error(), "open rtnetlink");
  auto& c = *client;
  if (cmd == "link-delete") {
    if (auto r = c.deleteDummy(); !r) return failed(r.error(), c.lastError());
    return 0;
  }
  auto index = c.ensureDummy();
  if (!index) return failed(index.error(), c.lastError());
  if (cmd == "link-ensure") {
    std::cout << *index << "\n";
  } else if (cmd == "link-list" || cmd == "link-list-short") {
    auto addrs = c.listAddresses(*index);
    if (!addrs) return failed(addrs.error(), c.lastError());
    for (const ipvs::IpAddress& ip : *addrs) std::cout << ip.toString() << "\n";
  } else if (cmd == "link-local") {
    auto addrs = c.localAddresses(*index);
    if (!addrs) return failed(addrs.error(), c.lastError());
    for (const netlink::LocalAddress& l : *addrs) {
      std::cout << l.interface << " " << l.address.toString() << "/" << int(l.prefix) << "\n";
    }
  } else if (cmd == "link-bind" || cmd == "link-unbind") {
    std::vector<ipvs::IpAddress> ips;
    for (const std::string& s : a) {
      auto ip = ipvs::IpAddress::parse(s);
      if (!ip) return failed(std::make_error_code(std::errc::invalid_argument), "bad IP " + s);
      ips.push_back(*ip);
    }
    const auto results = cmd == "link-bind" ? c.bindAll(*index, ips) : c.unbindAll(*index, ips);
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i]) return failed(results[i], c.lastError());
    }
    std::cerr << "counters: binds " << c.counters().binds << " unbinds " << c.counters().unbinds
              << " idempotent " << c.counters().idempotent << "\n";
  } else {
    return failed(std::make_error_code(std::errc::invalid_argument), "bad link command");
  }
  return 0;
}

std::optional<ipvs::IptablesRuleInputs> ruleInputs(const Args& a) {
  ipvs::IptablesRuleInputs in;
  in.family = family(a.at(0));
  for (std::size_t i = 1; i < a.size(); ++i) {
    const bool hasValue = i + 1 < a.size();
    if (a[i] == "--set" && hasValue) {
      const auto found = netlink::lookupIpsetName(a[++i]);
      if (!found) return std::nullopt;
      in.nonEmpty[static_cast<std::size_t>(found->first)] = true;
    } else if (a[i] == "--masq-all") {
      in.masqueradeAll = true;
    } else if (a[i] == "--random-fully") {
      in.randomFully = true;
    } else if (a[i] == "--cluster-cidr" && hasValue) {
      const auto cidr = ipvs::Cidr::parse(a[++i]);
      if (!cidr) return std::nullopt;
      in.localDetector.cidrs.push_back(*cidr);
    } else if (a[i] == "--mark-bit" && hasValue) {
      in.masqueradeBit = static_cast<unsigned>(std::stoul(a[++i]));
    } else if (a[i] == "--lb-drop" && hasValue) {
      const std::string& spec = a[++i];  // IP,PROTO,PORT
      const auto c1 = spec.find(',');
      const auto c2 = spec.rfind(',');
      if (c1 == std::string::npos || c2 == c1) return std::nullopt;
      const auto ip = ipvs::IpAddress::parse(spec.substr(0, c1));
      const auto proto = ipvs::parseProtocol(spec.substr(c1 + 1, c2 - c1 - 1));
      if (!ip || !proto) return std::nullopt;
      in.lbNoNodeAccess.push_back(
          {*ip, *proto, static_cast<std::uint16_t>(std::stoul(spec.substr(c2 + 1)))});
    } else {
      return std::nullopt;
    }
  }
  return in;
}

int iptablesCommand(const std::string& cmd, const Args& a) {
  if (a.empty()) return failed(std::make_error_code(std::errc::invalid_argument), "family?");
  netlink::IptablesRunner runner;
  if (cmd == "ipt-cleanup" && a.size() == 2) {
    ipvs::CleanupScope scope{a[1] != "iptables", a[1] != "ipvs"};
    if (auto r = runner.cleanup(family(a[0]), scope); !r) {
      return failed(r.error(), runner.lastError());
    }
    return 0;
  }
  const auto in = ruleInputs(a);
  if (!in) return failed(std::make_error_code(std::errc::invalid_argument), "bad rule options");
  if (cmd == "ipt-render") {
    std::cout << ipvs::renderRules(*in);
  } else if (cmd == "ipt-sync") {
    if (auto r = runner.sync(*in); !r) return failed(r.error(), runner.lastError());
  } else {
    return failed(std::make_error_code(std::errc::invalid_argument), "bad iptables command");
  }
  return 0;
}

int sysctlCommand(const std::string& cmd, const Args& a) {
  if (cmd == "conn-reuse" && a.size() == 1) {
    const auto v = netlink::parseKernelVersion(a[0]);
    if (!v) return failed(std::make_error_code(std::errc::invalid_argument), "bad release");
    static const char* kNames[] = {"unsupported", "set-zero", "leave-as-is"};
    std::cout << kNames[static_cast<int>(netlink::connReuseModeAction(*v))] << "\n";
    return 0;
  }
  auto kernel = netlink::runningKernelVersion();
  if (!kernel) return failed(kernel.error(), "uname");
  const bool strictArp = a.size() == 1 && a[0] == "--strict-arp";
  netlink::SysctlClient sysctl;
  if (auto r = sysctl.ensureAll(netlink::ipvsSysctls(*kernel, strictArp)); !r) {
    return failed(r.error(), sysctl.lastError());
  }
  std::cerr << "counters: writes " << sysctl.counters().writes << " unchanged "
            << sysctl.counters().unchanged << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: see the header of tests/kernel/hostnl_probe.cpp\n";
    return 2;
  }
  const std::string cmd = argv[1];
  const Args args(argv + 2, argv + argc);
  if (cmd.starts_with("ipset-")) return ipsetCommand(cmd, args);
  if (cmd.starts_with("link-")) return linkCommand(cmd, args);
  if (cmd.starts_with("ipt-")) return iptablesCommand(cmd, args);
  if (cmd == "sysctl-apply" || cmd == "conn-reuse") return sysctlCommand(cmd, args);
  std::cerr << "unknown command " << cmd << "\n";
  return 2;
}
