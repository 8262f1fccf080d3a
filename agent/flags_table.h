#pragma once
// Internal to agent/: the flag table behind flags.cpp (names, kinds, scopes, help, setters).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/flags.h"

namespace agent {

enum class FlagKind {
  kString,
  kBool,
  kDuration,
  kInt32,
  kFloat,
  kStringList,
  kBoolMap,
  kIp,
  kHostPort
};

enum class FlagScope {
  kOption,    // not a configuration field; always applies
  kConfig,    // a configuration field; ignored when --config is given
  kOverFile,  // applies over the --config file too
  kIgnored,   // accepted for compatibility, warned about
};

// Flag values gathered while resolving, for flags that do not map 1:1 onto a field.
struct Resolution {
  Options opts;
  std::optional<std::int32_t> healthzPort;  // deprecated --healthz-port
  std::optional<std::int32_t> metricsPort;  // deprecated --metrics-port
  std::optional<std::string> hostnameOverride;
};

struct FlagSpec {
  std::string_view name;
  FlagKind kind;
  FlagScope scope;
  std::string_view defaultText;  // for usage(); empty: none shown
  std::string_view help;
  // Applies an already checked value. `first`: first occurrence (list flags replace the default
  // on the first occurrence and append on later ones, as pflag's StringSlice).
  void (*apply)(Resolution& res, const std::string& value, bool first);
};

std::span<const FlagSpec> flagTable();
const FlagSpec* findFlag(std::string_view name);

std::optional<std::int32_t> parseInt32(std::string_view text);
std::vector<std::string> splitList(std::string_view text);  // "" -> {}, "a,b" -> {a, b}
std::string checkProxyMode(std::string_view mode);          // empty when ok, else the error

}  // namespace agent
