#include "tests/support/ipvs_save_parse.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "ipvs/kernel_objects.h"
#include "ipvs/scheduler.h"

namespace testsupport {
namespace {

using namespace ipvs;

std::vector<std::string_view> tokenize(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <class T>
std::optional<T> parseNumber(std::string_view s) {
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "10.0.0.1:80", "[2001:db8::1]:80", or a bare address (port 0: "same as the service").
std::optional<std::pair<IpAddress, std::uint16_t>> parseAddressPort(std::string_view s) {
  std::string_view host = s, port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    const auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const auto colon = s.rfind(':');
             colon != std::string_view::npos && s.find(':') == colon) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  auto ip = IpAddress::parse(host);
  if (!ip) return std::nullopt;
  std::uint16_t p = 0;
  if (!port.empty()) {
    auto n = parseNumber<std::uint16_t>(port);
    if (!n) return std::nullopt;
    p = *n;
  }
  return std::make_pair(*ip, p);
}

std::optional<std::uint32_t> parseNetmask(std::string_view s, bool v4) {
  if (!v4 || s.find('.') == std::string_view::npos) return parseNumber<std::uint32_t>(s);
  auto ip = IpAddress::parse(s);
  if (!ip || !ip->isV4()) return std::nullopt;
  const auto& b = ip->bytes();
  const std::uint32_t mask =
      (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  const auto prefix = static_cast<std::uint32_t>(std::countl_one(mask));
  if (prefix < 32 && (mask << prefix) != 0) return std::nullopt;  // not contiguous
  return prefix;
}

struct LineState {
  bool isService = false;
  std::optional<VirtualServerKey> key;
  bool ipv6Fwmark = false;
  VirtualServer vs;
  std::string_view schedFlags;
  std::optional<std::string_view> netmask;
  std::optional<std::pair<IpAddress, std::uint16_t>> dest;
  RealServer rs;
};

class LineParser {
 public:
  explicit LineParser(std::vector<std::string_view> t) : tokens_(std::move(t)) {}

  // Returns an error message, or "" on success.
  std::string parse(LineState& st) {
    if (tokens_.empty()) return "empty line";
    const auto cmd = tokens_[0];
    if (cmd == "-A" || cmd == "--add-service") {
      st.isService = true;
    } else if (cmd != "-a" && cmd != "--add-server") {
      return "unsupported command \"" + std::string(cmd) + "\"";
    }
    st.rs.method = ForwardMethod::kDirectRoute;  // ipvsadm's default for -a
    for (i_ = 1; i_ < tokens_.size(); ++i_) {
      std::string err = option(tokens_[i_], st);
      if (!err.empty()) return err;
    }
    if (!st.key) return "no virtual service (-t, -u, --sctp-service or -f)";
    if (!st.isService && !st.dest) return "no real server (-r)";
    return {};
  }

 private:
  std::optional<std::string_view> arg() {
    if (i_ + 1 >= tokens_.size()) return std::nullopt;
    return tokens_[++i_];
  }

  std::string service(std::string_view opt, LineState& st) {
    auto a = arg();
    if (!a) return "missing argument to " + std::string(opt);
    if (opt == "-f" || opt == "--fwmark-service") {
      auto mark = parseNumber<std::uint32_t>(*a);
      if (!mark || *mark == 0) return "bad fwmark \"" + std::string(*a) + "\"";
      st.key = VirtualServerKey{IpAddress{}, Protocol::kTcp, 0, *mark};
      return {};
    }
    auto ap = parseAddressPort(*a);
    if (!ap) return "bad service address \"" + std::string(*a) + "\"";
    const Protocol p = (opt == "-t" || opt == "--tcp-service")   ? Protocol::kTcp
                       : (opt == "-u" || opt == "--udp-service") ? Protocol::kUdp
                                                                 : Protocol::kSctp;
    st.key = VirtualServerKey{ap->first, p, ap->second, 0};
    return {};
  }

  std::string number(std::string_view opt, std::uint32_t& out) {
    auto a = arg();
    auto n = a ? parseNumber<std::uint32_t>(*a) : std::nullopt;
    if (!n) return "bad or missing number after " + std::string(opt);
    out = *n;
    return {};
  }

  std::string option(std::string_view o, LineState& st) {
    if (o == "-t" || o == "-u" || o == "-f" || o == "--sctp-service" || o == "--tcp-service" ||
        o == "--udp-service" || o == "--fwmark-service") {
      return service(o, st);
    }
    if (o == "-6" || o == "--ipv6") {
      st.ipv6Fwmark = true;
      return {};
    }
    if (o == "-n" || o == "--numeric" || o == "--tun-nocsum" || o == "--tun-csum" ||
        o == "--tun-remcsum") {
      return {};
    }
    if (o == "--pe" || o == "--tun-type" || o == "--tun-port") {
      return arg() ? std::string() : "missing argument to " + std::string(o);
    }
    if (auto r = serviceOption(o, st)) return *r;
    if (auto r = serverOption(o, st)) return *r;
    return "unknown option \"" + std::string(o) + "\"";
  }

  // Options of -A; nullopt if `o` is none of them.
  std::optional<std::string> serviceOption(std::string_view o, LineState& st) {
    if (o == "-s" || o == "--scheduler") {
      auto a = arg();
      if (!a) return "missing scheduler";
      st.vs.scheduler = std::string(*a);
    } else if (o == "-p" || o == "--persistent") {
      st.vs.flags |= kFlagPersistent;
      st.vs.timeout = 300;  // IPVS_SVC_PERSISTENT_TIMEOUT when -p has no value
      if (i_ + 1 < tokens_.size()) {
        if (auto n = parseNumber<std::uint32_t>(tokens_[i_ + 1])) {
          st.vs.timeout = *n;
          ++i_;
        }
      }
    } else if (o == "-M" || o == "--netmask") {
      st.netmask = arg();
      if (!st.netmask) return "missing netmask";
    } else if (o == "-o" || o == "--ops") {
      st.vs.flags |= kFlagOnePacket;
    } else if (o == "-b" || o == "--sched-flags") {
      auto a = arg();
      if (!a) return "missing scheduler flags";
      st.schedFlags = *a;
    } else {
      return std::nullopt;
    }
    return std::string();
  }

  // Options of -a; nullopt if `o` is none of them.
  std::optional<std::string> serverOption(std::string_view o, LineState& st) {
    if (o == "-r" || o == "--real-server") {
      auto a = arg();
      st.dest = a ? parseAddressPort(*a) : std::nullopt;
      if (!st.dest) return "bad or missing real server address";
    } else if (o == "-m" || o == "--masquerading") {
      st.rs.method = ForwardMethod::kMasquerade;
    } else if (o == "-g" || o == "--gatewaying") {
      st.rs.method = ForwardMethod::kDirectRoute;
    } else if (o == "-i" || o == "--ipip") {
      st.rs.method = ForwardMethod::kTunnel;
    } else if (o == "-w" || o == "--weight") {
      return number(o, st.rs.weight);
    } else if (o == "-x" || o == "--u-threshold") {
      return number(o, st.rs.upperThreshold);
    } else if (o == "-y" || o == "--l-threshold") {
      return number(o, st.rs.lowerThreshold);
    } else {
      return std::nullopt;
    }
    return std::string();
  }

  std::vector<std::string_view> tokens_;
  std::size_t i_ = 0;
};

std::string apply(LineState& st, KernelState& state) {
  VirtualServerKey key = *st.key;
  if (key.fwmark != 0 && st.ipv6Fwmark)
    key.address = IpAddress::fromBytes(Family::kV6, key.address.bytes().data());
  if (st.isService) {
    st.vs.key = key;
    st.vs.netmask = key.address.isV4() ? 32 : 128;
    if (st.netmask) {
      auto m = parseNetmask(*st.netmask, key.address.isV4());
      if (!m || *m > st.vs.netmask) return "bad netmask \"" + std::string(*st.netmask) + "\"";
      st.vs.netmask = *m;
    }
    if (!st.schedFlags.empty()) {
      auto parsed = parseSchedulerFlags(st.vs.scheduler, st.schedFlags);
      if (!parsed.unknown.empty() || !parsed.misplaced.empty()) {
        return "bad scheduler flags \"" + std::string(st.schedFlags) + "\"";
      }
      st.vs.flags |= parsed.flags;
    }
    if (!state.virtualServers.try_emplace(key, ObservedVirtualServer{st.vs, {}}).second) {
      return "duplicate virtual service";
    }
    return {};
  }
  auto vs = state.virtualServers.find(key);
  if (vs == state.virtualServers.end()) return "real server for an undefined virtual service";
  st.rs.key = {st.dest->first, st.dest->second != 0 ? st.dest->second : key.port};
  auto& rss = vs->second.realServers;
  auto it =
      std::lower_bound(rss.begin(), rss.end(), st.rs.key,
                       [](const auto& o, const RealServerKey& k) { return o.server.key < k; });
  if (it != rss.end() && it->server.key == st.rs.key) return "duplicate real server";
  rss.insert(it, ObservedRealServer{st.rs, {}});
  return {};
}

}  // namespace

std::optional<KernelState> parseIpvsadmSave(std::string_view text, std::string* error) {
  struct Pending {
    std::size_t lineNo;
    LineState state;
  };
  std::vector<Pending> services, dests;
  std::size_t lineNo = 0;
  auto fail = [&](std::size_t n, const std::string& msg) -> std::optional<KernelState> {
    if (error) *error = "ipvsadm -S line " + std::to_string(n) + ": " + msg;
    return std::nullopt;
  };
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineNo;
    auto tokens = tokenize(line);
    if (tokens.empty() || tokens[0].starts_with("#")) continue;
    LineState st;
    const std::string err = LineParser(std::move(tokens)).parse(st);
    if (!err.empty()) return fail(lineNo, err);
    (st.isService ? services : dests).push_back({lineNo, st});
  }
  // Services first, so the lines may come in any order.
  KernelState state;
  for (auto* list : {&services, &dests}) {
    for (auto& p : *list) {
      const std::string err = apply(p.state, state);
      if (!err.empty()) return fail(p.lineNo, err);
    }
  }
  return state;
}

std::optional<std::pair<IpsetId, Family>> parseIpsetName(std::string_view name) {
  for (const auto& def : ipsetDefs()) {
    for (Family f : {Family::kV4, Family::kV6}) {
      if (ipsetName(def.id, f) == name) return std::make_pair(def.id, f);
    }
  }
  return std::nullopt;
}

std::optional<std::set<IpsetEntry>> parseIpsetSave(std::string_view text, std::string* error) {
  std::set<IpsetEntry> out;
  std::size_t lineNo = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineNo;
    if (!line.starts_with("add ")) continue;
    line.remove_prefix(4);
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp + 1 >= line.size()) {
      if (error) *error = "ipset save line " + std::to_string(lineNo) + ": no member";
      return std::nullopt;
    }
    const auto set = parseIpsetName(line.substr(0, sp));
    if (!set) continue;
    std::string_view member = line.substr(sp + 1);
    member = member.substr(0, member.find(' '));  // drop options such as "timeout 0"
    out.insert(IpsetEntry{set->first, set->second, std::string(member)});
  }
  return out;
}

}  // namespace testsupport
