#include "ipvs/iptables_rules.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <set>
#include <tuple>

namespace ipvs {

namespace {

constexpr std::string_view kNat = "nat";
constexpr std::string_view kFilter = "filter";

constexpr std::string_view kServices = "KUBE-SERVICES";
constexpr std::string_view kPostrouting = "KUBE-POSTROUTING";
constexpr std::string_view kNodePort = "KUBE-NODE-PORT";
constexpr std::string_view kLoadBalancer = "KUBE-LOAD-BALANCER";
constexpr std::string_view kMarkMasq = "KUBE-MARK-MASQ";
constexpr std::string_view kForward = "KUBE-FORWARD";
constexpr std::string_view kProxyFirewall = "KUBE-PROXY-FIREWALL";
constexpr std::string_view kSourceRangesFirewall = "KUBE-SOURCE-RANGES-FIREWALL";
constexpr std::string_view kIpvsFilter = "KUBE-IPVS-FILTER";
constexpr std::string_view kIpvsOutFilter = "KUBE-IPVS-OUT-FILTER";

// kube-proxy's iptablesChains, in its order.
constexpr std::array<KubeChain, 11> kChains{{
    {kNat, kServices},
    {kNat, kPostrouting},
    {kNat, kNodePort},
    {kNat, kLoadBalancer},
    {kNat, kMarkMasq},
    {kFilter, kForward},
    {kFilter, kNodePort},
    {kFilter, kProxyFirewall},
    {kFilter, kSourceRangesFirewall},
    {kFilter, kIpvsFilter},
    {kFilter, kIpvsOutFilter},
}};

// kube-proxy's iptablesJumpChain, in its order (each is prepended, so the last one ends first).
constexpr std::array<JumpRule, 9> kJumps{{
    {kNat, "OUTPUT", kServices, "kubernetes service portals"},
    {kNat, "PREROUTING", kServices, "kubernetes service portals"},
    {kNat, "POSTROUTING", kPostrouting, "kubernetes postrouting rules"},
    {kFilter, "FORWARD", kForward, "kubernetes forwarding rules"},
    {kFilter, "INPUT", kNodePort, "kubernetes health check rules"},
    {kFilter, "INPUT", kProxyFirewall, "kube-proxy firewall rules"},
    {kFilter, "FORWARD", kProxyFirewall, "kube-proxy firewall rules"},
    {kFilter, "INPUT", kIpvsFilter, "kubernetes ipvs access filter"},
    {kFilter, "OUTPUT", kIpvsOutFilter, "kubernetes ipvs access filter"},
}};

// The rules kube-proxy derives directly from one ipset (ipsetWithIptablesChain), in its order.
struct SetRule {
  IpsetId set;
  std::string_view table;
  std::string_view from;
  std::string_view to;
  std::string_view matchType;
  std::string_view protocol;  // "-p" match, or empty
};

constexpr std::array<SetRule, 12> kSetRules{{
    {IpsetId::kLoopBack, kNat, kPostrouting, "MASQUERADE", "dst,dst,src", ""},
    {IpsetId::kLoadBalancer, kNat, kServices, kLoadBalancer, "dst,dst", ""},
    {IpsetId::kLoadBalancerLocal, kNat, kLoadBalancer, "RETURN", "dst,dst", ""},
    {IpsetId::kNodePortLocalTcp, kNat, kNodePort, "RETURN", "dst", "tcp"},
    {IpsetId::kNodePortTcp, kNat, kNodePort, kMarkMasq, "dst", "tcp"},
    {IpsetId::kNodePortLocalUdp, kNat, kNodePort, "RETURN", "dst", "udp"},
    {IpsetId::kNodePortUdp, kNat, kNodePort, kMarkMasq, "dst", "udp"},
    {IpsetId::kNodePortLocalSctp, kNat, kNodePort, "RETURN", "dst,dst", "sctp"},
    {IpsetId::kNodePortSctp, kNat, kNodePort, kMarkMasq, "dst,dst", "sctp"},
    {IpsetId::kLoadBalancerFW, kFilter, kProxyFirewall, kSourceRangesFirewall, "dst,dst", ""},
    {IpsetId::kLoadBalancerSourceCIDR, kFilter, kSourceRangesFirewall, "RETURN", "dst,dst,src", ""},
    {IpsetId::kLoadBalancerSourceIP, kFilter, kSourceRangesFirewall, "RETURN", "dst,dst,src", ""},
}};

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Collects rules per chain so that each table's output is grouped by chain in declaration order,
// the way iptables-save prints it. Order within a chain is the order of the calls.
class RuleBuffer {
 public:
  void add(std::string_view table, std::string_view chain, std::string_view spec) {
    for (std::size_t i = 0; i < kChains.size(); ++i) {
      if (kChains[i].table == table && kChains[i].chain == chain) {
        lines_[i] += "-A " + std::string(chain) + " " + std::string(spec) + "\n";
        return;
      }
    }
  }

