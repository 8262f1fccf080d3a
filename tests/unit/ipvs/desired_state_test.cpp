// DesiredState: reference counts, conflicts and the changed keys of each update.

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

ServiceDesired desiredFor(const Service& svc, std::vector<const EndpointSlice*> slices = {}) {
  return translate(svc, slices, node());
}

}  // namespace

TEST_CASE("Shared externalIP address and entries are reference counted", "[desired]") {
  DesiredState ds;
  auto a = service("ns", "a", {"10.0.0.1"}, {port("p", 80)});
  a.externalIPs = {ip("50.0.0.1")};
  auto b = service("ns", "b", {"10.0.0.2"}, {port("p", 81)});
  b.externalIPs = {ip("50.0.0.1")};
  auto ca = ds.update(a.key, desiredFor(a));
  CHECK(ca.addresses.size() == 2);
  auto cb = ds.update(b.key, desiredFor(b));
  CHECK(strings(cb.addresses) == std::set<std::string>{"10.0.0.2"});  // 50.0.0.1 already wanted
  CHECK(ds.hasAddress(ip("50.0.0.1")));
  auto ra = ds.remove(a.key);
  CHECK(strings(ra.addresses) == std::set<std::string>{"10.0.0.1"});
  CHECK(ds.hasAddress(ip("50.0.0.1")));
  CHECK_FALSE(ds.hasIpsetEntry({IpsetId::kIpvsIps, Family::kV4, "10.0.0.1"}));
  CHECK(ds.hasIpsetEntry({IpsetId::kIpvsIps, Family::kV4, "50.0.0.1"}));
  ds.remove(b.key);
  CHECK(ds.addressCount() == 0);
  CHECK(ds.ipsetEntryCount() == 0);
  CHECK(ds.virtualServerCount() == 0);
  CHECK(ds.serviceCount() == 0);
}

TEST_CASE("A VS key claimed twice goes to the lower namespace/name", "[desired]") {
  auto a = service("ns", "a", {"10.0.0.1"}, {port("p", 80)});
  a.externalIPs = {ip("50.0.0.1")};
  auto b = service("ns", "b", {"10.0.0.2"}, {port("p", 80)});
  b.externalIPs = {ip("50.0.0.1")};
  b.sessionAffinityClientIP = true;
  const auto key = vsKey("50.0.0.1", 80);
  for (bool aFirst : {true, false}) {
    DesiredState ds;
    if (aFirst) {
      ds.update(a.key, desiredFor(a));
      const auto changed = ds.update(b.key, desiredFor(b));
      CHECK(std::count(changed.virtualServers.begin(), changed.virtualServers.end(), key) == 0);
    } else {
      ds.update(b.key, desiredFor(b));
      const auto changed = ds.update(a.key, desiredFor(a));
      CHECK(std::count(changed.virtualServers.begin(), changed.virtualServers.end(), key) == 1);
    }
    REQUIRE(ds.virtualServerOwner(key));
    CHECK(*ds.virtualServerOwner(key) == a.key);
    CHECK(ds.virtualServer(key)->server.flags == 0);
    CHECK(ds.conflicts(a.key).empty());
    const auto lost = ds.conflicts(b.key);
    REQUIRE(lost.size() == 1);
    CHECK(lost[0].reason == "virtual_server_conflict");
    CHECK_THAT(lost[0].message, Catch::Contains("ns/a"));
    // The winner leaves: the other claim takes over, and the key is reported.
    const auto changed = ds.remove(a.key);
    CHECK(std::count(changed.virtualServers.begin(), changed.virtualServers.end(), key) == 1);
    CHECK(*ds.virtualServerOwner(key) == b.key);
    CHECK(ds.virtualServer(key)->server.flags == kFlagPersistent);
  }
}

TEST_CASE("Changed keys: only what differs", "[desired]") {
  DesiredState ds;
  auto svc = service("ns", "a", {"10.0.0.1"}, {port("p", 80), port("q", 81)});
  auto s1 = slice(svc, "s", {epPort("p", 80), epPort("q", 81)}, {{"10.1.0.1"}});
  ds.update(svc.key, desiredFor(svc, {&s1}));
  CHECK(ds.update(svc.key, desiredFor(svc, {&s1})).empty());

  auto s2 = slice(svc, "s", {epPort("p", 80), epPort("q", 81)}, {{"10.1.0.2", "N"}});
  auto c = ds.update(svc.key, desiredFor(svc, {&s2}));
  CHECK(c.virtualServers.size() == 2);
  CHECK(c.addresses.empty());
  CHECK(members(c.ipsetEntries, IpsetId::kLoopBack) ==
        std::set<std::string>{"10.1.0.2,tcp:80,10.1.0.2", "10.1.0.2,tcp:81,10.1.0.2"});

  c.merge(ds.remove(svc.key));
  c.merge(ds.remove(svc.key));  // removing twice is harmless
  c.normalize();
  CHECK(c.virtualServers.size() == 2);
  CHECK(c.addresses.size() == 1);
  CHECK(ds.virtualServers().empty());
}

TEST_CASE("Listings are sorted", "[desired]") {
  DesiredState ds;
  for (const char* name : {"c", "a", "b"}) {
    std::string addr = std::string("10.0.0.") + (name[0] == 'a' ? "3" : name[0] == 'b' ? "1" : "2");
    auto svc = service("ns", name, {addr.c_str()}, {port("p", 80)});
    ds.update(svc.key, desiredFor(svc));
  }
  const auto vss = ds.virtualServers();
  REQUIRE(vss.size() == 3);
  CHECK(std::is_sorted(vss.begin(), vss.end(),
                       [](auto* a, auto* b) { return a->server.key < b->server.key; }));
  const auto entries = ds.ipsetEntries();
  CHECK(std::is_sorted(entries.begin(), entries.end()));
  CHECK(strings(ds.addresses()) == std::set<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3"});
}

TEST_CASE("update(desired) takes the key from the ServiceDesired", "[desired]") {
  DesiredState ds;
  for (const char* name : {"a", "b"}) {
    auto d = desiredFor(
        service("ns", name, {name[0] == 'a' ? "10.0.0.1" : "10.0.0.2"}, {port("p", 80)}));
    ds.update(std::move(d));
  }
  CHECK(ds.serviceCount() == 2);
  CHECK(ds.service({"ns", "b"}) != nullptr);
}

TEST_CASE("The tally counts each winning virtual server's scheduler once", "[desired]") {
  DesiredState ds;
  auto a = service("ns", "a", {"10.0.0.1"}, {port("p", 80)});
  a.externalIPs = {ip("50.0.0.1")};
  auto b = service("ns", "b", {"10.0.0.2"}, {port("p", 80), port("q", 81)});
  b.externalIPs = {ip("50.0.0.1")};  // 50.0.0.1:80 is claimed twice: a wins it
  b.annotations = {{std::string(kAnnotationScheduler), "wlc"}};
  ds.update(a.key, desiredFor(a));
  ds.update(b.key, desiredFor(b));
  // a: 10.0.0.1:80 and 50.0.0.1:80 (rr); b: 10.0.0.2:80, 10.0.0.2:81 and 50.0.0.1:81 (wlc).
  const auto tally = ds.tally();
  CHECK(tally.schedulers == std::map<std::string, std::size_t>{{"rr", 2}, {"wlc", 3}});
  CHECK(tally.noLocalInternal == 0);
  CHECK(tally.noLocalExternal == 0);
  ds.remove(a.key);  // b now wins 50.0.0.1:80 too
  CHECK(ds.tally().schedulers == std::map<std::string, std::size_t>{{"wlc", 4}});
}
