#include "netlink/ipset_text.h"

#include <array>
#include <cstddef>

namespace netlink {

namespace {

class IpsetCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ipset"; }
  std::string message(int code) const override;
  std::error_condition default_error_condition(int code) const noexcept override;
};

std::string IpsetCategory::message(int code) const {
  switch (static_cast<IpsetError>(code)) {
    case IpsetError::kAlreadyAdded:
      return "element is already in the set";
    case IpsetError::kNotAdded:
      return "element is not in the set";
    case IpsetError::kSetMissing:
      return "set does not exist";
    case IpsetError::kSetInUse:
      return "set is in use by a kernel component";
    case IpsetError::kSetExists:
      return "a set of that name exists with other options";
    case IpsetError::kTypeMismatch:
      return "set types do not match";
    case IpsetError::kSetFull:
      return "set is full";
    case IpsetError::kSyntax:
      return "ipset syntax error";
    case IpsetError::kPermission:
      return "ipset operation not permitted";
    case IpsetError::kKernel:
      return "ipset kernel error";
    case IpsetError::kLibrary:
      return "libipset failure";
  }
  return "unknown ipset error";
}

std::error_condition IpsetCategory::default_error_condition(int code) const noexcept {
  switch (static_cast<IpsetError>(code)) {
    case IpsetError::kAlreadyAdded:
      return std::errc::file_exists;
    case IpsetError::kNotAdded:
      return std::errc::no_such_file_or_directory;
    case IpsetError::kSetMissing:
      return std::errc::no_such_file_or_directory;
    case IpsetError::kSetInUse:
      return std::errc::device_or_resource_busy;
    case IpsetError::kSetExists:
      return std::errc::file_exists;
    case IpsetError::kTypeMismatch:
      return std::errc::invalid_argument;
    case IpsetError::kSetFull:
      return std::errc::no_space_on_device;
    case IpsetError::kSyntax:
      return std::errc::invalid_argument;
    case IpsetError::kPermission:
      return std::errc::operation_not_permitted;
    case IpsetError::kKernel:
      return std::errc::io_error;
    case IpsetError::kLibrary:
      return std::errc::io_error;
  }
  return {code, *this};
}

bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

// Cuts the next word off `line`. Splits on spaces; ipset save never quotes anything but
// comments, which come after the entry.
std::string_view nextWord(std::string_view& line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  const std::size_t start = i;
  while (i < line.size() && line[i] != ' ') ++i;
  const std::string_view word = line.substr(start, i - start);
  line.remove_prefix(i);
  return word;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  for (std::string_view w = nextWord(line); !w.empty(); w = nextWord(line)) out.push_back(w);
  return out;
}

}  // namespace

const std::error_category& ipsetCategory() {
  static const IpsetCategory kCategory;
  return kCategory;
}

std::error_code make_error_code(IpsetError e) { return {static_cast<int>(e), ipsetCategory()}; }

IpsetError classifyIpsetMessage(std::string_view m) {
  if (contains(m, "it's already added")) return IpsetError::kAlreadyAdded;
  if (contains(m, "it's not added")) return IpsetError::kNotAdded;
  if (contains(m, "does not exist")) return IpsetError::kSetMissing;
  if (contains(m, "in use by")) return IpsetError::kSetInUse;
  if (contains(m, "set with the same name already exists")) return IpsetError::kSetExists;
  if (contains(m, "type does not match")) return IpsetError::kTypeMismatch;
  if (contains(m, "is full")) return IpsetError::kSetFull;
  if (contains(m, "Syntax error") || contains(m, "is longer than") ||
      contains(m, "Unknown argument") || contains(m, "Missing")) {
    return IpsetError::kSyntax;
  }
  if (contains(m, "Operation not permitted") || contains(m, "Permission denied")) {
    return IpsetError::kPermission;
  }
  if (contains(m, "Kernel error") || contains(m, "kernel")) return IpsetError::kKernel;
  return IpsetError::kLibrary;
}

std::vector<std::string> ipsetCreateArgs(std::string_view name, std::string_view type,
                                         ipvs::Family family) {
  std::vector<std::string> args{"create", std::string(name), std::string(type)};
  if (type.starts_with("hash:")) {
    args.insert(args.end(),
                {"family", family == ipvs::Family::kV4 ? "inet" : "inet6", "hashsize",
                 std::to_string(kIpsetHashSize), "maxelem", std::to_string(kIpsetMaxElem)});
  } else if (type == "bitmap:port") {
    args.insert(args.end(), {"range", std::string(kIpsetPortRange)});
  }
  return args;
}

std::optional<std::pair<ipvs::IpsetId, ipvs::Family>> lookupIpsetName(std::string_view name) {
  for (const ipvs::IpsetDef& def : ipvs::ipsetDefs()) {
    for (ipvs::Family f : {ipvs::Family::kV4, ipvs::Family::kV6}) {
      if (ipvs::ipsetName(def.id, f) == name) return std::make_pair(def.id, f);
    }
  }
  return std::nullopt;
}

std::string ipsetTempName(ipvs::IpsetId id, ipvs::Family family) {
  const auto n = static_cast<unsigned>(id);
  std::string out = family == ipvs::Family::kV4 ? "KUBE-TMP4-" : "KUBE-TMP6-";
  out += static_cast<char>('0' + n / 10);
  out += static_cast<char>('0' + n % 10);
  return out;
}

std::optional<std::pair<std::string_view, std::string_view>> ipsetSaveMember(
    std::string_view line) {
  if (nextWord(line) != "add") return std::nullopt;
  const std::string_view set = nextWord(line);
  const std::string_view entry = nextWord(line);
  if (entry.empty()) return std::nullopt;
  return std::pair(set, entry);
}

IpsetSaveText parseIpsetSave(std::string_view text) {
  IpsetSaveText out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const auto member = ipsetSaveMember(line)) {
      out.members.emplace_back(std::string(member->first), std::string(member->second));
      continue;
    }
    const std::vector<std::string_view> w = words(line);
    if (w.size() >= 3 && w[0] == "create") {
      IpsetSaveHeader h{std::string(w[1]), std::string(w[2]), {}};
      for (std::size_t i = 3; i + 1 < w.size(); ++i) {
        if (w[i] == "family") h.family = std::string(w[i + 1]);
      }
      out.sets.push_back(std::move(h));
    }
  }
  return out;
}

bool plausibleIpsetEntry(std::string_view entry) {
  if (entry.empty() || entry.size() > 255) return false;
  for (char c : entry) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f || c == '"' || c == '\'' || c == '\\') return false;
  }
  return true;
}

}  // namespace netlink
