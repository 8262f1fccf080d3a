#include "k8swatch/decode.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "k8swatch/decode_node.h"

namespace json = boost::json;
using namespace k8swatch;

namespace {

template <class T>
T accept(const Decoded<T>& d) {
  if (const auto* r = std::get_if<Rejection>(&d)) FAIL("rejected: " << r->message);
  if (std::holds_alternative<Skipped>(d)) FAIL("skipped");
  return std::get<T>(d);
}

template <class T>
Rejection reject(const Decoded<T>& d) {
  REQUIRE(std::holds_alternative<Rejection>(d));
  return std::get<Rejection>(d);
}

ipvs::IpAddress ip(const char* s) { return *ipvs::IpAddress::parse(s); }

// A Service whose spec gets `specExtra` spliced in.
json::value service(const std::string& specExtra, const std::string& extraTop = "") {
  return json::parse(R"({"kind":"Service","metadata":{"name":"web","namespace":"shop",
    "resourceVersion":"42","uid":"x","labels":{"b":"2","a":"1"},"annotations":{"z":"9"}},
    "spec":{)" + specExtra +
                     "}" + extraTop + "}");
}

json::value slice(const std::string& endpoints, const std::string& ports = R"([{"port":80}])",
                  const std::string& type = "IPv4") {
  return json::parse(R"({"metadata":{"name":"web-abc","namespace":"shop","resourceVersion":"7",
    "labels":{"kubernetes.io/service-name":"web"}},"addressType":")" +
                     type + R"(",
    "ports":)" + ports +
                     R"(,"endpoints":)" + endpoints + "}");
}

}  // namespace

TEST_CASE("decode: a full Service", "[decode]") {
  const auto svc = accept(decodeService(service(R"(
    "type":"LoadBalancer","clusterIP":"10.0.0.1","clusterIPs":["10.0.0.1","fd00::1"],
    "ipFamilies":["IPv4","IPv6"],
    "ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080},
             {"name":"dns","protocol":"UDP","port":53,"targetPort":"dns"},
             {"protocol":"SCTP","port":9}],
    "externalIPs":["192.0.2.5"],"sessionAffinity":"ClientIP",
    "sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}},
    "externalTrafficPolicy":"Local","internalTrafficPolicy":"Local","healthCheckNodePort":31000,
    "loadBalancerSourceRanges":[" 10.1.0.0/16 ","2001:db8::/32"],"unknownField":{"x":1})",
                                                R"(,"status":{"loadBalancer":{"ingress":[
    {"ip":"198.51.100.1"},{"ip":"198.51.100.2","ipMode":"Proxy"},{"hostname":"lb.example"},
    {"ip":"198.51.100.3","ipMode":"VIP"}]}})")));
  CHECK(svc.key == ipvs::ObjectKey{"shop", "web"});
  CHECK(svc.resourceVersion == "42");
  CHECK(svc.type == ipvs::ServiceType::kLoadBalancer);
  CHECK_FALSE(svc.headless);
  CHECK(svc.clusterIPs == std::vector<ipvs::IpAddress>{ip("10.0.0.1"), ip("fd00::1")});
  CHECK(svc.ipFamilies == std::vector<ipvs::Family>{ipvs::Family::kV4, ipvs::Family::kV6});
  REQUIRE(svc.ports.size() == 3);
  CHECK(svc.ports[0] == ipvs::ServicePort{"http", ipvs::Protocol::kTcp, 80, 30080, "8080"});
  CHECK(svc.ports[1] == ipvs::ServicePort{"dns", ipvs::Protocol::kUdp, 53, 0, "dns"});
  CHECK(svc.ports[2] == ipvs::ServicePort{"", ipvs::Protocol::kSctp, 9, 0, ""});
  CHECK(svc.externalIPs == std::vector<ipvs::IpAddress>{ip("192.0.2.5")});
  CHECK(svc.loadBalancerIPs ==
        std::vector<ipvs::IpAddress>{ip("198.51.100.1"), ip("198.51.100.3")});
  CHECK(svc.sessionAffinityClientIP);
  CHECK(svc.sessionAffinityTimeoutSeconds == 60);
  CHECK(svc.externalTrafficPolicy == ipvs::TrafficPolicy::kLocal);
  CHECK(svc.internalTrafficPolicy == ipvs::TrafficPolicy::kLocal);
  CHECK(svc.healthCheckNodePort == 31000);
  REQUIRE(svc.loadBalancerSourceRanges.size() == 2);
  CHECK(svc.loadBalancerSourceRanges[0].toString() == "10.1.0.0/16");
  CHECK(svc.labels == ipvs::StringPairs{{"a", "1"}, {"b", "2"}});
  CHECK(svc.annotations == ipvs::StringPairs{{"z", "9"}});
}

