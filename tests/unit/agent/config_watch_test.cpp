// ConfigWatch against a real file in a temporary directory: only a change of content counts.
#include "agent/config_watch.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kConfig = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nmode: ipvs\n";

struct TempConfig {
  TempConfig() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    write(kConfig);
  }
  ~TempConfig() { fs::remove_all(dir); }
  // As the kubelet updates a ConfigMap volume: a new file renamed over the old one.
  void write(const std::string& text) const {
    std::ofstream(dir / "new.conf") << text;
    fs::rename(dir / "new.conf", file);
  }
  fs::path dir = fs::temp_directory_path() / ("ipvs-agent-cw-" + std::to_string(getpid()));
  fs::path file = dir / "config.conf";
};

}  // namespace

TEST_CASE("config watch: a rewrite with the same bytes or a touch is no change", "[config_watch]") {
  TempConfig t;
  agent::ConfigWatch watch(t.file, 1h, [] {});
  CHECK_FALSE(watch.changed());
  t.write(kConfig);
  fs::last_write_time(t.file, fs::last_write_time(t.file) + 1h);
  CHECK_FALSE(watch.changed());
  t.write(std::string(kConfig) + "ipvs: {scheduler: wrr}\n");
  CHECK(watch.changed());
}

TEST_CASE("config watch: a missing file is no change - its return with new content is",
          "[config_watch]") {
  TempConfig t;
  agent::ConfigWatch watch(t.file, 1h, [] {});
  fs::remove(t.file);
  CHECK_FALSE(watch.changed());
  t.write(kConfig);
  CHECK_FALSE(watch.changed());
  t.write("mode: \"\"\n");
  CHECK(watch.changed());
}

TEST_CASE("config watch: content past the read bound still differs", "[config_watch]") {
  TempConfig t;
  agent::ConfigWatch watch(t.file, 1h, [] {});
  t.write(std::string(kConfig) + std::string(agent::kMaxConfigWatchBytes, '#'));
  CHECK(watch.changed());
}

TEST_CASE("config watch: the polling thread calls onChange once, then stops", "[config_watch]") {
  TempConfig t;
  std::promise<void> fired;
  int calls = 0;
  agent::ConfigWatch watch(t.file, 1ms, [&] {
    if (++calls == 1) fired.set_value();
  });
  watch.start();
  t.write(std::string(kConfig) + "clusterCIDR: 10.0.0.0/8\n");
  // A liveness bound only: the poll runs every millisecond.
  REQUIRE(fired.get_future().wait_for(30s) == std::future_status::ready);
  watch.stop();
  CHECK(calls == 1);
}
