#include "bench/sched/service_time.h"

#include <catch2/catch.hpp>
#include <string>

using namespace bench::sched;

TEST_CASE("service time specs parse", "[bench][service]") {
  std::string err;
  auto f = parseServiceTime("fixed:10", err);
  REQUIRE(f);
  CHECK(f->kind == ServiceTime::Kind::kFixed);
  CHECK(f->meanMs() == 10);
  auto u = parseServiceTime("uniform:5:15", err);
  REQUIRE(u);
  CHECK(u->meanMs() == 10);
  u->factor = 4;
  CHECK(u->meanMs() == 40);
  CHECK(u->describe() == "uniform 5-15 ms x4");
  auto e = parseServiceTime("exp:2.5", err);
  REQUIRE(e);
  CHECK(e->meanMs() == Approx(2.5));
  for (const char* bad :
       {"", "fixed", "fixed:-1", "uniform:5", "uniform:9:3", "exp:x", "gauss:1"}) {
    err.clear();
    CHECK_FALSE(parseServiceTime(bad, err));
    CHECK_THAT(err, Catch::Contains("bad service time"));
  }
}

TEST_CASE("samplers stay in their range and scale with the slow factor", "[bench][service]") {
  std::string err;
  auto u = *parseServiceTime("uniform:5:15", err);
  ServiceTimeSampler su(u, 42);
  for (int i = 0; i < 1000; ++i) {
    const auto us = su.next().count();
    REQUIRE(us >= 5000);
    REQUIRE(us <= 15000);
  }
  auto f = *parseServiceTime("fixed:2", err);
  f.factor = 3;
  CHECK(ServiceTimeSampler(f, 1).next().count() == 6000);
}

TEST_CASE("exponential samples have the mean asked for, capped", "[bench][service]") {
  std::string err;
  auto e = *parseServiceTime("exp:10", err);
  ServiceTimeSampler s(e, 7);
  double sum = 0;
  long long max = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    const auto us = s.next().count();
    sum += static_cast<double>(us);
    max = std::max(max, static_cast<long long>(us));
  }
  // Fixed seed, so this is deterministic; the standard error of the mean is about 0.7 %.
  CHECK(sum / kN / 1000 == Approx(10).epsilon(0.03));
  CHECK(max <= 200000);  // 20 x mean
}
