#include "bench/sched/service_time.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

namespace bench::sched {
namespace {

constexpr double kExpCap = 20;  // exponential samples are capped at kExpCap x mean

bool parseMs(std::string_view s, double& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out >= 0 && std::isfinite(out);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

}  // namespace

double ServiceTime::meanMs() const {
  switch (kind) {
    case Kind::kFixed:
      return a * factor;
    case Kind::kUniform:
      return (a + b) / 2 * factor;
    case Kind::kExponential:
      // Mean of an exponential truncated (clamped) at c = kExpCap x mean: mean x (1 - e^-kExpCap).
      return a * (1 - std::exp(-kExpCap)) * factor;
  }
  return 0;
}

std::string ServiceTime::describe() const {
  std::ostringstream out;
  switch (kind) {
    case Kind::kFixed:
      out << "fixed " << a << " ms";
      break;
    case Kind::kUniform:
      out << "uniform " << a << "-" << b << " ms";
      break;
    case Kind::kExponential:
      out << "exp(mean " << a << " ms)";
      break;
  }
  if (factor != 1) out << " x" << factor;
  return out.str();
}

std::optional<ServiceTime> parseServiceTime(std::string_view spec, std::string& error) {
  const auto parts = split(spec, ':');
  ServiceTime st;
  bool ok = false;
  if (parts[0] == "fixed" && parts.size() == 2) {
    st.kind = ServiceTime::Kind::kFixed;
    ok = parseMs(parts[1], st.a);
  } else if (parts[0] == "uniform" && parts.size() == 3) {
    st.kind = ServiceTime::Kind::kUniform;
    ok = parseMs(parts[1], st.a) && parseMs(parts[2], st.b) && st.a <= st.b;
  } else if (parts[0] == "exp" && parts.size() == 2) {
    st.kind = ServiceTime::Kind::kExponential;
    ok = parseMs(parts[1], st.a);
  }
  if (!ok) {
    error = "bad service time \"" + std::string(spec) +
            "\" (want fixed:MS, uniform:LO:HI or exp:MEAN, in milliseconds)";
    return std::nullopt;
  }
  return st;
}

std::chrono::microseconds ServiceTimeSampler::next() {
  double ms = 0;
  switch (spec_.kind) {
    case ServiceTime::Kind::kFixed:
      ms = spec_.a;
      break;
    case ServiceTime::Kind::kUniform:
      ms = std::uniform_real_distribution<double>(spec_.a, spec_.b)(rng_);
      break;
    case ServiceTime::Kind::kExponential:
      if (spec_.a > 0) {
        ms =
            std::min(std::exponential_distribution<double>(1.0 / spec_.a)(rng_), kExpCap * spec_.a);
      }
      break;
  }
  return std::chrono::microseconds(
      static_cast<std::int64_t>(std::llround(ms * spec_.factor * 1000)));
}

}  // namespace bench::sched
