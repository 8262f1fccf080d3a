#include "bench/sched/address_list.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace bench::sched;

TEST_CASE("address lists expand IPv4 ranges", "[bench][lists]") {
  std::string err;
  const auto a = expandAddresses("10.250.0.1+3,10.250.1.9", err);
  REQUIRE(a);
  CHECK(*a == std::vector<std::string>{"10.250.0.1", "10.250.0.2", "10.250.0.3", "10.250.1.9"});
  const auto carry = expandAddresses("10.0.0.255+2", err);
  REQUIRE(carry);
  CHECK(*carry == std::vector<std::string>{"10.0.0.255", "10.0.1.0"});
  const auto v6 = expandAddresses("fd00:250::1", err);
  REQUIRE(v6);
  CHECK(v6->front() == "fd00:250::1");
}

TEST_CASE("bad address lists are rejected with a message", "[bench][lists]") {
  std::string err;
  for (const char* bad : {"", "10.0.0.1,", "10.0.0.300", "10.0.0.1+0", "10.0.0.1+x",
                          "255.255.255.255+2", "fd00::1+2", "10.0.0.1+100000"}) {
    err.clear();
    CHECK_FALSE(expandAddresses(bad, err));
    CHECK_THAT(err, Catch::Contains("bad address list"));
  }
}

TEST_CASE("port lists expand and stay in range", "[bench][lists]") {
  std::string err;
  const auto p = expandPorts("20000+3,30000", err);
  REQUIRE(p);
  CHECK(*p == std::vector<std::uint16_t>{20000, 20001, 20002, 30000});
  CHECK(expandPorts("65535", err));
  CHECK_FALSE(expandPorts("65535+2", err));
  CHECK_FALSE(expandPorts("0", err));
  CHECK_FALSE(expandPorts("70000", err));
  CHECK_FALSE(expandPorts("", err));
}

TEST_CASE("flow keys bracket IPv6", "[bench][lists]") {
  CHECK(flowKey("10.250.0.7", 20001) == "10.250.0.7:20001");
  CHECK(flowKey("fd00::7", 20001) == "[fd00::7]:20001");
}
