#pragma once
// Structured logging: one `key=value` line per event on stderr (logfmt, as klog's text format and
// Go's slog write it), with klog-style verbosity levels.
//
//   time=2024-05-01T10:20:30.123Z level=info msg="sync done" component=reconciler services=3
//
// Threading: a Logger is a cheap handle (shared core + component name); copies may be used from
// any thread, lines never interleave. Ownership: the core lives as long as any handle; the
// clock, which stamps each line with its wall time, must outlive them all.
// Errors: logging never throws past a sink failure it can swallow. Metrics: every warn and error
// line calls the error hook (wired to ipvs_agent_log_errors_total{component,level}).
// Secrets: values under keys that look secret (token, password, secret, authorization) are
// replaced, bearer tokens and URL credentials are masked everywhere, and addSecret() masks a known
// value (the kubeconfig token) wherever it appears.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "agent/config_duration.h"
#include "ipvs/clock.h"

namespace agent {

// Warn and error lines, counted through the error hook (logErrorHook() in agent/metrics.h).
inline constexpr char kMetricLogErrors[] = "ipvs_agent_log_errors_total";

enum class LogLevel : std::uint8_t { kError, kWarn, kInfo };
std::string_view logLevelName(LogLevel level);  // "error", "warn", "info"

// One key=value pair; the value is formatted when the field is built.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value) : key_(key), value_(value) {}
  LogField(std::string_view key, const char* value) : key_(key), value_(value ? value : "") {}
  LogField(std::string_view key, const std::string& value) : key_(key), value_(value) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value ? "true" : "false") {}
  template <std::integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), value_(std::to_string(value)) {}
  LogField(std::string_view key, double value);
  LogField(std::string_view key, const std::error_code& ec) : key_(key), value_(ec.message()) {}
  LogField(std::string_view key, Duration d) : key_(key), value_(formatGoDuration(d)) {}

  std::string_view key() const { return key_; }
  const std::string& value() const { return value_; }

 private:
  std::string_view key_;  // keys are literals at the call site
  std::string value_;
};
using LogFields = std::initializer_list<LogField>;

class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;  // gets one line ending in '\n'
  using ErrorHook = std::function<void(std::string_view component, LogLevel level)>;

  struct Options {
    int verbosity = 0;
    Sink sink;                           // default: stderr
    const ipvs::Clock* clock = nullptr;  // null: ipvs::steadyClock()
  };

  Logger();
  explicit Logger(Options options);

  // A handle that tags its lines with component=NAME (and counts its errors under NAME).
  Logger withComponent(std::string component) const;
  const std::string& component() const { return component_; }

  void setVerbosity(int verbosity);
  int verbosity() const;
  bool enabled(int level) const { return level <= verbosity(); }  // klog V(level).Enabled()
  void setErrorHook(ErrorHook hook);
  // Masks `secret` in every later line; ignored if shorter than 4 characters. Keeps the 16 most
  // recent values (a rotating token adds one per rotation).
  void addSecret(std::string secret);

  void info(std::string_view msg, LogFields fields = {}) const {
    write(LogLevel::kInfo, msg, fields);
  }
  // klog V(level).InfoS: written only when -v >= level.
  void v(int level, std::string_view msg, LogFields fields = {}) const {
    if (enabled(level)) write(LogLevel::kInfo, msg, fields);
  }
  void warn(std::string_view msg, LogFields fields = {}) const {
    write(LogLevel::kWarn, msg, fields);
  }
  void error(std::string_view msg, LogFields fields = {}) const {
    write(LogLevel::kError, msg, fields);
  }

 private:
  struct Core;
  Logger(std::shared_ptr<Core> core, std::string component);
  void write(LogLevel level, std::string_view msg, LogFields fields) const;

  std::shared_ptr<Core> core_;
  std::string component_;
};

// Masks "Bearer <token>" (any case) and "scheme://user:password@" credentials.
std::string redactSecrets(std::string_view text);

// logfmt value: bare when safe, else double-quoted with \" \\ \n \r \t and \xNN escapes.
std::string logfmtValue(std::string_view value);

// RFC 3339 UTC with milliseconds: 2024-05-01T10:20:30.123Z.
std::string formatLogTime(ipvs::Clock::WallTime t);

}  // namespace agent
