#pragma once
// Service time distributions of the benchmark backend (pure apart from its seeded generator):
//   fixed:MS          every request takes MS milliseconds
//   uniform:LO:HI     uniform in [LO, HI] ms
//   exp:MEAN          exponential with mean MEAN ms, capped at 20 x MEAN so that one sample
//                     cannot stall a short run
// A slow factor multiplies every sample ("one slow backend"). Times are fractional ms.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace bench::sched {

struct ServiceTime {
  enum class Kind { kFixed, kUniform, kExponential };
  Kind kind = Kind::kFixed;
  double a = 0;  // fixed: the time; uniform: low; exp: mean (ms)
  double b = 0;  // uniform: high
  double factor = 1;

  double meanMs() const;
  std::string describe() const;  // e.g. "exp(mean 10 ms) x5"
};

// Parses "fixed:10", "uniform:5:15", "exp:10"; nullopt with `error` set otherwise.
std::optional<ServiceTime> parseServiceTime(std::string_view spec, std::string& error);

class ServiceTimeSampler {
 public:
  ServiceTimeSampler(ServiceTime spec, std::uint64_t seed) : spec_(spec), rng_(seed) {}
  std::chrono::microseconds next();

 private:
  ServiceTime spec_;
  std::mt19937_64 rng_;
};

}  // namespace bench::sched
