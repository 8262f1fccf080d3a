#include "agent/config_duration.h"

#include <cstdint>
#include <limits>

namespace agent {
namespace {

constexpr std::uint64_t kMaxMagnitude = std::uint64_t{1} << 63;  // |INT64_MIN|

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::optional<std::uint64_t> unitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;  // us, µs, μs
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return std::nullopt;
}

// Consumes leading digits into `value`; false on overflow past 2^63, as Go's leadingInt.
bool leadingInt(std::string_view& s, std::uint64_t& value) {
  std::size_t i = 0;
  for (; i < s.size() && isDigit(s[i]); ++i) {
    if (value > kMaxMagnitude / 10) return false;
    value = value * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (value > kMaxMagnitude) return false;
  }
  s.remove_prefix(i);
  return true;
}

// Consumes fraction digits; digits past int64 precision still count towards the scale only
// until they no longer fit, exactly like Go's leadingFraction.
void leadingFraction(std::string_view& s, std::uint64_t& value, double& scale) {
  std::size_t i = 0;
  bool overflow = false;
  for (; i < s.size() && isDigit(s[i]); ++i) {
    if (overflow) continue;
    if (value > (kMaxMagnitude - 1) / 10) {
      overflow = true;
      continue;
    }
    const std::uint64_t next = value * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (next > kMaxMagnitude - 1) {
      overflow = true;
      continue;
    }
    value = next;
    scale *= 10;
  }
  s.remove_prefix(i);
}

// One "<number><unit>" component; adds its nanoseconds to `total`.
bool parseComponent(std::string_view& s, std::uint64_t& total) {
  if (!(s.front() == '.' || isDigit(s.front()))) return false;
  std::uint64_t whole = 0;
  const std::size_t before = s.size();
  if (!leadingInt(s, whole)) return false;
  const bool hasWhole = s.size() != before;
  std::uint64_t frac = 0;
  double scale = 1;
  bool hasFrac = false;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    const std::size_t fracStart = s.size();
    leadingFraction(s, frac, scale);
    hasFrac = s.size() != fracStart;
  }
  if (!hasWhole && !hasFrac) return false;
  std::size_t unitLen = 0;
  while (unitLen < s.size() && s[unitLen] != '.' && !isDigit(s[unitLen])) ++unitLen;
  if (unitLen == 0) return false;
  const auto unit = unitNanos(s.substr(0, unitLen));
  s.remove_prefix(unitLen);
  if (!unit) return false;
  if (whole > kMaxMagnitude / *unit) return false;
  std::uint64_t v = whole * *unit;
  if (frac > 0) {
    v += static_cast<std::uint64_t>(static_cast<double>(frac) *
                                    (static_cast<double>(*unit) / scale));
    if (v > kMaxMagnitude) return false;
  }
  total += v;
  return total <= kMaxMagnitude;
}

// Writes the fraction of v / 10^prec with trailing zeros dropped (nothing if zero) in front of
// `out`, and returns v / 10^prec. Mirrors Go's fmtFrac.
std::uint64_t prependFraction(std::string& out, std::uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const auto digit = static_cast<char>('0' + v % 10);
    print = print || digit != '0';
    if (print) digits.insert(digits.begin(), digit);
    v /= 10;
  }
  if (print) out.insert(0, "." + digits);
  return v;
}

}  // namespace

std::optional<Duration> parseGoDuration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return std::nullopt;
  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!parseComponent(s, total)) return std::nullopt;
  }
  if (negative) {
    // -2^63 is representable; build it without overflowing the positive side.
    return Duration{total == kMaxMagnitude ? std::numeric_limits<std::int64_t>::min()
                                           : -static_cast<std::int64_t>(total)};
  }
  if (total > kMaxMagnitude - 1) return std::nullopt;
  return Duration{static_cast<std::int64_t>(total)};
}

std::string formatGoDuration(Duration d) {
  const std::int64_t n = d.count();
  if (n == 0) return "0s";
  const bool negative = n < 0;
  // Two's complement magnitude: correct for INT64_MIN too.
  std::uint64_t u = negative ? ~static_cast<std::uint64_t>(n) + 1 : static_cast<std::uint64_t>(n);
  std::string out;
  if (u < 1'000'000'000) {
    if (u < 1'000) {
      out = std::to_string(u) + "ns";
    } else if (u < 1'000'000) {
      out = "\xC2\xB5s";  // µs, as Go prints it
      u = prependFraction(out, u, 3);
      out.insert(0, std::to_string(u));
    } else {
      out = "ms";
      u = prependFraction(out, u, 6);
      out.insert(0, std::to_string(u));
    }
  } else {
    out = "s";
    u = prependFraction(out, u, 9);
    out.insert(0, std::to_string(u % 60));
    u /= 60;
    if (u > 0) {
      out.insert(0, std::to_string(u % 60) + "m");
      u /= 60;
      if (u > 0) out.insert(0, std::to_string(u) + "h");
    }
  }
  if (negative) out.insert(0, "-");
  return out;
}

}  // namespace agent
