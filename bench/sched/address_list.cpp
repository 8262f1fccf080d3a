#include "bench/sched/address_list.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace bench::sched {
namespace {

constexpr std::uint64_t kMaxExpand = 65536;  // a typo must not allocate gigabytes

template <typename T>
bool parseNumber(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

// Calls fn(item, countText) for each comma-separated "item[+count]"; false on an empty item.
template <typename Fn>
bool forEachItem(std::string_view spec, Fn fn) {
  if (spec.empty()) return false;
  while (true) {
    const auto comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    if (item.empty()) return false;
    const auto plus = item.find('+');
    const std::string_view count =
        plus == std::string_view::npos ? std::string_view{} : item.substr(plus + 1);
    if (!fn(item.substr(0, plus), count, plus != std::string_view::npos)) return false;
    if (comma == std::string_view::npos) return true;
    spec.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<std::vector<std::string>> expandAddresses(std::string_view spec, std::string& error) {
  std::vector<std::string> out;
  const bool ok =
      forEachItem(spec, [&](std::string_view addr, std::string_view countText, bool hasCount) {
        const std::string text(addr);
        in_addr v4{};
        in6_addr v6{};
        std::uint64_t count = 1;
        if (hasCount && (!parseNumber(countText, count) || count == 0 || count > kMaxExpand)) {
          return false;
        }
        if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
          const std::uint32_t first = ntohl(v4.s_addr);
          if (std::uint64_t{first} + count - 1 > 0xffffffffu) return false;  // past 255.255.255.255
          for (std::uint64_t i = 0; i < count; ++i) {
            in_addr a{htonl(static_cast<std::uint32_t>(first + i))};
            char buf[INET_ADDRSTRLEN];
            out.emplace_back(inet_ntop(AF_INET, &a, buf, sizeof buf));
          }
          return true;
        }
        if (inet_pton(AF_INET6, text.c_str(), &v6) == 1 && count == 1) {
          char buf[INET6_ADDRSTRLEN];
          out.emplace_back(inet_ntop(AF_INET6, &v6, buf, sizeof buf));
          return true;
        }
        return false;
      });
  if (!ok || out.size() > kMaxExpand) {
    error = "bad address list \"" + std::string(spec) +
            "\" (want A[+N],... with IPv4 ranges, e.g. 10.250.0.1+64)";
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::uint16_t>> expandPorts(std::string_view spec, std::string& error) {
  std::vector<std::uint16_t> out;
  const bool ok =
      forEachItem(spec, [&](std::string_view portText, std::string_view countText, bool hasCount) {
        std::uint32_t port = 0;
        std::uint32_t count = 1;
        if (!parseNumber(portText, port) || port == 0) return false;
        if (hasCount && (!parseNumber(countText, count) || count == 0)) return false;
        if (port + count - 1 > 65535) return false;
        for (std::uint32_t i = 0; i < count; ++i)
          out.push_back(static_cast<std::uint16_t>(port + i));
        return true;
      });
  if (!ok) {
    error = "bad port list \"" + std::string(spec) + "\" (want P[+N],..., ports 1-65535)";
    return std::nullopt;
  }
  return out;
}

std::string flowKey(std::string_view address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string_view::npos;
  std::string out = v6 ? "[" : "";
  out += address;
  out += v6 ? "]:" : ":";
  out += std::to_string(port);
  return out;
}

}  // namespace bench::sched