  std::string table(std::string_view table, std::string_view extra) const {
    std::string out = "*" + std::string(table) + "\n";
    for (const KubeChain& c : kChains) {
      if (c.table == table) out += ":" + std::string(c.chain) + " - [0:0]\n";
    }
    for (std::size_t i = 0; i < kChains.size(); ++i) {
      if (kChains[i].table == table) out += lines_[i];
    }
    out += extra;
    out += "COMMIT\n";
    return out;
  }

 private:
  std::array<std::string, kChains.size()> lines_;
};

class Renderer {
 public:
  explicit Renderer(const IptablesRuleInputs& in)
      : in_(in), mark_(masqueradeMark(in.masqueradeBit)) {}

  RuleBuffer render() {
    natServices();
    natOthers();
    filterRules();
    return std::move(out_);
  }

 private:
  bool has(IpsetId id) const { return in_.nonEmpty[static_cast<std::size_t>(id)]; }
  std::string name(IpsetId id) const { return ipsetName(id, in_.family); }
  std::string commented(IpsetId id) const {
    return "-m comment --comment " + quoted(ipsetDef(id).comment) + " -m set --match-set " +
           name(id);
  }

  void setRules(std::string_view table, std::string_view chain) {
    for (const SetRule& r : kSetRules) {
      if (r.table != table || r.from != chain || !has(r.set)) continue;
      std::string spec;
      if (!r.protocol.empty()) spec = "-p " + std::string(r.protocol) + " ";
      spec += commented(r.set) + " " + std::string(r.matchType) + " -j " + std::string(r.to);
      out_.add(table, chain, spec);
    }
  }

  void natServices();
  void natOthers();
  void filterRules();