TEST_CASE("decode: Service defaults", "[decode]") {
  const auto svc =
      accept(decodeService(service(R"("clusterIP":"10.0.0.9","ports":[{"port":80}])")));
  CHECK(svc.type == ipvs::ServiceType::kClusterIP);
  CHECK(svc.clusterIPs == std::vector<ipvs::IpAddress>{ip("10.0.0.9")});
  CHECK(svc.ipFamilies == std::vector<ipvs::Family>{ipvs::Family::kV4});  // derived
  CHECK(svc.ports[0].protocol == ipvs::Protocol::kTcp);
  CHECK_FALSE(svc.sessionAffinityClientIP);
  CHECK(svc.sessionAffinityTimeoutSeconds == 10800);
  CHECK(svc.externalTrafficPolicy == ipvs::TrafficPolicy::kCluster);
  CHECK(svc.internalTrafficPolicy == ipvs::TrafficPolicy::kCluster);
  CHECK(svc.healthCheckNodePort == 0);
  // ClientIP without a config keeps the default timeout.
  const auto aff = accept(decodeService(service(R"("sessionAffinity":"ClientIP")")));
  CHECK(aff.sessionAffinityClientIP);
  CHECK(aff.sessionAffinityTimeoutSeconds == 10800);
  // No spec at all is still a (useless) valid object.
  const auto bare =
      accept(decodeService(json::parse(R"({"metadata":{"name":"n","namespace":"d"}})")));
  CHECK(bare.ports.empty());
}

TEST_CASE("decode: headless and ExternalName Services", "[decode]") {
  const auto headless =
      accept(decodeService(service(R"("clusterIP":"None","clusterIPs":["None"])")));
  CHECK(headless.headless);
  CHECK(headless.clusterIPs.empty());
  const auto ext =
      accept(decodeService(service(R"("type":"ExternalName","externalName":"db.example.com")")));
  CHECK(ext.type == ipvs::ServiceType::kExternalName);
  CHECK(ext.clusterIPs.empty());
  const auto np = accept(decodeService(service(R"("type":"NodePort","clusterIP":"10.0.0.2")")));
  CHECK(np.type == ipvs::ServiceType::kNodePort);
}

