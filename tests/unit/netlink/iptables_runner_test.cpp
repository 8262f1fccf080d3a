#include "netlink/iptables_runner.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

#include "netlink/iptables_exec.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A directory of fake iptables tools (small sh scripts) that record what they were given.
class FakeTools {
 public:
  FakeTools() {
    std::string templ = (fs::temp_directory_path() / "hostnl-ipt-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    dir_ = templ;
  }
  ~FakeTools() { fs::remove_all(dir_); }

  std::string script(const std::string& name, const std::string& body) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    chmod(p.c_str(), 0755);
    return p.string();
  }
  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

// iptables-save text of tables nat and filter holding our jumps from the built-in chains of the
// tables listed in `withJumps`.
std::string saveText(std::initializer_list<std::string_view> withJumps) {
  std::string save;
  for (const std::string_view table : {"nat", "filter"}) {
    save += "*" + std::string(table) + "\n:" + (table == "nat" ? "OUTPUT" : "INPUT") +
            " ACCEPT [0:0]\n";
    for (const ipvs::JumpRule& j : ipvs::jumpRules()) {
      if (j.table == table &&
          std::find(withJumps.begin(), withJumps.end(), table) != withJumps.end())
        save += ipvs::jumpSaveLine(j) + "\n";
    }
    save += "COMMIT\n";
  }
  return save;
}

}  // namespace

TEST_CASE("runProcess feeds stdin and captures stdout, stderr and status", "[iptables]") {
  const auto r =
      netlink::runProcess({"/bin/sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"}, "hello\n");
  REQUIRE(r.has_value());
  CHECK(r->out == "HELLO\n");
  CHECK(r->err == "oops\n");
  CHECK(r->exitStatus == 3);
  CHECK_FALSE(r->ok());
}

TEST_CASE("runProcess copes with large input the child never reads", "[iptables]") {
  const std::string big(8 * 1024 * 1024, 'x');
  const auto r = netlink::runProcess({"/bin/sh", "-c", "exit 0"}, big);
  REQUIRE(r.has_value());  // no SIGPIPE killed us
  CHECK(r->exitStatus == 0);
}

TEST_CASE("runProcess passes a large input through", "[iptables]") {
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "-A KUBE-SERVICES -j RETURN\n";
  const auto r = netlink::runProcess({"/bin/cat"}, big);
  REQUIRE(r.has_value());
  CHECK(r->out == big);
  CHECK(r->ok());
}

TEST_CASE("runProcess kills a child that outlives its limit", "[iptables]") {
  const auto r = netlink::runProcess({"/bin/sh", "-c", "exec sleep 30"}, {}, {.timeout = 50ms});
  REQUIRE(r.has_value());
  CHECK(r->timedOut);
  CHECK(r->signal == SIGKILL);
}

TEST_CASE("runProcess reports a missing binary and empty argv", "[iptables]") {
  const auto missing = netlink::runProcess({"/nonexistent/iptables-restore"}, "x");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == std::errc::no_such_file_or_directory);
  CHECK(netlink::runProcess({}, "").error() == std::errc::invalid_argument);
}

TEST_CASE("runProcess cuts output past its limit", "[iptables]") {
  const auto r =
      netlink::runProcess({"/bin/sh", "-c", "head -c 100000 /dev/zero"}, {}, {.maxStdout = 1000});
  REQUIRE(r.has_value());
  CHECK(r->truncated);
  CHECK(r->out.size() == 1000);
}

TEST_CASE("restore runs the tool with --noflush --counters and -w", "[iptables]") {
  FakeTools t;
  netlink::IptablesTools tools;
  tools.restore4 = t.script("r4", "echo \"$@\" > " + t.path("args4") + "; cat > " + t.path("in4"));
  tools.restore6 = t.script("r6", "echo \"$@\" > " + t.path("args6") + "; cat > " + t.path("in6"));
  tools.lockWaitSeconds = 7;
  netlink::IptablesRunner runner(tools);
  REQUIRE(runner.restore(ipvs::Family::kV4, "*nat\nCOMMIT\n").has_value());
  REQUIRE(runner.restore(ipvs::Family::kV6, "*filter\nCOMMIT\n").has_value());
  CHECK(t.read("args4") == "-w 7 --noflush --counters\n");
  CHECK(t.read("in4") == "*nat\nCOMMIT\n");
  CHECK(t.read("in6") == "*filter\nCOMMIT\n");
  CHECK(runner.counters().restores == 2);
  CHECK(runner.counters().restoreFailures == 0);
}

