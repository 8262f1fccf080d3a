#include "ipvs/address.h"

#include <arpa/inet.h>

#include <algorithm>

namespace ipvs {

std::string_view protocolName(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kSctp:
      return "SCTP";
  }
  return "TCP";
}

std::string_view protocolLowerName(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kSctp:
      return "sctp";
  }
  return "tcp";
}

std::optional<Protocol> parseProtocol(std::string_view s) {
  if (s == "TCP" || s == "tcp") return Protocol::kTcp;
  if (s == "UDP" || s == "udp") return Protocol::kUdp;
  if (s == "SCTP" || s == "sctp") return Protocol::kSctp;
  return std::nullopt;
}

IpAddress IpAddress::v4(std::uint32_t hostOrder) {
  IpAddress ip;
  ip.bytes_[0] = static_cast<std::uint8_t>(hostOrder >> 24);
  ip.bytes_[1] = static_cast<std::uint8_t>(hostOrder >> 16);
  ip.bytes_[2] = static_cast<std::uint8_t>(hostOrder >> 8);
  ip.bytes_[3] = static_cast<std::uint8_t>(hostOrder);
  return ip;
}

IpAddress IpAddress::fromBytes(Family family, const std::uint8_t* bytes) {
  IpAddress ip;
  ip.family_ = family;
  std::copy_n(bytes, ip.byteLength(), ip.bytes_.begin());
  return ip;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton reads a C string, so an embedded NUL would end the address early and
  // "10.0.0.1\0junk" would parse as 10.0.0.1: reject NUL, and anything longer than the longest
  // textual address (INET6_ADDRSTRLEN counts the terminator), before copying to the buffer.
  constexpr std::size_t kMaxText = INET6_ADDRSTRLEN - 1;
  if (text.empty() || text.size() > kMaxText || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buf[kMaxText + 1];
  std::copy(text.begin(), text.end(), buf);
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes_.data()) != 1) return std::nullopt;
    ip.family_ = Family::kV4;
  } else {
    if (inet_pton(AF_INET6, buf, ip.bytes_.data()) != 1) return std::nullopt;
    ip.family_ = Family::kV6;
  }
  return ip;
}

bool IpAddress::isUnspecified() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

bool IpAddress::isLoopback() const {
  if (isV4()) return bytes_[0] == 127;
  static constexpr std::array<std::uint8_t, 16> kLoop{0, 0, 0, 0, 0, 0, 0, 0,
                                                      0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoop;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

Cidr::Cidr(IpAddress base, std::uint8_t prefix) : prefix_(prefix) {
  const auto bits = static_cast<std::uint8_t>(base.byteLength() * 8);
  prefix_ = std::min(prefix, bits);
  auto bytes = base.bytes();
  for (std::size_t i = 0; i < base.byteLength(); ++i) {
    const int keep = std::clamp(static_cast<int>(prefix_) - static_cast<int>(i * 8), 0, 8);
    bytes[i] = static_cast<std::uint8_t>(bytes[i] & (0xff00u >> keep));
  }
  base_ = IpAddress::fromBytes(base.family(), bytes.data());
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const int bits = static_cast<int>(ip->byteLength() * 8);
  int prefix = bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > bits) return std::nullopt;
  }
  return Cidr(*ip, static_cast<std::uint8_t>(prefix));
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.family() != family()) return false;
  return Cidr(ip, prefix_).base_ == base_;
}

std::string Cidr::toString() const { return base_.toString() + "/" + std::to_string(prefix_); }

std::size_t IpAddressHash::operator()(const IpAddress& ip) const noexcept {
  // FNV-1a over the significant bytes: cheap and good enough for hash maps of addresses.
  std::size_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < ip.byteLength(); ++i) h = (h ^ ip.bytes()[i]) * 1099511628211ull;
  return h ^ static_cast<std::size_t>(ip.family());
}

}  // namespace ipvs