  const IptablesRuleInputs& in_;
  std::string mark_;
  RuleBuffer out_;
};

void Renderer::natServices() {
  out_.add(kNat, kServices,
           in_.family == Family::kV4 ? "-s 127.0.0.0/8 -j RETURN" : "-s ::1/128 -j RETURN");
  setRules(kNat, kServices);  // the KUBE-LOAD-BALANCER jump
  if (has(IpsetId::kClusterIP)) {
    const std::string base = commented(IpsetId::kClusterIP);
    const std::string notLocal = in_.localDetector.ifNotLocal(in_.family);
    if (in_.masqueradeAll) {
      out_.add(kNat, kServices, base + " dst,dst -j KUBE-MARK-MASQ");
    } else if (!notLocal.empty()) {
      out_.add(kNat, kServices, base + " dst,dst " + notLocal + " -j KUBE-MARK-MASQ");
    } else {
      out_.add(kNat, kServices, base + " src,dst -j KUBE-MARK-MASQ");
    }
  }
  const auto externalAccepts = [&](IpsetId id) {
    const std::string base = commented(id) + " dst,dst";
    out_.add(kNat, kServices,
             base + " -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT");
    out_.add(kNat, kServices, base + " -m addrtype --dst-type LOCAL -j ACCEPT");
  };
  if (has(IpsetId::kExternalIP)) {
    out_.add(kNat, kServices, commented(IpsetId::kExternalIP) + " dst,dst -j KUBE-MARK-MASQ");
    externalAccepts(IpsetId::kExternalIP);
  }
  if (has(IpsetId::kExternalIPLocal)) externalAccepts(IpsetId::kExternalIPLocal);
  out_.add(kNat, kServices, "-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT");
  // acceptIPVSTraffic: keeps later DNAT rules (e.g. CNI hostport) away from IPVS traffic.
  for (IpsetId id : {IpsetId::kClusterIP, IpsetId::kLoadBalancer}) {
    if (has(id)) out_.add(kNat, kServices, "-m set --match-set " + name(id) + " dst,dst -j ACCEPT");
  }
}

void Renderer::natOthers() {
  setRules(kNat, kPostrouting);  // hairpin MASQUERADE for KUBE-LOOP-BACK
  out_.add(kNat, kPostrouting, "-m mark ! --mark " + mark_ + "/" + mark_ + " -j RETURN");
  out_.add(kNat, kPostrouting, "-j MARK --xor-mark " + mark_);  // clear it: no re-masquerade
  out_.add(kNat, kPostrouting,
           std::string("-m comment --comment \"kubernetes service traffic requiring SNAT\" "
                       "-j MASQUERADE") +
               (in_.randomFully ? " --random-fully" : ""));
  setRules(kNat, kNodePort);
  setRules(kNat, kLoadBalancer);
  out_.add(kNat, kLoadBalancer, "-j KUBE-MARK-MASQ");
  out_.add(kNat, kMarkMasq, "-j MARK --or-mark " + mark_);
}

void Renderer::filterRules() {
  out_.add(kFilter, kForward,
           "-m comment --comment \"kubernetes forwarding rules\" -m mark --mark " + mark_ + "/" +
               mark_ + " -j ACCEPT");
  out_.add(kFilter, kForward,
           "-m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack "
           "--ctstate RELATED,ESTABLISHED -j ACCEPT");
  // Upstream writes the next two groups whether or not the sets are empty.
  out_.add(kFilter, kNodePort, commented(IpsetId::kHealthCheckNodePort) + " dst -j ACCEPT");
  setRules(kFilter, kProxyFirewall);
  setRules(kFilter, kSourceRangesFirewall);
  out_.add(kFilter, kSourceRangesFirewall, "-j DROP");
  for (IpsetId id : {IpsetId::kLoadBalancer, IpsetId::kClusterIP, IpsetId::kExternalIP,
                     IpsetId::kExternalIPLocal}) {
    out_.add(kFilter, kIpvsFilter, "-m set --match-set " + name(id) + " dst,dst -j RETURN");
  }
  out_.add(kFilter, kIpvsFilter,
           "-m set --match-set " + name(IpsetId::kHealthCheckNodePort) + " dst -j RETURN");
  out_.add(kFilter, kIpvsFilter,
           "-m conntrack --ctstate NEW -m set --match-set " + name(IpsetId::kIpvsIps) +
               " dst -j REJECT");

  std::vector<LbNoNodeAccess> drops;
  for (const LbNoNodeAccess& d : in_.lbNoNodeAccess) {
    if (d.address.family() == in_.family) drops.push_back(d);
  }
  const auto key = [](const LbNoNodeAccess& d) { return std::tie(d.address, d.protocol, d.port); };
  std::sort(drops.begin(), drops.end(),
            [&](const auto& a, const auto& b) { return key(a) < key(b); });
  drops.erase(std::unique(drops.begin(), drops.end(),
                          [&](const auto& a, const auto& b) { return key(a) == key(b); }),
              drops.end());
  for (const LbNoNodeAccess& d : drops) {
    const std::string ip = d.address.toString();
    out_.add(kFilter, kIpvsOutFilter,
             "-s " + ip + " -m ipvs --vaddr " + ip + " --vproto " +
                 std::string(protocolLowerName(d.protocol)) + " --vport " + std::to_string(d.port) +
                 " -j DROP");
  }
}

std::string jumpInsertLine(const JumpRule& j) {
  return "-I " + std::string(j.from) + " 1 -m comment --comment " + quoted(j.comment) + " -j " +
         std::string(j.to) + "\n";
}

}  // namespace

std::span<const KubeChain> kubeChains() { return kChains; }
std::span<const JumpRule> jumpRules() { return kJumps; }

std::string masqueradeMark(unsigned bit) {
  // Config validation keeps the bit in 0..31; anything else falls back to the default 14
  // rather than shifting out of range.
  const std::uint32_t value = std::uint32_t{1} << (bit < 32 ? bit : 14);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string digits;
  for (std::uint32_t v = value; v != 0; v >>= 4) digits.insert(digits.begin(), kHex[v & 0xf]);
  return "0x" + digits;
}

std::string renderRules(const IptablesRuleInputs& in) { return renderRestore(in, {}); }

std::string renderRestore(const IptablesRuleInputs& in, std::span<const JumpRule> missing) {
  const RuleBuffer rules = Renderer(in).render();
  std::string natJumps;
  std::string filterJumps;
  for (const JumpRule& j : missing) {
    (j.table == kNat ? natJumps : filterJumps) += jumpInsertLine(j);
  }
  return rules.table(kNat, natJumps) + rules.table(kFilter, filterJumps);
}

std::string jumpSaveLine(const JumpRule& j) {
  return "-A " + std::string(j.from) + " -m comment --comment " + quoted(j.comment) + " -j " +
         std::string(j.to);
}

std::vector<JumpRule> missingJumps(std::string_view saveText) {
  const std::vector<SavedTable> tables = parseSave(saveText);
  std::vector<JumpRule> missing;
  for (const JumpRule& j : kJumps) {
    const std::vector<std::string> want{"-m", "comment",        "--comment", std::string(j.comment),
                                        "-j", std::string(j.to)};
    bool found = false;
    for (const SavedTable& t : tables) {
      if (t.name != j.table) continue;
      for (const SavedRule& r : t.rules) {
        if (r.chain == j.from && r.tokens == want) found = true;
      }
    }
    if (!found) missing.push_back(j);
  }
  return missing;
}

// ---- iptables-save text ----

std::vector<std::string> splitRuleTokens(std::string_view spec) {
  std::vector<std::string> tokens;
  std::string cur;
  bool inToken = false;
  bool inQuotes = false;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const char c = spec[i];
    if (inQuotes) {
      if (c == '\\' && i + 1 < spec.size()) {
        cur += spec[++i];
      } else if (c == '"') {
        inQuotes = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      inQuotes = inToken = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (inToken) tokens.push_back(std::move(cur));
      cur.clear();
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) tokens.push_back(std::move(cur));
  return tokens;
}

namespace {

std::string_view trimLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  return line;
}

std::optional<SavedRule> parseRuleLine(std::string_view line) {
  if (line.starts_with('[')) {  // "[packets:bytes] -A ..." from iptables-save -c
    const std::size_t close = line.find("] ");
    if (close == std::string_view::npos) return std::nullopt;
    line.remove_prefix(close + 2);
  }
  if (!line.starts_with("-A ")) return std::nullopt;
  line.remove_prefix(3);
  const std::size_t space = line.find(' ');
  SavedRule rule;
  rule.chain = std::string(line.substr(0, space));
  if (space != std::string_view::npos) rule.spec = std::string(line.substr(space + 1));
  rule.tokens = splitRuleTokens(rule.spec);
  for (std::size_t i = 0; i + 1 < rule.tokens.size(); ++i) {
    if (rule.tokens[i] == "--comment") {
      ++i;  // a comment's text is never a target
    } else if (rule.tokens[i] == "-j" || rule.tokens[i] == "-g") {
      rule.target = rule.tokens[i + 1];
    }
  }
  return rule;
}

}  // namespace

std::vector<SavedTable> parseSave(std::string_view saveText) {
  std::vector<SavedTable> tables;
  SavedTable* current = nullptr;
  while (!saveText.empty()) {
    const std::size_t nl = saveText.find('\n');
    const std::string_view line = trimLine(saveText.substr(0, nl));
    saveText.remove_prefix(nl == std::string_view::npos ? saveText.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '*') {
      tables.push_back(SavedTable{std::string(line.substr(1)), {}, {}});
      current = &tables.back();
    } else if (line == "COMMIT") {
      current = nullptr;
    } else if (current != nullptr && line.front() == ':') {
      current->chains.emplace_back(line.substr(1, line.find(' ') - 1));
    } else if (current != nullptr) {
      if (auto rule = parseRuleLine(line)) current->rules.push_back(std::move(*rule));
    }
  }
  return tables;
}

// ---- cleanup ----

namespace {

bool iptablesModeChain(std::string_view table, std::string_view chain) {
  static constexpr std::array<std::string_view, 6> kServicePrefixes{
      "KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-", "KUBE-XLB-"};
  if (chain == "KUBE-PROXY-CANARY") return true;  // mangle, nat and filter
  if (table == kNat) {
    if (chain == kServices || chain == "KUBE-NODEPORTS" || chain == kPostrouting ||
        chain == kMarkMasq) {
      return true;
    }
    return std::any_of(kServicePrefixes.begin(), kServicePrefixes.end(),
                       [&](std::string_view p) { return chain.starts_with(p); });
  }
  if (table == kFilter) {
    return chain == kServices || chain == "KUBE-EXTERNAL-SERVICES" || chain == kForward ||
           chain == "KUBE-NODEPORTS" || chain == kProxyFirewall;
  }
  return false;
}

bool removable(std::string_view table, std::string_view chain, CleanupScope scope) {
  // Several iptables-mode names (nat KUBE-SERVICES, KUBE-POSTROUTING, KUBE-MARK-MASQ, filter
  // KUBE-FORWARD, ...) are also IPVS-mode chains: those go only with scope.ipvsChains, so that
  // removing a takeover's leftovers never removes the rules that replaced them.
  const bool ours = std::any_of(kChains.begin(), kChains.end(), [&](const KubeChain& c) {
    return c.table == table && c.chain == chain;
  });
  if (ours) return scope.ipvsChains;
  return scope.iptablesModeChains && iptablesModeChain(table, chain);
}

// kube-proxy's iptables mode jumps into KUBE-PROXY-FIREWALL, a chain the IPVS mode keeps, with
// jumps of its own ("-m conntrack --ctstate NEW", "kubernetes load balancer firewall", also from
// OUTPUT). They are leftovers even though the chain stays: left in place, source ranges would
// also filter the node's own traffic, which the IPVS mode does not.
bool iptablesModeJump(std::string_view table, const SavedRule& r) {
  return table == kFilter && r.target == kProxyFirewall &&
         std::find(r.tokens.begin(), r.tokens.end(), "kubernetes load balancer firewall") !=
             r.tokens.end();
}

}  // namespace

std::string renderCleanup(std::string_view saveText, CleanupScope scope) {
  std::string out;
  for (const SavedTable& t : parseSave(saveText)) {
    std::set<std::string_view> gone;
    for (const std::string& c : t.chains) {
      if (removable(t.name, c, scope)) gone.insert(c);
    }
    std::string deletes;  // references from chains that stay
    for (const SavedRule& r : t.rules) {
      if (gone.contains(r.chain)) continue;
      if (gone.contains(r.target) || (scope.iptablesModeChains && iptablesModeJump(t.name, r))) {
        deletes += "-D " + r.chain + " " + r.spec + "\n";
      }
    }
    if (gone.empty() && deletes.empty()) continue;
    out += "*" + t.name + "\n";
    for (const std::string& c : t.chains) {  // flushes, under --noflush
      if (gone.contains(c)) out += ":" + c + " - [0:0]\n";
    }
    out += deletes;
    for (const std::string& c : t.chains) {
      if (gone.contains(c)) out += "-X " + c + "\n";
    }
    out += "COMMIT\n";
  }
  return out;
}

}  // namespace ipvs
