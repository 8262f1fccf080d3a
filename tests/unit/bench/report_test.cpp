#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "bench/sched/report_model.h"
#include "bench/sched/report_output.h"

using namespace bench::sched;

namespace {

const std::vector<std::string> kBackends{"b1", "b2", "b3", "b4"};

boost::json::object runJson(int b1, int b2, int b3, int b4) {
  return boost::json::parse(
             R"({"meta":{"kind":"run","scenario":"hetero","variant":"wrr"},"requests":)" +
             std::to_string(b1 + b2 + b3 + b4 + 2) + R"(,"ok":)" +
             std::to_string(b1 + b2 + b3 + b4) +
             R"(,"failed":2,"failures":{"connect":2},"rate_per_s":10,
                "backends":{"b1":{"requests":)" +
             std::to_string(b1) + R"(,"connections":1},"b2":{"requests":)" + std::to_string(b2) +
             R"(,"connections":1},"b3":{"requests":)" + std::to_string(b3) +
             R"(,"connections":2},"b4":{"requests":)" + std::to_string(b4) +
             R"(,"connections":4}},"latency_ms":{"count":8,"p50":12.5,"p99":40},
                "cdf_ms":[[1,0.5],[2,1]]})")
      .as_object();
}

}  // namespace

TEST_CASE("run figures: shares, and spread per unit of weight", "[bench][report]") {
  const auto f = runFigures(runJson(100, 100, 200, 400), kBackends, {1, 1, 2, 4});
  CHECK(f.scenario == "hetero");
  CHECK(f.variant == "wrr");
  CHECK(f.ok == 800);
  CHECK(f.failed == 2);
  CHECK(f.failures.at("connect") == 2);
  CHECK(f.backends.at("b4").share == Approx(0.5));
  CHECK(f.backends.at("b3").connections == 2);
  CHECK(f.cv == Approx(0));  // exactly proportional to the weights
  CHECK(f.maxOverMean == Approx(1));
  CHECK(f.latency.p50 == 12.5);
  CHECK(f.cdf.size() == 2);
  // The same split judged with equal weights is uneven: per-backend 100,100,200,400.
  const auto even = runFigures(runJson(100, 100, 200, 400), kBackends, {1, 1, 1, 1});
  CHECK(even.maxOverMean == Approx(2));
  CHECK(even.cv == Approx(std::sqrt(0.375)));
}

TEST_CASE("run figures: a backend without requests counts as zero", "[bench][report]") {
  auto j = runJson(10, 0, 0, 0);
  j["backends"].as_object().erase("b2");
  const auto f = runFigures(j, kBackends, {1, 1, 1, 1});
  CHECK(f.backends.at("b2").requests == 0);
  CHECK(f.maxOverMean == Approx(4));
}

TEST_CASE("held connections: survivors on the drained backend", "[bench][report]") {
  const std::string log =
      "sched_loadgen: noise on stderr\n"
      R"({"round":0,"conns":[{"first":"b2","backend":"b2","failure":""},)"
      R"({"first":"b1","backend":"b1","failure":""},{"first":"b2","backend":"b2","failure":""},)"
      R"({"first":"","backend":"","failure":"connect"}]})"
      "\n"
      R"({"round":1,"conns":[{"first":"b2","backend":"b2","failure":""},)"
      R"({"first":"b1","backend":"b1","failure":""},{"first":"b2","backend":"","failure":"reset"},)"
      R"({"first":"","backend":"","failure":"closed"}]})"
      "\n";
  const HoldFigures h = holdFigures(log, "b2");
  CHECK(h.held == 3);
  CHECK(h.onDrained == 2);
  CHECK(h.survived == 1);
  CHECK(h.othersOk == 1);
  CHECK(h.othersFailed == 0);
}

TEST_CASE("churn remaps compare the right phases", "[bench][report]") {
  ChurnFigures c;
  c.phases["before"].flows = {{"f1", "b1"}, {"f2", "b2"}, {"f3", "b3"}, {"f4", "b4"}};
  c.phases["repeat"].flows = c.phases["before"].flows;
  c.phases["removed"].flows = {{"f1", "b1"}, {"f2", "b3"}, {"f3", "b3"}, {"f4", "b4"}};
  c.phases["restored"].flows = {{"f1", "b1"}, {"f2", "b2"}, {"f3", "b3"}, {"f4", "b1"}};
  computeRemaps(c, "b2");
  CHECK(c.remaps.at("control").fraction() == 0);
  CHECK(c.remaps.at("removal").fraction() == Approx(0.25));
  CHECK(c.remaps.at("removal").othersFraction() == 0);
  CHECK(c.remaps.at("readd").moved == 2);  // f2 back to b2, f4 to b1
  CHECK(c.remaps.at("restored").moved == 1);
  CHECK(c.remaps.count("drain") == 0);  // no drained phase recorded
}

TEST_CASE("the markdown names the programming path and every scheduler", "[bench][report]") {
  Results r;
  r.env = {{"program", "agent"},
           {"scenario.hetero", "capacities 1/1/2/4"},
           {"weights.hetero", "1,1,2,4"}};
  r.backends = kBackends;
  r.variants = {"wrr", "mh-port"};
  r.scenarios = {"hetero"};
  r.runs["hetero"]["wrr"] = runFigures(runJson(100, 100, 200, 400), kBackends, r.weights("hetero"));
  std::ostringstream md;
  writeMarkdown(r, md);
  CHECK_THAT(md.str(), Catch::Contains("the real agent (`ipvs-agent --source=DIR`"));
  CHECK_THAT(md.str(), Catch::Contains("| wrr | 12.5% | 12.5% | 25.0% | 50.0% | 0.00 | 1.00 |"));
  CHECK_THAT(md.str(), Catch::Contains("## Scenario `hetero`"));
  CHECK(variantLabel("mh-port") == "mh + mh-port");
  const auto j = resultsJson(r);
  CHECK(j.at("scenarios").at("hetero").at("schedulers").at("wrr").at("ok").to_number<double>() ==
        800);
}
