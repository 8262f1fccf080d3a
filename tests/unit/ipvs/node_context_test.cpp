// NodePort address selection (node_context.h).

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

std::vector<IpAddress> candidates() {
  return {ip("127.0.0.1"), ip("10.0.0.5"),    ip("192.168.1.7"), ip("::1"),
          ip("fe80::1"),   ip("2001:db8::7"), ip("10.0.0.5")};
}

std::set<std::string> select(std::vector<std::string> specs, std::vector<IpAddress> primary = {}) {
  const auto c = candidates();
  return strings(selectNodePortAddresses(c, specs, primary).addresses);
}

}  // namespace

TEST_CASE("Empty nodePortAddresses: every address but loopback and IPv6 link-local", "[nodeport]") {
  CHECK(select({}) == std::set<std::string>{"10.0.0.5", "192.168.1.7", "2001:db8::7"});
}

TEST_CASE("CIDR nodePortAddresses select matching addresses minus loopback", "[nodeport]") {
  CHECK(select({"10.0.0.0/8"}) == std::set<std::string>{"10.0.0.5"});
  CHECK(select({"0.0.0.0/0"}) == std::set<std::string>{"10.0.0.5", "192.168.1.7"});
  CHECK(select({"127.0.0.0/8", "2001:db8::/64"}) == std::set<std::string>{"2001:db8::7"});
}

TEST_CASE("primary selects the node's primary IPs", "[nodeport]") {
  CHECK(select({"primary"}, {ip("10.0.0.5"), ip("2001:db8::7")}) ==
        std::set<std::string>{"10.0.0.5", "2001:db8::7"});
}

TEST_CASE("Bad nodePortAddresses entries are reported and skipped", "[nodeport]") {
  const auto c = candidates();
  const std::vector<std::string> specs{"10.0.0.0/8", "banana", "10.0.0.5", "primary"};
  const auto sel = selectNodePortAddresses(c, specs, {});
  CHECK(strings(sel.addresses) == std::set<std::string>{"10.0.0.5"});
  REQUIRE(sel.errors.size() == 3);
  CHECK_THAT(sel.errors[0], Catch::Contains("banana"));
}
