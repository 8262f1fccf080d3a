#include "bench/sched/stats.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace bench::sched;

TEST_CASE("percentile is nearest-rank on sorted samples", "[bench][stats]") {
  const std::vector<double> ten{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(percentile(ten, 0) == 1);
  CHECK(percentile(ten, 10) == 1);
  CHECK(percentile(ten, 11) == 2);
  CHECK(percentile(ten, 50) == 5);
  CHECK(percentile(ten, 51) == 6);
  CHECK(percentile(ten, 90) == 9);
  CHECK(percentile(ten, 99) == 10);
  CHECK(percentile(ten, 100) == 10);
  CHECK(percentile(ten, 150) == 10);  // clamped
  CHECK(percentile(std::vector<double>{}, 50) == 0);
  CHECK(percentile(std::vector<double>{7}, 99.9) == 7);
}

TEST_CASE("p99.9 of 1000 samples is the 999th, not the maximum", "[bench][stats]") {
  std::vector<double> samples;
  for (int i = 1000; i >= 1; --i) samples.push_back(i);  // unsorted on purpose
  const LatencySummary s = summarize(samples);
  CHECK(s.count == 1000);
  CHECK(s.min == 1);
  CHECK(s.max == 1000);
  CHECK(s.p50 == 500);
  CHECK(s.p90 == 900);
  CHECK(s.p99 == 990);
  CHECK(s.p999 == 999);
  CHECK(s.mean == Approx(500.5));
  CHECK(samples.front() == 1);  // sorted in place
}

TEST_CASE("summary of no samples is all zero", "[bench][stats]") {
  std::vector<double> none;
  const LatencySummary s = summarize(none);
  CHECK(s.count == 0);
  CHECK(s.p99 == 0);
  CHECK(s.mean == 0);
}

TEST_CASE("cdf points are evenly spaced in rank and end at the maximum", "[bench][stats]") {
  const std::vector<double> v{10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  const auto five = cdfPoints(v, 5);
  REQUIRE(five.size() == 5);
  CHECK(five[0] == std::pair<double, double>{20, 0.2});
  CHECK(five[2] == std::pair<double, double>{60, 0.6});
  CHECK(five[4] == std::pair<double, double>{100, 1.0});
  const auto all = cdfPoints(v, 50);  // more points than samples: one per sample
  REQUIRE(all.size() == 10);
  CHECK(all.front() == std::pair<double, double>{10, 0.1});
  const auto three = cdfPoints(v, 3);  // ranks 4, 7, 10
  REQUIRE(three.size() == 3);
  CHECK(three[0].first == 40);
  CHECK(three[1].first == 70);
  CHECK(three[2] == std::pair<double, double>{100, 1.0});
  CHECK(cdfPoints(std::vector<double>{}, 10).empty());
}

TEST_CASE("coefficient of variation and max/mean of backend counts", "[bench][stats]") {
  const std::vector<double> even{100, 100, 100};
  CHECK(coefficientOfVariation(even) == 0);
  CHECK(maxOverMean(even) == 1);
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population standard deviation 2.
  const std::vector<double> textbook{2, 4, 4, 4, 5, 5, 7, 9};
  CHECK(coefficientOfVariation(textbook) == Approx(0.4));
  CHECK(maxOverMean(textbook) == Approx(1.8));
  // Everything on one of four backends.
  const std::vector<double> one{0, 400, 0, 0};
  CHECK(maxOverMean(one) == 4);
  CHECK(coefficientOfVariation(one) == Approx(std::sqrt(3.0)));
  CHECK(coefficientOfVariation(std::vector<double>{}) == 0);
  CHECK(coefficientOfVariation(std::vector<double>{0, 0}) == 0);
  CHECK(maxOverMean(std::vector<double>{0, 0}) == 0);
}

TEST_CASE("counts per unit of weight make a weighted split even", "[bench][stats]") {
  const std::vector<double> counts{100, 100, 200, 400};
  const std::vector<double> weights{1, 1, 2, 4};
  const auto per = perUnitWeight(counts, weights);
  CHECK(per == std::vector<double>{100, 100, 100, 100});
  CHECK(coefficientOfVariation(per) == 0);
  CHECK(perUnitWeight(std::vector<double>{5, 5}, std::vector<double>{0, 1}) ==
        std::vector<double>{0, 5});
}

TEST_CASE("remap counts moved flows, split by the removed backend", "[bench][stats]") {
  const FlowMap before{{"a", "b1"}, {"b", "b2"}, {"c", "b3"}, {"d", "b4"},
                       {"e", "b2"}, {"f", "b1"}, {"g", ""},   {"h", "b3"}};
  // b2 removed: its flows a..h move to others; c moved although b3 stayed (not consistent).
  const FlowMap after{{"a", "b1"}, {"b", "b1"}, {"c", "b4"}, {"d", "b4"},
                      {"e", ""},   {"f", "b1"}, {"g", "b1"}, {"i", "b1"}};
  const Remap r = remap(before, after, "b2");
  CHECK(r.compared == 5);     // a b c d f (e failed after, g failed before, h missing)
  CHECK(r.moved == 2);        // b, c
  CHECK(r.fromRemoved == 1);  // b (e failed after, so it is not compared)
  CHECK(r.movedOthers == 1);  // c
  CHECK(r.failedBefore == 1);
  CHECK(r.failedAfter == 1);
  CHECK(r.missing == 2);  // h only before, i only after
  CHECK(r.fraction() == Approx(0.4));
  CHECK(r.othersFraction() == Approx(0.25));
}

TEST_CASE("remap of identical runs is zero, of a full reshuffle one", "[bench][stats]") {
  const FlowMap a{{"x", "b1"}, {"y", "b2"}, {"z", "b3"}};
  const Remap same = remap(a, a);
  CHECK(same.compared == 3);
  CHECK(same.moved == 0);
  CHECK(same.fraction() == 0);
  const FlowMap rotated{{"x", "b2"}, {"y", "b3"}, {"z", "b1"}};
  const Remap all = remap(a, rotated);
  CHECK(all.fraction() == 1);
  CHECK(all.othersFraction() == 1);
  CHECK(remap(FlowMap{}, FlowMap{}).fraction() == 0);
}
