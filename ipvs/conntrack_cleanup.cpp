#include "ipvs/conntrack_cleanup.h"

#include <algorithm>
#include <set>

namespace ipvs {
namespace {

bool isUdpService(const VirtualServerKey& key) {
  return key.protocol == Protocol::kUdp && key.fwmark == 0;
}

const std::vector<RealServerKey>* find(const UdpRealServers& map, const VirtualServerKey& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

bool matches(const ConntrackFilter& filter, const ConntrackEntry& entry) {
  if (entry.protocol != filter.protocol || entry.original.dst != filter.originalDst ||
      entry.original.dstPort != filter.originalDstPort)
    return false;
  if (!filter.replySrc) return true;
  return entry.reply.src == filter.replySrc->address &&
         entry.reply.srcPort == filter.replySrc->port;
}

std::vector<ConntrackFilter> udpConntrackFlushes(const UdpRealServers& before,
                                                 const UdpRealServers& after) {
  std::set<ConntrackFilter> out;
  for (const auto& [key, was] : before) {
    if (!isUdpService(key)) continue;
    const auto* now = find(after, key);
    for (const auto& rs : was) {
      if (now == nullptr || std::find(now->begin(), now->end(), rs) == now->end())
        out.insert({Protocol::kUdp, key.address, key.port, rs});
    }
  }
  for (const auto& [key, now] : after) {
    if (!isUdpService(key) || now.empty()) continue;
    const auto* was = find(before, key);
    if (was == nullptr || was->empty()) out.insert({Protocol::kUdp, key.address, key.port, {}});
  }
  return {out.begin(), out.end()};
}

}  // namespace ipvs
