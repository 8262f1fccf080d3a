#pragma once
// The text side of the ipset adapter, kept free of libipset so it is unit-tested without a
// kernel: the create arguments kube-proxy uses (docs/kube-proxy-behaviour.md#ipsets), the reading
// of `ipset save` text, and the mapping of libipset's report messages to error codes.
//
// Why messages: libipset reports a kernel error only as text (its errcode table turns the
// kernel's code into "Element cannot be added to the set: it's already added", ...); the numeric
// code is not exposed. The texts are stable across ipset 6.x and 7.x, and this is the one place
// that reads them.

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ipvs/address.h"
#include "ipvs/kernel_objects.h"

namespace netlink {

enum class IpsetError {
  kAlreadyAdded = 1,  // add of a present entry
  kNotAdded,          // del of an absent entry
  kSetMissing,        // the named set does not exist
  kSetInUse,          // destroy of a set iptables references
  kSetExists,         // create: same name, different type or options
  kTypeMismatch,      // swap of sets of different types; adopted set of another type
  kSetFull,           // maxelem reached
  kSyntax,            // the entry or a name does not parse
  kPermission,        // no CAP_NET_ADMIN
  kKernel,            // any other error the kernel reported
  kLibrary,           // libipset itself failed (memory, protocol, cannot open a session)
};
const std::error_category& ipsetCategory();
std::error_code make_error_code(IpsetError e);

// The error a libipset report message stands for.
IpsetError classifyIpsetMessage(std::string_view message);

// Set options kube-proxy creates its sets with (setIPSetDefaults).
inline constexpr int kIpsetHashSize = 1024;
inline constexpr int kIpsetMaxElem = 65536;
inline constexpr std::string_view kIpsetPortRange = "0-65535";

// `create NAME TYPE ...` arguments (without the program name), as kube-proxy passes them:
// hash types get "family inet|inet6 hashsize 1024 maxelem 65536", bitmap:port "range 0-65535".
// No "comment" option: kube-proxy's sets have none, and `create -exist` must accept its sets.
std::vector<std::string> ipsetCreateArgs(std::string_view name, std::string_view type,
                                         ipvs::Family family);

// The agent's set a name belongs to ("KUBE-6-CLUSTER-IP" -> kClusterIP, v6).
std::optional<std::pair<ipvs::IpsetId, ipvs::Family>> lookupIpsetName(std::string_view name);

// The temporary set a full resync fills before swapping it in ("KUBE-TMP4-01"): short, fixed
// per set, so a leftover from a crash is found and replaced by the next resync.
std::string ipsetTempName(ipvs::IpsetId id, ipvs::Family family);

struct IpsetSaveHeader {
  std::string name;
  std::string type;
  std::string family;  // "inet", "inet6", or empty for bitmap:port
};

struct IpsetSaveText {
  std::vector<IpsetSaveHeader> sets;                         // "create" lines
  std::vector<std::pair<std::string, std::string>> members;  // ("add" set, entry)
};

// The (set, entry) of one `ipset save` line "add SET ENTRY [options]"; nullopt for other lines.
std::optional<std::pair<std::string_view, std::string_view>> ipsetSaveMember(std::string_view line);

// Reads `ipset save` output. Options after an entry (timeout, comment, counters) are ignored;
// unknown lines are skipped.
IpsetSaveText parseIpsetSave(std::string_view text);

// Cheap sanity checks before anything reaches libipset: non-empty, at most 255 characters, no
// whitespace, quotes or control characters (an ipset entry never has them).
bool plausibleIpsetEntry(std::string_view entry);

}  // namespace netlink

namespace std {
template <>
struct is_error_code_enum<netlink::IpsetError> : true_type {};
}  // namespace std