TEST_CASE("a failing restore carries the tool's stderr and counts", "[iptables]") {
  FakeTools t;
  netlink::IptablesTools tools;
  tools.restore4 = t.script(
      "r4", "cat >/dev/null; echo 'iptables-restore: line 2 failed: No chain' >&2; exit 1");
  netlink::IptablesRunner runner(tools);
  const auto r = runner.restore(ipvs::Family::kV4, "*nat\n-A NOPE -j ACCEPT\nCOMMIT\n");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == netlink::IptablesError::kToolFailed);
  CHECK(r.error() == std::errc::io_error);
  CHECK(runner.lastError().find("line 2 failed: No chain") != std::string::npos);
  CHECK(runner.lastError().find("exit status 1") != std::string::npos);
  CHECK(runner.counters().restoreFailures == 1);

  tools.restore4 = t.path("does-not-exist");
  netlink::IptablesRunner missing(tools);
  CHECK(missing.restore(ipvs::Family::kV4, "x").error() == std::errc::no_such_file_or_directory);
  CHECK(missing.counters().restoreFailures == 1);
}

TEST_CASE("sync restores the rules with only the missing jumps", "[iptables]") {
  FakeTools t;
  std::ofstream(t.path("save.txt")) << saveText({"nat"});
  netlink::IptablesTools tools;
  tools.save4 = t.script("s4", "echo \"$@\" > " + t.path("sargs") + "; cat " + t.path("save.txt"));
  tools.restore4 = t.script("r4", "cat > " + t.path("in"));
  netlink::IptablesRunner runner(tools);

  ipvs::IptablesRuleInputs in;
  REQUIRE(runner.sync(in).has_value());
  std::vector<ipvs::JumpRule> filterJumps;
  for (const ipvs::JumpRule& j : ipvs::jumpRules()) {
    if (j.table == "filter") filterJumps.push_back(j);
  }
  CHECK(t.read("in") == ipvs::renderRestore(in, filterJumps));
  CHECK(t.read("sargs") == "\n");
  CHECK(runner.counters().saves == 1);
}

TEST_CASE("save of one table, and a failing save", "[iptables]") {
  FakeTools t;
  netlink::IptablesTools tools;
  tools.save6 = t.script("s6", "echo \"$@\"");
  tools.save4 = t.script("s4", "echo 'no lock' >&2; exit 4");
  netlink::IptablesRunner runner(tools);
  CHECK(runner.save(ipvs::Family::kV6, "nat").value() == "-t nat\n");
  const auto bad = runner.save(ipvs::Family::kV4);
  REQUIRE_FALSE(bad.has_value());
  CHECK(runner.lastError().find("no lock") != std::string::npos);
  CHECK(runner.counters().saveFailures == 1);
  CHECK_FALSE(runner.sync({}).has_value());  // no restore without a save
  CHECK(runner.counters().restores == 0);
}

TEST_CASE("cleanup restores nothing when nothing is ours", "[iptables]") {
  FakeTools t;
  netlink::IptablesTools tools;
  tools.save4 = t.script("s4", "printf '*filter\\n:INPUT ACCEPT [0:0]\\nCOMMIT\\n'");
  tools.restore4 = t.script("r4", "cat > " + t.path("in"));
  netlink::IptablesRunner runner(tools);
  REQUIRE(runner.cleanup(ipvs::Family::kV4, {}).has_value());
  CHECK(runner.counters().restores == 0);

  tools.save4 = t.script("s4b", "printf '*nat\\n:KUBE-MARK-MASQ - [0:0]\\nCOMMIT\\n'");
  netlink::IptablesRunner runner2(tools);
  REQUIRE(runner2.cleanup(ipvs::Family::kV4, {}).has_value());
  CHECK(t.read("in") == "*nat\n:KUBE-MARK-MASQ - [0:0]\n-X KUBE-MARK-MASQ\nCOMMIT\n");
}

