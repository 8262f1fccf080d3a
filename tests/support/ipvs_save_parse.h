#pragma once
// Test support: parsers for the text ipvs/ipvsadm_format.h prints (`ipvsadm -Sn`, `ipset save`),
// so tests can check a round trip or compare with the real tools. The agent never parses this
// text (it reads the kernel over netlink; netlink/ipset_text.h reads libipset's output), so
// these live outside the production libraries.
//
// Both accept their input in any line order (and ipvsadm's long option spellings) and return
// nullopt with a message naming the line on anything else.

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "ipvs/kernel_objects.h"

namespace testsupport {

// Virtual and real servers only; netmask defaults to 32/128, counters to 0.
std::optional<ipvs::KernelState> parseIpvsadmSave(std::string_view text,
                                                  std::string* error = nullptr);

// Keeps the "add" lines of the agent's sets (KUBE-*, KUBE-6-*); ignores every other line.
std::optional<std::set<ipvs::IpsetEntry>> parseIpsetSave(std::string_view text,
                                                         std::string* error = nullptr);

// "KUBE-6-CLUSTER-IP" -> {kClusterIP, kV6}; nullopt for names that are not the agent's.
std::optional<std::pair<ipvs::IpsetId, ipvs::Family>> parseIpsetName(std::string_view name);

}  // namespace testsupport
