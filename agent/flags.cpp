#include "agent/flags.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "agent/config_file.h"
#include "agent/config_notices.h"
#include "agent/flags_table.h"

namespace agent {
namespace {

std::optional<bool> parseBool(std::string_view v) {  // Go's strconv.ParseBool
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False")
    return false;
  return std::nullopt;
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Empty when `value` is valid for `kind`, else the reason.
std::string checkValue(const FlagSpec& spec, const std::string& value) {
  switch (spec.kind) {
    case FlagKind::kBool:
      return parseBool(value) ? "" : "must be true or false";
    case FlagKind::kDuration:
      return parseGoDuration(value) ? "" : "must be a duration such as 500ms, 30s, 1m30s";
    case FlagKind::kInt32:
      return parseInt32(value) ? "" : "must be a 32-bit integer";
    case FlagKind::kFloat: {
      double d = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), d);
      return r.ec == std::errc{} && r.ptr == value.data() + value.size() && std::isfinite(d)
                 ? ""
                 : "must be a number";
    }
    case FlagKind::kBoolMap:
      for (const auto& item : splitList(value)) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0 || !parseBool(item.substr(eq + 1))) {
          return "must be a comma-separated list of Name=true|false";
        }
      }
      return "";
    case FlagKind::kIp:
      return ipvs::IpAddress::parse(value) ? "" : "must be an IP address";
    case FlagKind::kHostPort:
      return value.empty() || ipvs::IpAddress::parse(value) || parseBindAddress(value)
                 ? ""
                 : "must be IP or IP:port";
    case FlagKind::kString:
    case FlagKind::kStringList:
      break;
  }
  if (spec.name == "proxy-mode") return checkProxyMode(value);
  return "";
}

void addOccurrence(std::vector<FlagOccurrence>& out, const FlagSpec& spec, std::string value) {
  const std::string problem = checkValue(spec, value);
  if (!problem.empty()) {
    throw ConfigError("invalid argument " + quote(value) + " for --" + std::string(spec.name) +
                      ": " + problem);
  }
  out.push_back({std::string(spec.name), std::move(value)});
}

void applyAll(Resolution& res, const std::vector<FlagOccurrence>& flags, bool fromFile) {
  std::set<std::string> seen;
  for (const auto& f : flags) {
    const FlagSpec& spec = *findFlag(f.name);
    const bool first = seen.insert(f.name).second;
    switch (spec.scope) {
      case FlagScope::kOption:
        break;  // applied before the file was read
      case FlagScope::kIgnored:
        if (first) res.opts.warnings.push_back("flag --" + f.name + " is accepted and ignored");
        break;
      case FlagScope::kConfig:
        if (fromFile) {
          if (first) {
            res.opts.warnings.push_back("flag --" + f.name +
                                        " is ignored: the --config file wins, as in kube-proxy");
          }
          break;
        }
        spec.apply(res, f.value, first);
        break;
      case FlagScope::kOverFile:
        spec.apply(res, f.value, first);
        break;
    }
  }
}

// kube-proxy's addressFromDeprecatedFlags: port 0 disables the server; otherwise the port is
// appended only when the address has none.
void applyDeprecatedPort(std::string& address, std::optional<std::int32_t> port) {
  if (!port) return;
  if (*port == 0) {
    address.clear();
  } else if (!address.empty() && !parseBindAddress(address)) {
    const bool v6 = address.find(':') != std::string::npos;
    address = (v6 ? "[" + address + "]" : address) + ":" + std::to_string(*port);
  }
}

void applyHostnameOverride(Resolution& res) {
  if (!res.hostnameOverride || res.hostnameOverride->empty()) return;
  std::string name = *res.hostnameOverride;
  const auto notSpace = [](unsigned char c) { return !std::isspace(c); };
  name.erase(name.begin(), std::find_if(name.begin(), name.end(), notSpace));
  name.erase(std::find_if(name.rbegin(), name.rend(), notSpace).base(), name.end());
  if (name.empty()) throw ConfigError("--hostname-override: empty hostname-override is invalid");
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  res.opts.config.hostnameOverride = name;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

}  // namespace

std::vector<FlagOccurrence> parseFlags(std::span<const std::string_view> args) {
  std::vector<FlagOccurrence> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.empty()) continue;  // as kube-proxy, which skips empty arguments
    if (arg.size() < 2 || arg.front() != '-' || arg == "--") {
      if (arg == "--") {
        if (i + 1 < args.size())
          arg = args[i + 1];
        else
          break;
      }
      throw ConfigError("ipvs-agent does not take positional arguments, got " + quote(arg) +
                        " (run with --help for the flags)");
    }
    const bool longForm = arg.starts_with("--");
    std::string_view body = arg.substr(longForm ? 2 : 1);
    std::optional<std::string> value;
    if (const auto eq = body.find('='); eq != std::string_view::npos) {
      value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    } else if (!longForm && body.size() > 1 && body.front() == 'v') {
      value = std::string(body.substr(1));  // -v4, as pflag's shorthand
      body = "v";
    }
    if (!longForm && body != "v" && body != "h") {
      throw ConfigError("unknown shorthand flag " + quote(arg) +
                        " (long flags take two dashes, e.g. --" + std::string(body) + ")");
    }
    const FlagSpec* spec = findFlag(body == "h" ? "help" : body);
    if (!spec) {
      throw ConfigError("unknown flag: --" + std::string(body) +
                        " (run with --help for the flags)");
    }
    if (!value) {
      if (spec->kind == FlagKind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = std::string(args[++i]);
      } else {
        throw ConfigError("flag needs an argument: --" + std::string(spec->name));
      }
    }
    addOccurrence(out, *spec, std::move(*value));
  }
  return out;
}

Options resolveOptions(const std::vector<FlagOccurrence>& flags) {
  Resolution res;
  for (const auto& f : flags) {
    const FlagSpec& spec = *findFlag(f.name);
    if (spec.scope == FlagScope::kOption) spec.apply(res, f.value, true);
  }
  Options& opts = res.opts;
  if (opts.help || opts.version) return std::move(res.opts);  // no file, no validation
  const bool fromFile = !opts.configFile.empty();
  if (fromFile) opts.config = loadConfigFile(opts.configFile, opts.warnings);
  applyAll(res, flags, fromFile);
  if (!fromFile && opts.writeConfigTo.empty()) {
    applyDeprecatedPort(opts.config.healthzBindAddress, res.healthzPort);
    applyDeprecatedPort(opts.config.metricsBindAddress, res.metricsPort);
  }
  applyHostnameOverride(res);
  const ConfigDiagnostics diag = validateConfig(opts.config);
  if (!diag.errors.empty()) {
    throw ConfigError("invalid configuration" +
                      (fromFile ? " (from " + opts.configFile + ")" : std::string()) + ":" +
                      joinLines(diag.errors));
  }
  opts.warnings.insert(opts.warnings.end(), diag.warnings.begin(), diag.warnings.end());
  ConfigNotices notices = unusedSettings(opts.config);
  opts.warnings.insert(opts.warnings.end(), notices.warnings.begin(), notices.warnings.end());
  opts.notices = std::move(notices.infos);
  return std::move(res.opts);
}

Options loadOptions(std::span<const std::string_view> args) {
  return resolveOptions(parseFlags(args));
}

Options loadOptions(int argc, const char* const* argv) {
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return loadOptions(args);
}

}  // namespace agent
