#pragma once
// Go `time.Duration` text, as kube-proxy reads and writes it ("30s", "1m30s", "15m0s", "500ms").
// KubeProxyConfiguration files and the --ipvs-*-period flags use this syntax, so the agent must
// accept exactly what Go's time.ParseDuration accepts and print what Duration.String prints, or a
// file written by --write-config-to would not load in kube-proxy (and the reverse).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace agent {

using Duration = std::chrono::nanoseconds;

// Go's time.ParseDuration: an optional sign and a sequence of decimal numbers, each with an
// optional fraction and a unit (ns, us, µs, μs, ms, s, m, h); "0" alone is allowed.
// nullopt on any syntax error or on overflow of int64 nanoseconds.
std::optional<Duration> parseGoDuration(std::string_view text);

// Go's Duration.String: "0s", "1.5s", "1m30s", "1h0m0s", "500ms", "1.5µs", "100ns".
std::string formatGoDuration(Duration d);

}  // namespace agent