TEST_CASE("decode: every Service reject reason", "[decode]") {
  struct Case {
    std::string spec;
    std::string_view reason;
    std::string path;
  };
  const std::vector<Case> cases = {
      {R"("clusterIP":"10.0.0.300")", reason::kBadAddress, "spec.clusterIP"},
      {R"("clusterIPs":["10.0.0.1","nope"])", reason::kBadAddress, "spec.clusterIPs[1]"},
      {R"("ports":[{"port":80},{"port":70000}])", reason::kBadPort, "spec.ports[1].port"},
      {R"("ports":[{"port":0}])", reason::kBadPort, "spec.ports[0].port"},
      {R"("ports":[{"name":"x"}])", reason::kBadPort, "spec.ports[0].port"},
      {R"("ports":[{"port":80,"nodePort":-1}])", reason::kBadPort, "spec.ports[0].nodePort"},
      {R"("ports":[{"port":"80"}])", reason::kBadType, "spec.ports[0].port"},
      {R"("ports":[{"port":80,"protocol":"ICMP"}])", reason::kBadProtocol,
       "spec.ports[0].protocol"},
      {R"("ports":[{"port":80,"targetPort":true}])", reason::kBadType, "spec.ports[0].targetPort"},
      {R"("ports":{"port":80})", reason::kBadType, "spec.ports"},
      {R"("ports":[7])", reason::kBadType, "spec.ports[0]"},
      {R"("type":"Weird")", reason::kBadValue, "spec.type"},
      {R"("ipFamilies":["IPv5"])", reason::kBadValue, "spec.ipFamilies[0]"},
      {R"("externalIPs":["1.2.3.4","x"])", reason::kBadAddress, "spec.externalIPs[1]"},
      {R"("sessionAffinity":"Sticky")", reason::kBadValue, "spec.sessionAffinity"},
      {R"("sessionAffinityConfig":{"clientIP":{"timeoutSeconds":0}})", reason::kBadValue,
       "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
      {R"("sessionAffinityConfig":{"clientIP":{"timeoutSeconds":86401}})", reason::kBadValue,
       "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
      {R"("sessionAffinityConfig":{"clientIP":5})", reason::kBadType,
       "spec.sessionAffinityConfig.clientIP"},
      {R"("sessionAffinityConfig":5)", reason::kBadType, "spec.sessionAffinityConfig"},
      {R"("externalTrafficPolicy":"Global")", reason::kBadValue, "spec.externalTrafficPolicy"},
      {R"("internalTrafficPolicy":1)", reason::kBadType, "spec.internalTrafficPolicy"},
      {R"("healthCheckNodePort":65536)", reason::kBadPort, "spec.healthCheckNodePort"},
      {R"("loadBalancerSourceRanges":["10.0.0.0/33"])", reason::kBadCidr,
       "spec.loadBalancerSourceRanges[0]"},
  };
  for (const auto& c : cases) {
    INFO(c.spec);
    const auto r = reject(decodeService(service(c.spec)));
    CHECK(r.reason == c.reason);
    CHECK(r.object == "shop/web");
    CHECK(r.kind == ResourceKind::kService);
    CHECK_THAT(r.message, Catch::StartsWith("Service shop/web: " + c.path + ": "));
  }
}

TEST_CASE("decode: metadata and status rejects", "[decode]") {
  CHECK(reject(decodeService(json::parse("[1]"))).reason == reason::kNotObject);
  CHECK(reject(decodeService(json::parse(R"({"spec":{}})"))).reason == reason::kMissingName);
  CHECK(reject(decodeService(json::parse(R"({"metadata":{"namespace":"a"}})"))).reason ==
        reason::kMissingName);
  CHECK(reject(decodeService(json::parse(R"({"metadata":{"name":""}})"))).reason ==
        reason::kMissingName);
  const auto badName = reject(decodeService(json::parse(R"({"metadata":{"name":5}})")));
  CHECK(badName.reason == reason::kBadType);
  CHECK_THAT(badName.message, Catch::Contains("metadata.name"));
  CHECK(reject(decodeService(
                   json::parse(R"({"metadata":{"name":")" + std::string(300, 'a') + R"("}})")))
            .reason == reason::kTooLarge);
  const auto label = reject(
      decodeService(json::parse(R"({"metadata":{"name":"a","namespace":"b","labels":{"x":1}}})")));
  CHECK(label.reason == reason::kBadType);
  CHECK_THAT(label.message, Catch::Contains("metadata.labels.x"));
  const auto lb = reject(
      decodeService(service("", R"(,"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3"}]}})")));
  CHECK(lb.reason == reason::kBadAddress);
  CHECK_THAT(lb.message, Catch::Contains("status.loadBalancer.ingress[0].ip"));
  std::string ports = "[";
  for (std::size_t i = 0; i <= kMaxPorts; ++i) ports += std::string(i ? "," : "") + R"({"port":1})";
  CHECK(reject(decodeService(service(R"("ports":)" + ports + "]"))).reason == reason::kTooLarge);
}

TEST_CASE("decode: EndpointSlice with conditions defaults and hints", "[decode]") {
  const auto s = accept(decodeEndpointSlice(slice(R"([
    {"addresses":["10.1.0.1","10.1.0.99"],"conditions":{"ready":true},"nodeName":"n1","zone":"z1",
     "hints":{"forZones":[{"name":"z1"},{"name":"z2"}],"forNodes":[{"name":"n1"}]},"targetRef":{}},
    {"addresses":["10.1.0.2"],"conditions":{"ready":false}},
    {"addresses":["10.1.0.3"],"conditions":{"ready":false,"serving":true,"terminating":true}},
    {"addresses":["10.1.0.4"]},
    {"addresses":["10.1.0.5"],"conditions":{"ready":null,"serving":null}}])",
                                                  R"([{"name":"http","port":8080},
    {"name":"dns","protocol":"UDP","port":53},{"name":"unset","port":null}])")));
  CHECK(s.key == ipvs::ObjectKey{"shop", "web-abc"});
  CHECK(s.serviceName == "web");
  CHECK(s.serviceKey() == ipvs::ObjectKey{"shop", "web"});
  CHECK(s.resourceVersion == "7");
  CHECK(s.addressType == ipvs::Family::kV4);
  REQUIRE(s.ports.size() == 3);
  CHECK(s.ports[0] == ipvs::EndpointPort{"http", ipvs::Protocol::kTcp, 8080});
  CHECK(s.ports[1] == ipvs::EndpointPort{"dns", ipvs::Protocol::kUdp, 53});
  CHECK(s.ports[2] == ipvs::EndpointPort{"unset", ipvs::Protocol::kTcp, 0});
  REQUIRE(s.endpoints.size() == 5);
  const auto& e0 = s.endpoints[0];
  CHECK(e0.address == ip("10.1.0.1"));
  CHECK((e0.ready && e0.serving && !e0.terminating));
  CHECK(e0.nodeName == "n1");
  CHECK(e0.zone == "z1");
  CHECK(e0.hintZones == ipvs::NameList{"z1", "z2"});
  CHECK(e0.hintNodes == ipvs::NameList{"n1"});
  CHECK((!s.endpoints[1].ready && !s.endpoints[1].serving && !s.endpoints[1].terminating));
  CHECK((!s.endpoints[2].ready && s.endpoints[2].serving && s.endpoints[2].terminating));
  CHECK((s.endpoints[3].ready && s.endpoints[3].serving && !s.endpoints[3].terminating));
  CHECK((s.endpoints[4].ready && s.endpoints[4].serving));
}

TEST_CASE("decode: IPv6 and FQDN slices", "[decode]") {
  const auto v6 =
      accept(decodeEndpointSlice(slice(R"([{"addresses":["fd00::5"]}])", "[]", "IPv6")));
  CHECK(v6.addressType == ipvs::Family::kV6);
  CHECK(v6.endpoints[0].address == ip("fd00::5"));
  const auto fqdn =
      decodeEndpointSlice(slice(R"([{"addresses":["db.example.com"]}])", "[]", "FQDN"));
  REQUIRE(std::holds_alternative<Skipped>(fqdn));
  CHECK(std::get<Skipped>(fqdn).object == "shop/web-abc");
  // A slice with no endpoints and no ports is valid (a Service scaled to zero).
  const auto empty = accept(decodeEndpointSlice(json::parse(
      R"({"metadata":{"name":"e","namespace":"d","labels":{"kubernetes.io/service-name":"s"}},
      "addressType":"IPv4","endpoints":null,"ports":null})")));
  CHECK(empty.endpoints.empty());
}

TEST_CASE("decode: every EndpointSlice reject reason", "[decode]") {
  struct Case {
    json::value v;
    std::string_view reason;
    std::string where;
  };
  const std::vector<Case> cases = {
      {slice(R"([{"addresses":["10.1.0.300"]}])"), reason::kBadAddress,
       "endpoints[0].addresses[0]"},
      {slice(R"([{"addresses":["fd00::1"]}])"), reason::kBadAddress, "endpoints[0].addresses[0]"},
      {slice(R"([{"addresses":[]}])"), reason::kBadAddress, "endpoints[0].addresses"},
      {slice(R"([{"nodeName":"n"}])"), reason::kBadAddress, "endpoints[0].addresses"},
      {slice(R"([{"addresses":"10.0.0.1"}])"), reason::kBadType, "endpoints[0].addresses"},
      {slice(R"([{"addresses":["10.0.0.1"],"conditions":{"ready":"yes"}}])"), reason::kBadType,
       "endpoints[0].conditions.ready"},
      {slice(R"([{"addresses":["10.0.0.1"],"nodeName":1}])"), reason::kBadType,
       "endpoints[0].nodeName"},
      {slice(R"([{"addresses":["10.0.0.1"],"hints":{"forZones":[{"name":2}]}}])"), reason::kBadType,
       "endpoints[0].hints.forZones[0].name"},
      {slice(R"([{"addresses":["10.0.0.1"]}, 3])"), reason::kBadType, "endpoints[1]"},
      {slice("[]", R"([{"port":65536}])"), reason::kBadPort, "ports[0].port"},
      {slice("[]", R"([{"port":80,"protocol":"tcp6"}])"), reason::kBadProtocol,
       "ports[0].protocol"},
      {slice("[]", "[]", "IPv7"), reason::kBadValue, "addressType"},
      {json::parse(R"({"metadata":{"name":"x","namespace":"d"},"addressType":"IPv4"})"),
       reason::kMissingServiceName, "metadata.labels"},
      {json::parse(
           R"({"metadata":{"name":"x","namespace":"d","labels":{"kubernetes.io/service-name":""}},"addressType":"IPv4"})"),
       reason::kMissingServiceName, "metadata.labels"},
      {json::parse(
           R"({"metadata":{"name":"x","namespace":"d","labels":{"kubernetes.io/service-name":"s"}}})"),
       reason::kBadValue, "addressType"},
  };
  for (const auto& c : cases) {
    INFO(json::serialize(c.v));
    const auto r = reject(decodeEndpointSlice(c.v));
    CHECK(r.reason == c.reason);
    CHECK(r.kind == ResourceKind::kEndpointSlice);
    CHECK_THAT(r.message, Catch::Contains(": " + c.where + ": "));
  }
}

TEST_CASE("decode: Node", "[decode]") {
  const auto node = accept(decodeNode(json::parse(R"({"kind":"Node","metadata":{"name":"n1",
    "resourceVersion":"5","labels":{"topology.kubernetes.io/zone":"z1","a":"b"}},
    "status":{"addresses":[{"type":"Hostname","address":"n1"},{"type":"ExternalIP","address":"203.0.113.4"},
    {"type":"InternalIP","address":"10.0.0.4"},{"type":"InternalDNS","address":"n1.local"},
    {"type":"InternalIP","address":"fd00::4"}]}})")));
  CHECK(node.name == "n1");
  CHECK(node.resourceVersion == "5");
  CHECK(node.addresses ==
        std::vector<ipvs::IpAddress>{ip("203.0.113.4"), ip("10.0.0.4"), ip("fd00::4")});
  CHECK(node.labels == ipvs::StringPairs{{"a", "b"}, {"topology.kubernetes.io/zone", "z1"}});
  const auto bad = reject(decodeNode(json::parse(
      R"({"metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"x"}]}})")));
  CHECK(bad.reason == reason::kBadAddress);
  CHECK_THAT(bad.message, Catch::StartsWith("Node n1: status.addresses[0].address: "));
  CHECK(reject(decodeNode(json::parse(R"({"metadata":{}})"))).reason == reason::kMissingName);
}

