#include "ipvs/model.h"

#include <algorithm>
#include <functional>

namespace ipvs {

std::size_t ObjectKeyHash::operator()(const ObjectKey& k) const noexcept {
  const std::size_t h = std::hash<std::string>{}(k.ns);
  return h ^ (std::hash<std::string>{}(k.name) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

const std::string* findValue(const StringPairs& pairs, std::string_view key) {
  const auto it = std::lower_bound(pairs.begin(), pairs.end(), key,
                                   [](const auto& p, std::string_view k) { return p.first < k; });
  return it != pairs.end() && it->first == key ? &it->second : nullptr;
}

}  // namespace ipvs