TEST_CASE("the iptables-mode cleanup after a sync reuses the sync's save when it had no leftovers",
          "[iptables]") {
  FakeTools t;
  std::ofstream(t.path("save.txt")) << "*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  netlink::IptablesTools tools;
  tools.save4 = t.script("s4", "cat " + t.path("save.txt"));
  tools.restore4 = t.script("r4", "cat > " + t.path("in"));
  netlink::IptablesRunner runner(tools);
  const ipvs::CleanupScope legacyOnly{false, true};
  REQUIRE(runner.sync({}).has_value());
  REQUIRE(runner.cleanup(ipvs::Family::kV4, legacyOnly).has_value());
  CHECK(runner.counters().saves == 1);  // the sync's save only
  // Taken once: a second cleanup reads the tables again, as does a cleanup of other scope.
  REQUIRE(runner.cleanup(ipvs::Family::kV4, legacyOnly).has_value());
  CHECK(runner.counters().saves == 2);
  REQUIRE(runner.sync({}).has_value());
  REQUIRE(runner.cleanup(ipvs::Family::kV4, {}).has_value());
  CHECK(runner.counters().saves == 4);

  // Leftovers of kube-proxy's iptables mode in the sync's save: the cleanup reads and removes.
  std::ofstream(t.path("save.txt")) << "*nat\n:KUBE-SVC-ABC - [0:0]\nCOMMIT\n";
  REQUIRE(runner.sync({}).has_value());
  REQUIRE(runner.cleanup(ipvs::Family::kV4, legacyOnly).has_value());
  CHECK(runner.counters().saves == 6);
  CHECK(t.read("in") == "*nat\n:KUBE-SVC-ABC - [0:0]\n-X KUBE-SVC-ABC\nCOMMIT\n");

  // A failed restore proves nothing: the cleanup reads the tables.
  std::ofstream(t.path("save.txt")) << "*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  tools.restore4 = t.script("r4bad", "exit 1");
  netlink::IptablesRunner failing(tools);
  REQUIRE_FALSE(failing.sync({}).has_value());
  REQUIRE(failing.cleanup(ipvs::Family::kV4, legacyOnly).has_value());
  CHECK(failing.counters().saves == 2);
}

TEST_CASE("iptables version decides --random-fully", "[iptables]") {
  CHECK(netlink::versionSupportsRandomFully("iptables v1.8.9 (nf_tables)\n"));
  CHECK(netlink::versionSupportsRandomFully("iptables v1.6.2"));
  CHECK(netlink::versionSupportsRandomFully("iptables v1.8 (legacy)"));
  CHECK(netlink::versionSupportsRandomFully("iptables v2"));
  CHECK_FALSE(netlink::versionSupportsRandomFully("iptables v1.6.1"));
  CHECK_FALSE(netlink::versionSupportsRandomFully("iptables v1.4.21"));
  CHECK_FALSE(netlink::versionSupportsRandomFully("garbage"));
  CHECK_FALSE(netlink::versionSupportsRandomFully(""));

  FakeTools t;
  netlink::IptablesTools tools;
  tools.version4 = t.script("v", "echo 'iptables v1.8.9 (nf_tables)'");
  netlink::IptablesRunner runner(tools);
  CHECK(runner.supportsRandomFully().value());
}

TEST_CASE("a sync after prefetch restores from the prefetched save, once", "[iptables]") {
  FakeTools t;
  // The prefetch sees every jump in place; by the sync they are gone, so a fresh save would
  // insert them all. Only the second sync, with no prefetch left, does.
  std::ofstream(t.path("save.txt")) << saveText({"nat", "filter"});
  netlink::IptablesTools tools;
  tools.save4 = t.script("s4", "cat " + t.path("save.txt"));
  tools.restore4 = t.script("r4", "cat > " + t.path("in"));
  netlink::IptablesRunner runner(tools);

  runner.prefetch(ipvs::Family::kV4);
  CHECK(runner.counters().saves == 1);
  std::ofstream(t.path("save.txt")) << saveText({});
  ipvs::IptablesRuleInputs in;
  REQUIRE(runner.sync(in).has_value());
  CHECK(runner.counters().saves == 1);
  CHECK(t.read("in") == ipvs::renderRestore(in, {}));

  REQUIRE(runner.sync(in).has_value());
  CHECK(runner.counters().saves == 2);
  CHECK(t.read("in") != ipvs::renderRestore(in, {}));
}

TEST_CASE("a failed prefetch leaves the sync to save for itself", "[iptables]") {
  FakeTools t;
  netlink::IptablesTools tools;
  tools.save4 = t.script("s4", "echo busy >&2; exit 4");
  tools.restore4 = t.script("r4", "cat > " + t.path("in"));
  netlink::IptablesRunner runner(tools);
  runner.prefetch(ipvs::Family::kV4);
  tools.save4 = t.script("s4", "printf '*nat\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n'");
  REQUIRE(runner.sync({}).has_value());  // the same path, now a save that works
  CHECK(runner.counters().saves == 2);
  CHECK(runner.counters().saveFailures == 1);
  CHECK(runner.counters().restores == 1);
}
