#include "netlink/ipset_text.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "netlink/ipset_client.h"

namespace {

using ipvs::Family;
using ipvs::IpsetId;
using netlink::IpsetError;
using Args = std::vector<std::string>;

}  // namespace

TEST_CASE("create arguments are kube-proxy's", "[ipset]") {
  CHECK(netlink::ipsetCreateArgs("KUBE-CLUSTER-IP", "hash:ip,port", Family::kV4) ==
        Args{"create", "KUBE-CLUSTER-IP", "hash:ip,port", "family", "inet", "hashsize", "1024",
             "maxelem", "65536"});
  CHECK(netlink::ipsetCreateArgs("KUBE-6-IPVS-IPS", "hash:ip", Family::kV6) ==
        Args{"create", "KUBE-6-IPVS-IPS", "hash:ip", "family", "inet6", "hashsize", "1024",
             "maxelem", "65536"});
  CHECK(netlink::ipsetCreateArgs("KUBE-6-NODE-PORT-TCP", "bitmap:port", Family::kV6) ==
        Args{"create", "KUBE-6-NODE-PORT-TCP", "bitmap:port", "range", "0-65535"});
}

TEST_CASE("every set name maps back to its set and family", "[ipset]") {
  std::set<std::string> names;
  for (const ipvs::IpsetDef& def : ipvs::ipsetDefs()) {
    for (Family f : {Family::kV4, Family::kV6}) {
      const std::string name = ipvs::ipsetName(def.id, f);
      CHECK(name.size() <= 31);
      names.insert(name);
      const auto back = netlink::lookupIpsetName(name);
      REQUIRE(back.has_value());
      CHECK(back->first == def.id);
      CHECK(back->second == f);
    }
  }
  CHECK(names.size() == 2 * ipvs::kIpsetCount);
  CHECK_FALSE(netlink::lookupIpsetName("KUBE-FOO"));
  CHECK_FALSE(netlink::lookupIpsetName(""));
}

TEST_CASE("temporary names are short, distinct and not agent sets", "[ipset]") {
  std::set<std::string> temps;
  for (const ipvs::IpsetDef& def : ipvs::ipsetDefs()) {
    for (Family f : {Family::kV4, Family::kV6}) {
      const std::string t = netlink::ipsetTempName(def.id, f);
      CHECK(t.size() <= 31);
      CHECK_FALSE(netlink::lookupIpsetName(t));
      temps.insert(t);
    }
  }
  CHECK(temps.size() == 2 * ipvs::kIpsetCount);
  CHECK(netlink::ipsetTempName(IpsetId::kIpvsIps, Family::kV6) == "KUBE-TMP6-16");
}

TEST_CASE("ipset save text is read", "[ipset]") {
  const auto save = netlink::parseIpsetSave(
      "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 "
      "initval 0xcc4c246e\n"
      "add KUBE-CLUSTER-IP 10.0.0.1,tcp:80\n"
      "add KUBE-CLUSTER-IP 10.0.0.2,udp:53 timeout 0 comment \"x y\"\n"
      "create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n"
      "add KUBE-NODE-PORT-TCP 30000\n"
      "\n"
      "garbage\nadd\nadd ONLYNAME\n");
  REQUIRE(save.sets.size() == 2);
  CHECK(save.sets[0].name == "KUBE-CLUSTER-IP");
  CHECK(save.sets[0].type == "hash:ip,port");
  CHECK(save.sets[0].family == "inet");
  CHECK(save.sets[1].type == "bitmap:port");
  CHECK(save.sets[1].family.empty());
  using Member = std::pair<std::string, std::string>;
  CHECK(save.members == std::vector<Member>{{"KUBE-CLUSTER-IP", "10.0.0.1,tcp:80"},
                                            {"KUBE-CLUSTER-IP", "10.0.0.2,udp:53"},
                                            {"KUBE-NODE-PORT-TCP", "30000"}});
}

