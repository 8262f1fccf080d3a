#pragma once
// Value types for addresses, CIDRs and protocols. Pure: no I/O, no allocation beyond formatting.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ipvs {

enum class Family : std::uint8_t { kV4, kV6 };

// The IANA protocol numbers, so the netlink layer can pass them through unchanged.
enum class Protocol : std::uint8_t { kTcp = 6, kUdp = 17, kSctp = 132 };

std::string_view protocolName(Protocol p);       // "TCP", "UDP", "SCTP" (Kubernetes spelling)
std::string_view protocolLowerName(Protocol p);  // "tcp", "udp", "sctp" (ipset spelling)
std::optional<Protocol> parseProtocol(std::string_view s);  // accepts either spelling

// An IPv4 or IPv6 address. IPv4 occupies the first four bytes; the rest are zero.
class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress v4(std::uint32_t hostOrder);
  static IpAddress fromBytes(Family family, const std::uint8_t* bytes);  // 4 or 16 bytes
  static std::optional<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool isV4() const { return family_ == Family::kV4; }
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  std::size_t byteLength() const { return isV4() ? 4 : 16; }
  bool isUnspecified() const;
  bool isLoopback() const;
  std::string toString() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
  Family family_ = Family::kV4;
};

class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddress base, std::uint8_t prefix);  // masks off host bits
  static std::optional<Cidr> parse(std::string_view text);  // "10.0.0.0/8"; a bare IP is a host route

  const IpAddress& base() const { return base_; }
  std::uint8_t prefix() const { return prefix_; }
  Family family() const { return base_.family(); }
  bool contains(const IpAddress& ip) const;
  std::string toString() const;

  auto operator<=>(const Cidr&) const = default;

 private:
  IpAddress base_;
  std::uint8_t prefix_ = 0;
};

struct IpAddressHash {
  std::size_t operator()(const IpAddress& ip) const noexcept;
};

}  // namespace ipvs
