#pragma once
// Command-line lists of the load generator (pure): the source addresses its connections bind to
// and the fixed source ports of flow mode.
//   addresses: "10.250.0.1+64,10.250.1.9"  (A+N = N consecutive IPv4 addresses from A; IPv6
//              addresses only one at a time)
//   ports:     "20000+4,30000"             (P+N = N consecutive ports from P)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bench::sched {

// Expands an address list to its addresses as text; nullopt with `error` on a bad item or an
// empty list. Each address is checked with inet_pton.
std::optional<std::vector<std::string>> expandAddresses(std::string_view spec, std::string& error);

// Expands a port list (1..65535, no port 0).
std::optional<std::vector<std::uint16_t>> expandPorts(std::string_view spec, std::string& error);

// The flow key of the report: "10.250.0.7:20001" ("[fd00::7]:20001" for IPv6).
std::string flowKey(std::string_view address, std::uint16_t port);

}  // namespace bench::sched
