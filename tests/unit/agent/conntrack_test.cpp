#include "agent/conntrack.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace agent;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

// A temporary tree with proc/sys, sys and a mounts file, as the kernel lays them out.
class FakeHost {
 public:
  FakeHost() {
    std::string templ = (fs::temp_directory_path() / "conntrack-test-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    root_ = templ;
    setMounts("rw");
  }
  ~FakeHost() { fs::remove_all(root_); }

  void put(const std::string& path, const std::string& content) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path) << content;
  }
  std::string get(const std::string& path) const {
    std::ifstream in(root_ / path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void setMounts(const std::string& sysfsOptions) {
    put("mounts",
        "proc /proc proc rw,nosuid 0 0\nsysfs /sys sysfs " + sysfsOptions + ",nosuid,nodev 0 0\n");
  }
  // The kernel's defaults on a small machine.
  void kernelDefaults() {
    put("proc/sys/net/netfilter/nf_conntrack_max", "65536\n");
    put("proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established", "432000\n");
    put("proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait", "60\n");
    put("proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal", "0\n");
    put("proc/sys/net/netfilter/nf_conntrack_udp_timeout", "30\n");
    put("proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream", "120\n");
    put("sys/module/nf_conntrack/parameters/hashsize", "16384\n");
  }
  ConntrackEnv env(int cpus) const {
    return {(root_ / "proc/sys").string(), (root_ / "sys").string(), (root_ / "mounts").string(),
            cpus};
  }
  std::string sysctl(const std::string& name) const {
    return get("proc/sys/net/netfilter/" + name);
  }

 private:
  fs::path root_;
};

struct Capture {
  ipvs::ManualClock clock;
  std::vector<std::string> lines;
  Logger logger() {
    Logger::Options o;
    o.sink = [this](std::string_view line) { lines.emplace_back(line); };
    clock.setWall(ipvs::Clock::WallTime(1714558830123ms));
    o.clock = &clock;
    return Logger(o);
  }
  std::size_t count(std::string_view needle) const {
    std::size_t n = 0;
    for (const auto& l : lines)
      n += l.find(needle) != std::string::npos ? std::size_t{1} : std::size_t{0};
    return n;
  }
};

}  // namespace