TEST_CASE("decode: Node podCIDRs (detect-local-mode NodeCIDR)", "[decode]") {
  const auto cidr = [](const char* t) { return *ipvs::Cidr::parse(t); };
  CHECK(accept(decodeNode(json::parse(R"({"metadata":{"name":"n1"},
    "spec":{"podCIDR":"10.244.1.0/24","podCIDRs":["10.244.1.0/24","fd00:1::/64"]}})")))
            .podCIDRs == std::vector<ipvs::Cidr>{cidr("10.244.1.0/24"), cidr("fd00:1::/64")});
  CHECK(accept(decodeNode(json::parse(R"({"metadata":{"name":"n1"},
    "spec":{"podCIDR":"10.244.2.0/24"}})")))
            .podCIDRs == std::vector<ipvs::Cidr>{cidr("10.244.2.0/24")});
  CHECK(
      accept(decodeNode(json::parse(R"({"metadata":{"name":"n1"},"spec":{}})"))).podCIDRs.empty());
  CHECK(accept(decodeNode(json::parse(R"({"metadata":{"name":"n1"}})"))).podCIDRs.empty());
  const auto bad = reject(decodeNode(json::parse(
      R"({"metadata":{"name":"n1"},"spec":{"podCIDRs":["10.244.1.0/24","10.1.2.3"]}})")));
  CHECK(bad.reason == reason::kBadAddress);
  CHECK_THAT(bad.message, Catch::StartsWith("Node n1: spec.podCIDRs[1]: "));
  CHECK(reject(decodeNode(json::parse(R"({"metadata":{"name":"n1"},"spec":{"podCIDRs":"x"}})")))
            .reason == reason::kBadType);
}

TEST_CASE("decode: keys and resource versions", "[decode]") {
  const auto v = json::parse(R"({"metadata":{"name":"a","namespace":"b","resourceVersion":"9"}})");
  CHECK(decodeKey(v) == ipvs::ObjectKey{"b", "a"});
  CHECK(decodeResourceVersion(v) == "9");
  CHECK_FALSE(decodeKey(json::parse(R"({"metadata":{"name":3}})")));
  CHECK(decodeResourceVersion(json::parse("[]")).empty());
}