TEST_CASE("one ipset save line is read as a member", "[ipset]") {
  using Member = std::pair<std::string_view, std::string_view>;
  CHECK(netlink::ipsetSaveMember("add KUBE-LOOP-BACK 10.0.0.1,tcp:80,10.0.0.1") ==
        Member{"KUBE-LOOP-BACK", "10.0.0.1,tcp:80,10.0.0.1"});
  CHECK(netlink::ipsetSaveMember("  add  S  30000  timeout 0") == Member{"S", "30000"});
  CHECK_FALSE(netlink::ipsetSaveMember("add S"));
  CHECK_FALSE(netlink::ipsetSaveMember("create S hash:ip"));
  CHECK_FALSE(netlink::ipsetSaveMember("address S x"));
  CHECK_FALSE(netlink::ipsetSaveMember(""));
}

TEST_CASE("libipset messages map to error codes", "[ipset]") {
  const auto k = [](const char* m) { return netlink::classifyIpsetMessage(m); };
  CHECK(k("Element cannot be added to the set: it's already added") == IpsetError::kAlreadyAdded);
  CHECK(k("Element cannot be deleted from the set: it's not added") == IpsetError::kNotAdded);
  CHECK(k("The set with the given name does not exist") == IpsetError::kSetMissing);
  CHECK(k("Sets cannot be swapped: the second set does not exist") == IpsetError::kSetMissing);
  CHECK(k("Set cannot be destroyed: it is in use by a kernel component") == IpsetError::kSetInUse);
  CHECK(k("Set cannot be created: set with the same name already exists") ==
        IpsetError::kSetExists);
  CHECK(k("The sets cannot be swapped: their type does not match") == IpsetError::kTypeMismatch);
  CHECK(k("Hash is full, cannot add more elements") == IpsetError::kSetFull);
  CHECK(k("Syntax error: '99999' is out of range 0-65535") == IpsetError::kSyntax);
  CHECK(k("Error in line 3: Syntax error: cannot parse 'x' as a tcp port") == IpsetError::kSyntax);
  CHECK(k("Kernel error received: Operation not permitted") == IpsetError::kPermission);
  CHECK(k("Kernel error received: set type not supported") == IpsetError::kKernel);
  CHECK(k("Cannot open session to kernel.") == IpsetError::kKernel);
  CHECK(k("") == IpsetError::kLibrary);
}

TEST_CASE("ipset error codes compare to std::errc", "[ipset]") {
  const std::error_code busy = IpsetError::kSetInUse;
  CHECK(busy == std::errc::device_or_resource_busy);
  CHECK(std::error_code(IpsetError::kAlreadyAdded) == std::errc::file_exists);
  CHECK(std::error_code(IpsetError::kNotAdded) == std::errc::no_such_file_or_directory);
  CHECK(std::error_code(IpsetError::kSyntax) == std::errc::invalid_argument);
  CHECK(std::string(busy.category().name()) == "ipset");
  CHECK_FALSE(busy.message().empty());
}

TEST_CASE("implausible entries are refused", "[ipset]") {
  CHECK(netlink::plausibleIpsetEntry("10.0.0.1,tcp:80"));
  CHECK(netlink::plausibleIpsetEntry("fd00::1,sctp:80,fd00::1"));
  CHECK(netlink::plausibleIpsetEntry("30000"));
  for (const char* bad : {"", "10.0.0.1 tcp:80", "a\"b", "x\ny", "tab\there", "back\\slash"}) {
    CAPTURE(bad);
    CHECK_FALSE(netlink::plausibleIpsetEntry(bad));
  }
  CHECK_FALSE(netlink::plausibleIpsetEntry(std::string(256, '1')));
}

TEST_CASE("the client opens without the kernel and refuses bad entries up front", "[ipset]") {
  // ipset_init does not talk to the kernel; a bad entry is refused before any netlink message.
  auto client = netlink::IpsetClient::open();
  REQUIRE(client.has_value());
  const auto r = client->add({IpsetId::kClusterIP, Family::kV4, "10.0.0.1 tcp:80"});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == IpsetError::kSyntax);
  CHECK(client->counters().invalidEntries == 1);
  CHECK(client->counters().failures == 1);
  CHECK(client->lastError().find("ipset add KUBE-CLUSTER-IP 10.0.0.1 tcp:80") != std::string::npos);
  netlink::IpsetClient moved = std::move(*client);
  CHECK(moved.counters().invalidEntries == 1);
}
