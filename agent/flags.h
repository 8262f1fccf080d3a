#pragma once
// Command-line flags with kube-proxy's names, defaults and precedence, and the start-up
// resolution of flags + --config file into the effective configuration.
//
// Precedence, as kube-proxy's Options.Complete:
// - Without --config, the flags are applied over the v1alpha1 defaults.
// - With --config, the file wins: flags that map to configuration fields are ignored (a warning
//   names each one), except --hostname-override (trimmed, lower-cased, applied over the file, as
//   upstream's processHostnameOverrideFlag) and the logging flags (-v, --vmodule,
//   --logging-format, --log-flush-frequency, --log-{json,text}-{split-stream,info-buffer-size}),
//   which upstream copies over the file's `logging`.
//   ipvs-agent's own flags (--source, --dry-run, --graceful-termination-timeout) also apply over
//   the file's `ipvsAgent` section when given.
// - Flags that are not configuration fields always apply: --config, --write-config-to,
//   --cleanup, --init-only, --master, --help, --version.
// Differences: --proxy-mode accepts only ipvs or empty (the error explains the rest); the
// --ipvs-*-period flags apply whatever --proxy-mode says (upstream applies them only in ipvs
// mode, which is the only mode here); positional arguments are an error, as upstream.
//
// Errors throw ConfigError (start-up only); main prints the message and exits 1.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config.h"

namespace agent {

struct Options {
  Config config;                      // effective: defaults, then file or flags, validated
  std::string configFile;             // --config
  std::string writeConfigTo;          // --write-config-to: write `config` as YAML and exit
  std::string master;                 // --master: overrides the kubeconfig's server URL
  bool cleanup = false;               // --cleanup
  bool initOnly = false;              // --init-only
  bool help = false;                  // --help / -h: print usage(), exit 0; nothing else resolved
  bool version = false;               // --version: print versionText(), exit 0; likewise
  std::vector<std::string> warnings;  // ignored flags, unknown file fields, unused settings
  std::vector<std::string> notices;   // start-up facts worth one info line (JSON, not protobuf)
};

// One flag as written on the command line, after name and syntax checks.
struct FlagOccurrence {
  std::string name;  // canonical name without dashes ("v" for -v/--v)
  std::string value;
};

// Splits argv (without argv[0]) into flag occurrences; checks names, forms and value syntax.
// Accepts --flag=value, --flag value, and --flag / --flag=false for booleans; -v N, -v=N, -h.
std::vector<FlagOccurrence> parseFlags(std::span<const std::string_view> args);

// Flags, then the --config file if any, then validation. Throws ConfigError with every
// validation error, one per line ("ipvs.syncPeriod: must be greater than 0").
Options resolveOptions(const std::vector<FlagOccurrence>& flags);

// parseFlags + resolveOptions on main's arguments.
Options loadOptions(int argc, const char* const* argv);

// Convenience for tests and main: parse `args` and resolve.
Options loadOptions(std::span<const std::string_view> args);

std::string usage();        // the --help text
std::string versionText();  // the --version text

// The agent's version; kube-proxy prints "Kubernetes vX.Y.Z" for --version.
inline constexpr std::string_view kAgentVersion = "0.1.0";

}  // namespace agent