TEST_CASE("nf_conntrack_max follows kube-proxy's getConntrackMax", "[conntrack]") {
  ConntrackConfig c;  // 32768 per core, min 131072
  CHECK(conntrackMax(c, 1) == 131072);
  CHECK(conntrackMax(c, 4) == 131072);
  CHECK(conntrackMax(c, 5) == 163840);
  c.min = 0;
  CHECK(conntrackMax(c, 2) == 65536);
  c.maxPerCore = 0;  // leave it alone
  CHECK(conntrackMax(c, 64) == 0);
  c.maxPerCore = 2'000'000'000;
  CHECK(conntrackMax(c, 64) == 128'000'000'000LL);  // no overflow
}

TEST_CASE("the defaults write kube-proxy's values on a 1-CPU host", "[conntrack]") {
  FakeHost host;
  host.kernelDefaults();
  Capture cap;
  REQUIRE(applyConntrack(ConntrackConfig{}, cap.logger(), host.env(1)));
  CHECK(host.sysctl("nf_conntrack_max") == "131072\n");
  CHECK(host.get("sys/module/nf_conntrack/parameters/hashsize") == "32768\n");
  CHECK(host.sysctl("nf_conntrack_tcp_timeout_established") == "86400\n");
  CHECK(host.sysctl("nf_conntrack_tcp_timeout_close_wait") == "3600\n");
  // Not asked for: untouched.
  CHECK(host.sysctl("nf_conntrack_tcp_be_liberal") == "0\n");
  CHECK(host.sysctl("nf_conntrack_udp_timeout") == "30\n");
  CHECK(host.sysctl("nf_conntrack_udp_timeout_stream") == "120\n");
  CHECK(cap.count("level=error") == 0);
  CHECK(cap.count("level=warn") == 0);
  CHECK(cap.count("component=conntrack") == 4);  // one info line per write
}

TEST_CASE("the maximum is raised but never lowered", "[conntrack]") {
  FakeHost host;
  host.kernelDefaults();
  host.put("proc/sys/net/netfilter/nf_conntrack_max", "1048576\n");
  host.put("sys/module/nf_conntrack/parameters/hashsize", "262144\n");
  Capture cap;
  ConntrackConfig c;
  c.maxPerCore = 65536;
  REQUIRE(applyConntrack(c, cap.logger(), host.env(4)));
  CHECK(host.sysctl("nf_conntrack_max") == "1048576\n");
  CHECK(host.get("sys/module/nf_conntrack/parameters/hashsize") == "262144\n");

  c.maxPerCore = 32768;
  REQUIRE(applyConntrack(c, cap.logger(), host.env(64)));  // 2097152 > 1048576: raised
  CHECK(host.sysctl("nf_conntrack_max") == "2097152\n");
  CHECK(host.get("sys/module/nf_conntrack/parameters/hashsize") == "524288\n");
}

TEST_CASE("zero values leave the kernel alone - the optional ones are written when set",
          "[conntrack]") {
  FakeHost host;
  host.kernelDefaults();
  Capture cap;
  ConntrackConfig c;
  c.maxPerCore = 0;
  c.tcpEstablishedTimeout = 0s;
  c.tcpCloseWaitTimeout = 0s;
  REQUIRE(applyConntrack(c, cap.logger(), host.env(1)));
  CHECK(host.sysctl("nf_conntrack_max") == "65536\n");
  CHECK(host.get("sys/module/nf_conntrack/parameters/hashsize") == "16384\n");
  CHECK(host.sysctl("nf_conntrack_tcp_timeout_established") == "432000\n");
  CHECK(host.sysctl("nf_conntrack_tcp_timeout_close_wait") == "60\n");
  CHECK(cap.lines.empty());

  c.tcpBeLiberal = true;
  c.udpTimeout = 45s;
  c.udpStreamTimeout = 3min;
  REQUIRE(applyConntrack(c, cap.logger(), host.env(1)));
  CHECK(host.sysctl("nf_conntrack_tcp_be_liberal") == "1\n");
  CHECK(host.sysctl("nf_conntrack_udp_timeout") == "45\n");
  CHECK(host.sysctl("nf_conntrack_udp_timeout_stream") == "180\n");
}

TEST_CASE("a read-only sysfs skips the hash size with kube-proxy's single line", "[conntrack]") {
  FakeHost host;
  host.kernelDefaults();
  host.setMounts("ro");
  Capture cap;
  REQUIRE(applyConntrack(ConntrackConfig{}, cap.logger(), host.env(1)));
  CHECK(host.get("sys/module/nf_conntrack/parameters/hashsize") == "16384\n");
  CHECK(host.sysctl("nf_conntrack_max") == "131072\n");
  CHECK(host.sysctl("nf_conntrack_tcp_timeout_established") == "86400\n");
  CHECK(cap.count("level=warn") == 1);
  CHECK(cap.count("CRI error: /sys is read-only: cannot modify conntrack limits") == 1);
}

TEST_CASE("values already right are not written again", "[conntrack]") {
  FakeHost host;
  host.kernelDefaults();
  Capture first;
  REQUIRE(applyConntrack(ConntrackConfig{}, first.logger(), host.env(1)));
  // What an init container leaves behind: a second run (read-only /proc/sys in the main
  // container) must not need to write anything.
  Capture second;
  REQUIRE(applyConntrack(ConntrackConfig{}, second.logger(), host.env(1)));
  CHECK(second.lines.empty());
}

TEST_CASE("missing conntrack files are errors, named, and the rest still runs", "[conntrack]") {
  FakeHost host;
  host.put("proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established", "432000\n");
  Capture cap;
  CHECK_FALSE(applyConntrack(ConntrackConfig{}, cap.logger(), host.env(1)));
  CHECK(cap.count("level=error") == 3);  // max, hashsize, close_wait
  CHECK(cap.count("nf_conntrack_max") >= 1);
  CHECK(cap.count("hashsize") >= 1);
  CHECK(host.sysctl("nf_conntrack_tcp_timeout_established") == "86400\n");
}
