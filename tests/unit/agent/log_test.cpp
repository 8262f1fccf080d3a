#include "agent/log.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/api_secrets.h"
#include "k8swatch/kubeconfig.h"

using namespace agent;
using namespace std::chrono_literals;

namespace {

struct Capture {
  ipvs::ManualClock clock;
  std::vector<std::string> lines;
  Logger logger(int verbosity = 0) {
    Logger::Options o;
    o.verbosity = verbosity;
    o.sink = [this](std::string_view line) { lines.emplace_back(line); };
    clock.setWall(ipvs::Clock::WallTime(1714558830123ms));
    o.clock = &clock;
    return Logger(o);
  }
};

}  // namespace

TEST_CASE("Lines are logfmt with time, level, msg, component and fields", "[log]") {
  Capture cap;
  Logger log = cap.logger().withComponent("reconciler");
  log.info("sync done", {{"services", 3},
                         {"took", 1500ms},
                         {"ok", true},
                         {"ratio", 0.5},
                         {"svc", "default/web"},
                         {"note", "two words"},
                         {"empty", ""},
                         {"q", "a=\"b\"\n"}});
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0] ==
        "time=2024-05-01T10:20:30.123Z level=info msg=\"sync done\" component=reconciler "
        "services=3 took=1.5s ok=true ratio=0.5 svc=default/web note=\"two words\" empty=\"\" "
        "q=\"a=\\\"b\\\"\\n\"\n");
}

TEST_CASE("Verbosity gates V(n) lines like klog", "[log]") {
  Capture cap;
  Logger log = cap.logger(2);
  log.v(2, "shown");
  log.v(3, "hidden");
  CHECK(log.enabled(2));
  CHECK_FALSE(log.enabled(3));
  log.setVerbosity(3);
  log.v(3, "now shown");
  log.warn("always");
  log.error("always", {{"err", std::make_error_code(std::errc::address_in_use)}});
  REQUIRE(cap.lines.size() == 4);
  CHECK(cap.lines[0].find("msg=shown") != std::string::npos);
  CHECK(cap.lines[1].find("msg=\"now shown\"") != std::string::npos);
  CHECK(cap.lines[2].find("level=warn msg=always") != std::string::npos);
  CHECK(cap.lines[3].find("level=error msg=always err=\"Address already in use\"") !=
        std::string::npos);
}

TEST_CASE("Secrets never reach the log", "[log]") {
  CHECK(redactSecrets("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer <redacted>");
  CHECK(redactSecrets("bearer   xyz, next") == "bearer   <redacted>, next");
  CHECK(redactSecrets("https://user:pw@10.0.0.1:6443/api") ==
        "https://<redacted>@10.0.0.1:6443/api");
  CHECK(redactSecrets("https://10.0.0.1:6443/api?x=@") == "https://10.0.0.1:6443/api?x=@");
  CHECK(redactSecrets("nothing here") == "nothing here");

  Capture cap;
  Logger log = cap.logger();
  log.addSecret("s3cr3t-token-value");
  log.info("request failed with header Bearer eyJhbGciOi", {{"token", "plain-token"},
                                                            {"body", "echo s3cr3t-token-value"},
                                                            {"Authorization", "Basic dXNlcg=="}});
  REQUIRE(cap.lines.size() == 1);
  const std::string& line = cap.lines[0];
  CHECK(line.find("eyJhbGciOi") == std::string::npos);
  CHECK(line.find("plain-token") == std::string::npos);
  CHECK(line.find("s3cr3t-token-value") == std::string::npos);
  CHECK(line.find("dXNlcg") == std::string::npos);
  CHECK(line.find("token=<redacted>") != std::string::npos);
  CHECK(line.find("body=\"echo <redacted>\"") != std::string::npos);
}

TEST_CASE("API bearer tokens are masked once the client has loaded them", "[log]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("agent-log-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto writeToken = [&](const std::string& text) { std::ofstream(dir / "token") << text; };
  Capture cap;
  Logger log = cap.logger().withComponent("watch");

  k8swatch::ClusterConfig fixed;
  fixed.token = "static-token-1234";
  k8swatch::TokenSource fixedTokens(withMaskedTokens(fixed, log));
  k8swatch::ClusterConfig rotating;
  rotating.tokenFile = (dir / "token").string();
  writeToken("file-token-one\n");
  k8swatch::TokenSource fileTokens(withMaskedTokens(rotating, log));
  CHECK(fileTokens.current() == "file-token-one");
  writeToken("file-token-number-two\n");
  CHECK(fileTokens.current() == "file-token-number-two");

  log.error("echo static-token-1234", {{"body", "file-token-one and file-token-number-two"}});
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0].find("token-") == std::string::npos);
  CHECK(cap.lines[0].find("msg=\"echo <redacted>\"") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("addSecret keeps the newest values and ignores repeats", "[log]") {
  Capture cap;
  Logger log = cap.logger();
  for (int i = 0; i < 20; ++i) {
    log.addSecret("secret-" + std::to_string(100 + i));
    log.addSecret("secret-" + std::to_string(100 + i));  // a repeat takes no slot
  }
  log.info("all", {{"v", "secret-100 secret-103 secret-104 secret-119"}});
  REQUIRE(cap.lines.size() == 1);
  // 16 values are kept: the 4 oldest (100..103) aged out, 104..119 are still masked.
  CHECK(cap.lines[0].find("secret-100") != std::string::npos);
  CHECK(cap.lines[0].find("secret-103") != std::string::npos);
  CHECK(cap.lines[0].find("secret-104") == std::string::npos);
  CHECK(cap.lines[0].find("secret-119") == std::string::npos);
}

TEST_CASE("Concurrent lines never interleave", "[log]") {
  Capture cap;
  Logger log = cap.logger();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 500; ++i) log.info("tick", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(cap.lines.size() == 2000);
  for (const auto& line : cap.lines) {
    CHECK(line.starts_with("time="));
    CHECK(line.find('\n') == line.size() - 1);
  }
}

TEST_CASE("Keys are sanitised and times format as RFC 3339", "[log]") {
  Capture cap;
  cap.logger().info("m", {{"bad key=", 1}, {"", 2}});
  CHECK(cap.lines.at(0).find(" bad_key_=1 _=2\n") != std::string::npos);
  CHECK(formatLogTime(std::chrono::system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
  CHECK(logfmtValue("tab\there") == "\"tab\\there\"");
  CHECK(logfmtValue("bell\x07") == "\"bell\\x07\"");
  CHECK(logfmtValue("plain") == "plain");
}
