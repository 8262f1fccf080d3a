// Taking a node over from kube-proxy's iptables mode: removing its leftovers must keep the
// IPVS-mode chains that share their names (KUBE-SERVICES, KUBE-MARK-MASQ, ...).

#include <catch2/catch.hpp>

#include "ipvs/iptables_rules.h"

using namespace ipvs;

TEST_CASE("iptables-mode cleanup keeps the IPVS chains of the same name", "[iptables]") {
  const std::string save = R"(*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-ABC - [0:0]
:KUBE-SEP-DEF - [0:0]
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j KUBE-SVC-ABC
-A KUBE-SVC-ABC -j KUBE-SEP-DEF
-A KUBE-SEP-DEF -p tcp -j DNAT --to-destination 10.244.0.1:6443
COMMIT
)";
  const std::string legacyOnly = renderCleanup(save, {false, true});
  CHECK(legacyOnly.find("-X KUBE-SVC-ABC") != std::string::npos);
  CHECK(legacyOnly.find("-X KUBE-SEP-DEF") != std::string::npos);
  CHECK(legacyOnly.find("-X KUBE-NODEPORTS") != std::string::npos);
  CHECK(legacyOnly.find("-D KUBE-SERVICES -d 10.96.0.1/32") != std::string::npos);
  CHECK(legacyOnly.find("KUBE-SERVICES - [0:0]") == std::string::npos);
  CHECK(legacyOnly.find("-X KUBE-SERVICES") == std::string::npos);
  CHECK(legacyOnly.find("-X KUBE-MARK-MASQ") == std::string::npos);

  const std::string everything = renderCleanup(save, {true, true});
  CHECK(everything.find("-X KUBE-SERVICES") != std::string::npos);
  CHECK(everything.find("-X KUBE-MARK-MASQ") != std::string::npos);
}
