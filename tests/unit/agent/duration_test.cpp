#include <catch2/catch.hpp>

#include "agent/config_duration.h"

using agent::Duration;
using agent::formatGoDuration;
using agent::parseGoDuration;
using namespace std::chrono_literals;

TEST_CASE("Go durations parse as time.ParseDuration does", "[duration]") {
  CHECK(parseGoDuration("0") == Duration{0});
  CHECK(parseGoDuration("30s") == Duration{30s});
  CHECK(parseGoDuration("1m30s") == Duration{90s});
  CHECK(parseGoDuration("15m0s") == Duration{15min});
  CHECK(parseGoDuration("500ms") == Duration{500ms});
  CHECK(parseGoDuration("2h22m") == Duration{2h + 22min});
  CHECK(parseGoDuration("1.5h") == Duration{90min});
  CHECK(parseGoDuration(".5s") == Duration{500ms});
  CHECK(parseGoDuration("1.s") == Duration{1s});
  CHECK(parseGoDuration("-1.5s") == Duration{-1500ms});
  CHECK(parseGoDuration("+3s") == Duration{3s});
  CHECK(parseGoDuration("100ns") == Duration{100});
  CHECK(parseGoDuration("3us") == Duration{3us});
  CHECK(parseGoDuration("3\xC2\xB5s") == Duration{3us});  // µs
  CHECK(parseGoDuration("3\xCE\xBCs") == Duration{3us});  // Greek mu
  CHECK(parseGoDuration("1h1m1s1ms1us1ns") == Duration{1h + 1min + 1s + 1ms + 1us + 1ns});
  CHECK(parseGoDuration("0.000000001s") == Duration{1});
  CHECK(parseGoDuration("9223372036854775807ns") == Duration{INT64_MAX});
  CHECK(parseGoDuration("-9223372036854775808ns") == Duration{INT64_MIN});
}

TEST_CASE("Go durations reject what time.ParseDuration rejects", "[duration]") {
  for (const char* bad : {"", "30", "s", "1x", "1.5", ".s", "-", "1s2", "1 s", " 1s", "1e3s",
                          "9223372036854775808ns", "3000000h", "--1s", "1ss"}) {
    INFO(bad);
    CHECK_FALSE(parseGoDuration(bad).has_value());
  }
}

TEST_CASE("Go durations print as Duration.String does", "[duration]") {
  CHECK(formatGoDuration(Duration{0}) == "0s");
  CHECK(formatGoDuration(30s) == "30s");
  CHECK(formatGoDuration(90s) == "1m30s");
  CHECK(formatGoDuration(15min) == "15m0s");
  CHECK(formatGoDuration(1h) == "1h0m0s");
  CHECK(formatGoDuration(24h) == "24h0m0s");
  CHECK(formatGoDuration(500ms) == "500ms");
  CHECK(formatGoDuration(1500ms) == "1.5s");
  CHECK(formatGoDuration(Duration{1500}) == "1.5\xC2\xB5s");
  CHECK(formatGoDuration(Duration{100}) == "100ns");
  CHECK(formatGoDuration(Duration{1'000'001}) == "1.000001ms");
  CHECK(formatGoDuration(-90s) == "-1m30s");
  CHECK(formatGoDuration(2h + 22min) == "2h22m0s");
  CHECK(formatGoDuration(Duration{INT64_MIN}) == "-2562047h47m16.854775808s");
}

TEST_CASE("Go durations round-trip", "[duration]") {
  for (auto d : {Duration{0}, Duration{1}, Duration{999}, Duration{1'234'567}, Duration{30s},
                 Duration{3723s + 5ms}, Duration{-7s}, Duration{INT64_MAX}}) {
    const auto text = formatGoDuration(d);
    INFO(text);
    CHECK(parseGoDuration(text) == d);
  }
}
