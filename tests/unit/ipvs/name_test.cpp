// Name and NameList (ipvs/name.h): the compact, interned names endpoints carry.
#include "ipvs/name.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ipvs/model.h"

using ipvs::Name;
using ipvs::NameList;

namespace {

// Texts no other test interns, so the table's count is this test's alone.
std::string unique(int i) { return "name-test-node-with-a-long-name-" + std::to_string(i); }

}  // namespace

TEST_CASE("name: equal texts share one interned entry, freed with the last holder", "[name]") {
  const std::size_t before = Name::internedCount();
  {
    Name a = unique(1);
    Name b(std::string_view(unique(1)));
    const Name c = unique(2);
    CHECK(a == b);
    CHECK(&a.str() == &b.str());  // one copy of the text
    CHECK_FALSE(a == c);
    CHECK(a == unique(1));
    CHECK(a.str() == unique(1));
    CHECK(Name::internedCount() == before + 2);
    Name moved = std::move(a);
    CHECK(moved == b);
    b = c;  // drops one of two references to unique(1): still interned through `moved`
    CHECK(Name::internedCount() == before + 2);
    moved.clear();  // the last reference
    CHECK(Name::internedCount() == before + 1);
  }
  CHECK(Name::internedCount() == before);
}

TEST_CASE("name: the empty name holds nothing and equals an empty text", "[name]") {
  const std::size_t before = Name::internedCount();
  const Name empty = std::string();
  CHECK(empty.empty());
  CHECK(empty == Name());
  CHECK(empty == "");
  CHECK(empty.str().empty());
  CHECK(Name::internedCount() == before);
  CHECK(Name("a") < Name("b"));
}

TEST_CASE("name: threads interning and dropping the same texts leave the table clean", "[name]") {
  const std::size_t before = Name::internedCount();
  const auto churn = [] {
    std::vector<Name> held;
    for (int round = 0; round < 2000; ++round) {
      held.emplace_back(unique(round % 7));
      if (held.size() > 5) held.erase(held.begin());
    }
  };
  std::thread t1(churn), t2(churn);
  t1.join();
  t2.join();
  CHECK(Name::internedCount() == before);
}

TEST_CASE("name list: one pointer, empty by default, copied deeply, compared by content",
          "[name]") {
  NameList none;
  CHECK(none.empty());
  CHECK(none.size() == 0);
  CHECK(none.begin() == none.end());
  CHECK_FALSE(none.contains("z1"));
  NameList zones{"z1", "z2"};
  CHECK(zones.size() == 2);
  CHECK(zones.contains("z2"));
  NameList copy = zones;
  copy.push_back("z3");
  CHECK(zones.size() == 2);
  CHECK_FALSE(copy == zones);
  copy = zones;
  CHECK(copy == zones);
  NameList reserved;
  reserved.reserve(4);  // capacity without names is still empty, and equal to none
  CHECK(reserved.empty());
  CHECK(reserved == none);
  CHECK(sizeof(NameList) == sizeof(void*));
  CHECK(sizeof(Name) == sizeof(void*));
}

TEST_CASE("endpoint: node, zone and hints cost four pointers", "[name]") {
  // Two strings and two vectors were 112 bytes; 10^5 endpoints made the difference 8 MiB.
  CHECK(sizeof(ipvs::Endpoint) <= sizeof(ipvs::IpAddress) + 8 + 4 * sizeof(void*));
}
