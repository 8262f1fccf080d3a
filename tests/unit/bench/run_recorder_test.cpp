#include "bench/sched/run_recorder.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace bench::sched;

TEST_CASE("the recorder counts requests and connections per backend", "[bench][recorder]") {
  RunRecorder rec;
  // Two keep-alive connections (b1: 3 requests, b2: 2) and one new connection to b1.
  rec.requestOk("b1", 1.0, true);
  rec.requestOk("b1", 2.0, false, "b1");
  rec.requestOk("b2", 3.0, true);
  rec.requestOk("b1", 4.0, false, "b1");
  rec.requestOk("b2", 5.0, false, "b2");
  rec.requestOk("b1", 6.0, true);
  rec.requestFailed(Failure::kConnect);
  rec.requestFailed(Failure::kTimeout);
  rec.requestFailed(Failure::kConnect);
  CHECK(rec.ok() == 6);
  CHECK(rec.failed() == 3);
  CHECK(rec.done() == 9);
  CHECK(rec.failures(Failure::kConnect) == 2);
  CHECK(rec.failures(Failure::kReset) == 0);
  REQUIRE(rec.backends().size() == 2);
  CHECK(rec.backends().at("b1").requests == 4);
  CHECK(rec.backends().at("b1").connections == 2);
  CHECK(rec.backends().at("b2").requests == 2);
  CHECK(rec.backends().at("b2").connections == 1);
  CHECK(rec.backendChanged() == 0);
  const auto lat = rec.latency();
  CHECK(lat.count == 6);
  CHECK(lat.p50 == 3.0);
  CHECK(lat.max == 6.0);
}

TEST_CASE("a keep-alive response from another backend is an anomaly", "[bench][recorder]") {
  RunRecorder rec;
  rec.requestOk("b1", 1, true);
  rec.requestOk("b2", 1, false, "b1");
  CHECK(rec.backendChanged() == 1);
}

TEST_CASE("the JSON holds every figure", "[bench][recorder]") {
  RunRecorder rec;
  for (int i = 1; i <= 10; ++i) rec.requestOk(i % 2 ? "b1" : "b2", i, true);
  rec.requestFailed(Failure::kReset);
  rec.flow("10.250.0.1:20000", "b1");
  rec.flow("10.250.0.2:20000", "");
  const auto j = rec.toJson({{"scenario", "uniform"}, {"variant", "rr"}}, 2.0, 4);
  CHECK(j.at("meta").at("variant").as_string() == "rr");
  CHECK(j.at("requests").to_number<int>() == 11);
  CHECK(j.at("ok").to_number<int>() == 10);
  CHECK(j.at("failed").to_number<int>() == 1);
  CHECK(j.at("rate_per_s").to_number<double>() == Approx(5.5));
  CHECK(j.at("failures").at("reset").to_number<int>() == 1);
  CHECK(j.at("failures").at("connect").to_number<int>() == 0);
  CHECK(j.at("backends").at("b1").at("requests").to_number<int>() == 5);
  CHECK(j.at("backends").at("b2").at("connections").to_number<int>() == 5);
  CHECK(j.at("latency_ms").at("p50").to_number<double>() == 5);
  CHECK(j.at("latency_ms").at("p99").to_number<double>() == 10);
  const auto& cdf = j.at("cdf_ms").as_array();
  REQUIRE(cdf.size() == 4);
  CHECK(cdf.back().as_array()[1].to_number<double>() == 1.0);
  CHECK(j.at("flows").at("10.250.0.2:20000").as_string() == "");
}
