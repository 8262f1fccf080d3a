#include "netlink/sysctl_client.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using netlink::ConnReuseAction;
using netlink::KernelVersion;
using netlink::SysctlSetting;

// A throwaway /proc/sys look-alike.
class FakeProcSys {
 public:
  FakeProcSys() {
    std::string templ = (fs::temp_directory_path() / "hostnl-sysctl-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    root_ = templ;
  }
  ~FakeProcSys() { fs::remove_all(root_); }

  void put(const std::string& key, const std::string& content) {
    fs::create_directories((root_ / key).parent_path());
    std::ofstream(root_ / key) << content;
  }
  std::string get(const std::string& key) const {
    std::ifstream in(root_ / key);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

}  // namespace

TEST_CASE("kernel releases parse", "[sysctl]") {
  CHECK(netlink::parseKernelVersion("6.1.0-26-cloud-amd64") == KernelVersion{6, 1, 0});
  CHECK(netlink::parseKernelVersion("5.10") == KernelVersion{5, 10, 0});
  CHECK(netlink::parseKernelVersion("4.19.0+") == KernelVersion{4, 19, 0});
  CHECK(netlink::parseKernelVersion("5.15.133.1-microsoft-standard-WSL2") ==
        KernelVersion{5, 15, 133});
  CHECK(netlink::parseKernelVersion("3.10.0-1160.el7.x86_64") == KernelVersion{3, 10, 0});
  CHECK(netlink::parseKernelVersion("6.8.0-rc1") == KernelVersion{6, 8, 0});
  CHECK_FALSE(netlink::parseKernelVersion(""));
  CHECK_FALSE(netlink::parseKernelVersion("6"));
  CHECK_FALSE(netlink::parseKernelVersion("6."));
  CHECK_FALSE(netlink::parseKernelVersion("v6.1"));
  CHECK_FALSE(netlink::parseKernelVersion("99999999999999.1"));
}

TEST_CASE("the running kernel has a version", "[sysctl]") {
  const auto v = netlink::runningKernelVersion();
  REQUIRE(v.has_value());
  CHECK(v->major >= 3);
}

TEST_CASE("conn_reuse_mode follows the kernel-version rule", "[sysctl]") {
  CHECK(netlink::connReuseModeAction({3, 10, 0}) == ConnReuseAction::kUnsupported);
  CHECK(netlink::connReuseModeAction({4, 0, 99}) == ConnReuseAction::kUnsupported);
  CHECK(netlink::connReuseModeAction({4, 1, 0}) == ConnReuseAction::kSetZero);
  CHECK(netlink::connReuseModeAction({4, 19, 0}) == ConnReuseAction::kSetZero);
  CHECK(netlink::connReuseModeAction({5, 8, 18}) == ConnReuseAction::kSetZero);
  CHECK(netlink::connReuseModeAction({5, 9, 0}) == ConnReuseAction::kLeaveAsIs);
  CHECK(netlink::connReuseModeAction({6, 1, 0}) == ConnReuseAction::kLeaveAsIs);
}

TEST_CASE("the IPVS sysctl list matches kube-proxy's NewProxier", "[sysctl]") {
  const std::vector<SysctlSetting> modern{{"net/ipv4/vs/conntrack", 1},
                                          {"net/ipv4/vs/expire_nodest_conn", 1},
                                          {"net/ipv4/vs/expire_quiescent_template", 1},
                                          {"net/ipv4/ip_forward", 1}};
  CHECK(netlink::ipvsSysctls({6, 1, 0}, false) == modern);
  CHECK(netlink::ipvsSysctls({3, 10, 0}, false) == modern);

  const auto old = netlink::ipvsSysctls({4, 19, 0}, true);
  REQUIRE(old.size() == 7);
  CHECK(old[1] == SysctlSetting{"net/ipv4/vs/conn_reuse_mode", 0});
  CHECK(old[5] == SysctlSetting{"net/ipv4/conf/all/arp_ignore", 1});
  CHECK(old[6] == SysctlSetting{"net/ipv4/conf/all/arp_announce", 2});
}

TEST_CASE("read, write and ensure under a root override", "[sysctl]") {
  FakeProcSys fake;
  fake.put("net/ipv4/vs/conntrack", "0\n");
  fake.put("net/ipv4/ip_forward", "1\n");
  netlink::SysctlClient client(fake.root());

  CHECK(client.read("net/ipv4/vs/conntrack").value() == 0);
  REQUIRE(client.ensure("net/ipv4/vs/conntrack", 1));
  CHECK(fake.get("net/ipv4/vs/conntrack") == "1\n");
  REQUIRE(client.ensure("net/ipv4/ip_forward", 1));
  CHECK(client.counters().writes == 1);
  CHECK(client.counters().unchanged == 1);
  CHECK(client.counters().failures == 0);

  REQUIRE(client.write("net/ipv4/ip_forward", -3));
  CHECK(client.read("net/ipv4/ip_forward").value() == -3);
}

TEST_CASE("ensureAll stops at the first key that cannot be written", "[sysctl]") {
  FakeProcSys fake;
  fake.put("net/ipv4/vs/conntrack", "0\n");
  netlink::SysctlClient client(fake.root());
  const auto r = client.ensureAll(netlink::ipvsSysctls({6, 1, 0}, false));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == std::errc::no_such_file_or_directory);
  CHECK(client.lastError().find("net/ipv4/vs/expire_nodest_conn") != std::string::npos);
  CHECK(fake.get("net/ipv4/vs/conntrack") == "1\n");
  CHECK(client.counters().failures == 1);
}

TEST_CASE("bad keys and bad contents are errors, not crashes", "[sysctl]") {
  FakeProcSys fake;
  fake.put("net/x", "garbage\n");
  fake.put("net/empty", "");
  netlink::SysctlClient client(fake.root());
  for (const char* key : {"", "/etc/passwd", "net/../../etc/passwd", "net//x", "net/x/", "./x",
                          "net/x y", "net/x\n"}) {
    CAPTURE(key);
    const auto r = client.read(key);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK_FALSE(client.write(key, 1));
  }
  CHECK(client.read("net/x").error() == std::errc::bad_message);
  CHECK(client.read("net/empty").error() == std::errc::bad_message);
  CHECK(client.read("net/missing").error() == std::errc::no_such_file_or_directory);
  CHECK(client.lastError().find("net/missing") != std::string::npos);
}
