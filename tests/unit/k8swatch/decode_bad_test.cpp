// Bad objects (issue #14, "Bad objects"): every field of a valid Service and EndpointSlice is
// given a wrong type, an out-of-range value or an absurd size. Each mutation must be rejected
// alone, with the field path and the object named, and counted; a good object decoded in the
// same list still arrives.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "k8swatch/decode.h"
#include "k8swatch/decode_slice_stream.h"
#include "k8swatch/object_cache.h"
#include "k8swatch/stats.h"

namespace json = boost::json;
using namespace k8swatch;

namespace {

const char* const kService = R"({"kind":"Service",
  "metadata":{"name":"web","namespace":"shop","resourceVersion":"1","labels":{"a":"1"},
    "annotations":{"z":"9"}},
  "spec":{"type":"LoadBalancer","clusterIP":"10.0.0.1","clusterIPs":["10.0.0.1"],
    "ipFamilies":["IPv4"],
    "ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080}],
    "externalIPs":["50.0.0.1"],"sessionAffinity":"ClientIP",
    "sessionAffinityConfig":{"clientIP":{"timeoutSeconds":100}},
    "externalTrafficPolicy":"Local","internalTrafficPolicy":"Cluster",
    "healthCheckNodePort":30999,"loadBalancerSourceRanges":["10.0.0.0/8"]},
  "status":{"loadBalancer":{"ingress":[{"ip":"60.0.0.1","ipMode":"VIP"}]}}})";

const char* const kSlice = R"({"kind":"EndpointSlice",
  "metadata":{"name":"web-1","namespace":"shop","resourceVersion":"1",
    "labels":{"kubernetes.io/service-name":"web"}},
  "addressType":"IPv4",
  "ports":[{"name":"http","protocol":"TCP","port":8080}],
  "endpoints":[{"addresses":["10.1.0.1"],"conditions":{"ready":true,"serving":true,
    "terminating":false},"nodeName":"n1","zone":"z1",
    "hints":{"forZones":[{"name":"z1"}],"forNodes":[{"name":"n1"}]}}]})";

struct Mutation {
  std::string pointer;  // JSON pointer of the field to replace
  json::value value;    // its new value
  std::string_view reason;
  std::string path;  // the field path the message must name
};

json::value repeat(const json::value& item, std::size_t n) {
  json::array a;
  a.resize(n, item);
  return a;
}

json::value manyPairs(std::size_t n) {
  json::object o;
  for (std::size_t i = 0; i < n; ++i) o["k" + std::to_string(i)] = "v";
  return o;
}

const std::string kHuge(1 << 20, 'a');  // 1 MiB
const json::value kNulIp = json::string(std::string("10.0.0.1\0junk", 13));

// Wrong types, out-of-range values and absurd sizes for every field of kService.
std::vector<Mutation> serviceMutations() {
  using namespace reason;
  return {
      {"/metadata/namespace", json::array{}, kBadType, "metadata.namespace"},
      {"/metadata/namespace", json::string(kHuge), kTooLarge, "metadata"},
      {"/metadata/resourceVersion", 5, kBadType, "metadata.resourceVersion"},
      {"/metadata/resourceVersion", json::string(kHuge), kTooLarge, "metadata.resourceVersion"},
      {"/metadata/labels", json::array{}, kBadType, "metadata.labels"},
      {"/metadata/labels/a", 1, kBadType, "metadata.labels.a"},
      {"/metadata/labels", manyPairs(kMaxLabels + 1), kTooLarge, "metadata.labels"},
      {"/metadata/labels/a", json::string(kHuge), kTooLarge, "metadata.labels.a"},
      {"/metadata/annotations", "x", kBadType, "metadata.annotations"},
      {"/metadata/annotations/z", true, kBadType, "metadata.annotations.z"},
      {"/metadata/annotations/z", json::string(kHuge), kTooLarge, "metadata.annotations"},
      {"/spec", json::array{}, kBadType, "spec"},
      {"/spec/type", 1, kBadType, "spec.type"},
      {"/spec/type", "Weird", kBadValue, "spec.type"},
      {"/spec/type", json::string(kHuge), kBadValue, "spec.type"},
      {"/spec/clusterIP", 1, kBadType, "spec.clusterIP"},
      {"/spec/clusterIP", kNulIp, kBadAddress, "spec.clusterIP"},
      {"/spec/clusterIPs", "10.0.0.1", kBadType, "spec.clusterIPs"},
      {"/spec/clusterIPs/0", 5, kBadType, "spec.clusterIPs[0]"},
      {"/spec/clusterIPs/0", kNulIp, kBadAddress, "spec.clusterIPs[0]"},
      {"/spec/clusterIPs/0", json::string(kHuge), kBadAddress, "spec.clusterIPs[0]"},
      {"/spec/clusterIPs", repeat("10.0.0.1", kMaxAddresses + 1), kTooLarge, "spec.clusterIPs"},
      {"/spec/ipFamilies", "IPv4", kBadType, "spec.ipFamilies"},
      {"/spec/ipFamilies/0", 4, kBadType, "spec.ipFamilies[0]"},
      {"/spec/ipFamilies/0", "IPv5", kBadValue, "spec.ipFamilies[0]"},
      {"/spec/ipFamilies", repeat("IPv4", kMaxAddresses + 1), kTooLarge, "spec.ipFamilies"},
      {"/spec/ports", json::object{}, kBadType, "spec.ports"},
      {"/spec/ports/0", "x", kBadType, "spec.ports[0]"},
      {"/spec/ports", repeat(json::parse(R"({"port":1})"), kMaxPorts + 1), kTooLarge, "spec.ports"},
      {"/spec/ports/0/name", 5, kBadType, "spec.ports[0].name"},
      {"/spec/ports/0/name", json::string(kHuge), kTooLarge, "spec.ports[0].name"},
      {"/spec/ports/0/protocol", 6, kBadType, "spec.ports[0].protocol"},
      {"/spec/ports/0/protocol", "ICMP", kBadProtocol, "spec.ports[0].protocol"},
      {"/spec/ports/0/port", "80", kBadType, "spec.ports[0].port"},
      {"/spec/ports/0/port", 80.5, kBadType, "spec.ports[0].port"},
      {"/spec/ports/0/port", 0, kBadPort, "spec.ports[0].port"},
      {"/spec/ports/0/port", -1, kBadPort, "spec.ports[0].port"},
      {"/spec/ports/0/port", 65536, kBadPort, "spec.ports[0].port"},
      {"/spec/ports/0/port", UINT64_MAX, kBadValue, "spec.ports[0].port"},
      {"/spec/ports/0/targetPort", json::array{}, kBadType, "spec.ports[0].targetPort"},
      {"/spec/ports/0/targetPort", 70000, kBadPort, "spec.ports[0].targetPort"},
      {"/spec/ports/0/targetPort", -8080, kBadPort, "spec.ports[0].targetPort"},
      {"/spec/ports/0/targetPort", json::string(kHuge), kTooLarge, "spec.ports[0].targetPort"},
      {"/spec/ports/0/nodePort", "x", kBadType, "spec.ports[0].nodePort"},
      {"/spec/ports/0/nodePort", 65536, kBadPort, "spec.ports[0].nodePort"},
      {"/spec/externalIPs", "x", kBadType, "spec.externalIPs"},
      {"/spec/externalIPs/0", 5, kBadType, "spec.externalIPs[0]"},
      {"/spec/externalIPs/0", kNulIp, kBadAddress, "spec.externalIPs[0]"},
      {"/spec/externalIPs", repeat("50.0.0.1", kMaxAddresses + 1), kTooLarge, "spec.externalIPs"},
      {"/spec/sessionAffinity", 1, kBadType, "spec.sessionAffinity"},
      {"/spec/sessionAffinity", "Sticky", kBadValue, "spec.sessionAffinity"},
      {"/spec/sessionAffinityConfig", json::array{}, kBadType, "spec.sessionAffinityConfig"},
      {"/spec/sessionAffinityConfig/clientIP", "x", kBadType,
       "spec.sessionAffinityConfig.clientIP"},
      {"/spec/sessionAffinityConfig/clientIP/timeoutSeconds", "100", kBadType,
       "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
      {"/spec/sessionAffinityConfig/clientIP/timeoutSeconds", -1, kBadValue,
       "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
      {"/spec/sessionAffinityConfig/clientIP/timeoutSeconds", 86401, kBadValue,
       "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
      {"/spec/externalTrafficPolicy", 1, kBadType, "spec.externalTrafficPolicy"},
      {"/spec/externalTrafficPolicy", "Global", kBadValue, "spec.externalTrafficPolicy"},
      {"/spec/internalTrafficPolicy", true, kBadType, "spec.internalTrafficPolicy"},
      {"/spec/healthCheckNodePort", "x", kBadType, "spec.healthCheckNodePort"},
      {"/spec/healthCheckNodePort", -5, kBadPort, "spec.healthCheckNodePort"},
      {"/spec/loadBalancerSourceRanges", "x", kBadType, "spec.loadBalancerSourceRanges"},
      {"/spec/loadBalancerSourceRanges/0", 5, kBadType, "spec.loadBalancerSourceRanges[0]"},
      {"/spec/loadBalancerSourceRanges/0", "10.0.0.0/33", kBadCidr,
       "spec.loadBalancerSourceRanges[0]"},
      {"/spec/loadBalancerSourceRanges/0", json::string(std::string("10.0.0.0/8\0x", 12)), kBadCidr,
       "spec.loadBalancerSourceRanges[0]"},
      {"/spec/loadBalancerSourceRanges", repeat("10.0.0.0/8", kMaxAddresses + 1), kTooLarge,
       "spec.loadBalancerSourceRanges"},
      {"/status", 5, kBadType, "status"},
      {"/status/loadBalancer", json::array{}, kBadType, "status.loadBalancer"},
      {"/status/loadBalancer/ingress", json::object{}, kBadType, "status.loadBalancer.ingress"},
      {"/status/loadBalancer/ingress/0", 5, kBadType, "status.loadBalancer.ingress[0]"},
      {"/status/loadBalancer/ingress/0/ip", 5, kBadType, "status.loadBalancer.ingress[0].ip"},
      {"/status/loadBalancer/ingress/0/ip", kNulIp, kBadAddress,
       "status.loadBalancer.ingress[0].ip"},
      {"/status/loadBalancer/ingress/0/ipMode", 5, kBadType,
       "status.loadBalancer.ingress[0].ipMode"},
      {"/status/loadBalancer/ingress", repeat(json::object{}, kMaxAddresses + 1), kTooLarge,
       "status.loadBalancer.ingress"},
  };
}

std::vector<Mutation> sliceMutations() {
  using namespace reason;
  const std::string ep = "/endpoints/0";
  return {
      {"/metadata/namespace", 5, kBadType, "metadata.namespace"},
      {"/metadata/labels", json::array{}, kBadType, "metadata.labels"},
      {"/metadata/labels/kubernetes.io~1service-name", 5, kBadType,
       "metadata.labels.kubernetes.io/service-name"},
      {"/metadata/labels/kubernetes.io~1service-name", json::string(kHuge), kTooLarge,
       "metadata.labels.kubernetes.io/service-name"},
      {"/metadata/labels", manyPairs(kMaxLabels + 1), kTooLarge, "metadata.labels"},
      {"/addressType", 4, kBadType, "addressType"},
      {"/addressType", "IPv7", kBadValue, "addressType"},
      {"/addressType", json::string(kHuge), kBadValue, "addressType"},
      {"/ports", json::object{}, kBadType, "ports"},
      {"/ports/0", 5, kBadType, "ports[0]"},
      {"/ports", repeat(json::parse(R"({"port":1})"), kMaxPorts + 1), kTooLarge, "ports"},
      {"/ports/0/name", 5, kBadType, "ports[0].name"},
      {"/ports/0/name", json::string(kHuge), kTooLarge, "ports[0].name"},
      {"/ports/0/protocol", true, kBadType, "ports[0].protocol"},
      {"/ports/0/protocol", "tcp6", kBadProtocol, "ports[0].protocol"},
      {"/ports/0/port", "8080", kBadType, "ports[0].port"},
      {"/ports/0/port", -1, kBadPort, "ports[0].port"},
      {"/ports/0/port", 65536, kBadPort, "ports[0].port"},
      {"/endpoints", json::object{}, kBadType, "endpoints"},
      {"/endpoints/0", "x", kBadType, "endpoints[0]"},
      {"/endpoints", repeat(json::parse(R"({"addresses":["10.1.0.1"]})"), kMaxEndpoints + 1),
       kTooLarge, "endpoints"},
      {ep + "/addresses", "10.1.0.1", kBadType, "endpoints[0].addresses"},
      {ep + "/addresses", json::array{}, kBadAddress, "endpoints[0].addresses"},
      {ep + "/addresses/0", 5, kBadType, "endpoints[0].addresses[0]"},
      {ep + "/addresses/0", kNulIp, kBadAddress, "endpoints[0].addresses[0]"},
      {ep + "/addresses/0", json::string(kHuge), kBadAddress, "endpoints[0].addresses[0]"},
      {ep + "/addresses/0", "fd00::1", kBadAddress, "endpoints[0].addresses[0]"},
      {ep + "/addresses", repeat("10.1.0.1", kMaxAddresses + 1), kTooLarge,
       "endpoints[0].addresses"},
      {ep + "/conditions", json::array{}, kBadType, "endpoints[0].conditions"},
      {ep + "/conditions/ready", "yes", kBadType, "endpoints[0].conditions.ready"},
      {ep + "/conditions/serving", 1, kBadType, "endpoints[0].conditions.serving"},
      {ep + "/conditions/terminating", "no", kBadType, "endpoints[0].conditions.terminating"},
      {ep + "/nodeName", 1, kBadType, "endpoints[0].nodeName"},
      {ep + "/nodeName", json::string(kHuge), kTooLarge, "endpoints[0].nodeName"},
      {ep + "/zone", json::array{}, kBadType, "endpoints[0].zone"},
      {ep + "/zone", json::string(kHuge), kTooLarge, "endpoints[0].zone"},
      {ep + "/hints", 5, kBadType, "endpoints[0].hints"},
      {ep + "/hints/forZones", json::object{}, kBadType, "endpoints[0].hints.forZones"},
      {ep + "/hints/forZones/0", "z1", kBadType, "endpoints[0].hints.forZones[0]"},
      {ep + "/hints/forZones/0/name", 2, kBadType, "endpoints[0].hints.forZones[0].name"},
      {ep + "/hints/forZones/0/name", json::string(kHuge), kTooLarge,
       "endpoints[0].hints.forZones[0].name"},
      {ep + "/hints/forNodes", repeat(json::parse(R"({"name":"n"})"), kMaxAddresses + 1), kTooLarge,
       "endpoints[0].hints.forNodes"},
  };
}

json::value mutate(const char* base, const Mutation& m) {
  json::value v = json::parse(base);
  v.at_pointer(m.pointer) = m.value;
  return v;
}

// What reaches the sink through an ObjectCache list.
struct Sink : EventSink {
  std::vector<std::string> updated;
  std::vector<std::string> rejects;
  void serviceUpdated(ipvs::Service s) override { updated.push_back(s.key.str()); }
  void serviceDeleted(const ipvs::ObjectKey&) override {}
  void sliceUpdated(ipvs::EndpointSlice s) override { updated.push_back(s.key.str()); }
  void sliceDeleted(const ipvs::EndpointSlice&) override {}
  void nodeUpdated(ipvs::Node) override {}
  void synced(ResourceKind) override {}
  void rejected(ResourceKind, const std::string& object, std::string_view reason,
                const std::string&) override {
    rejects.push_back(object + " " + std::string(reason));
  }
};

// A list holding the mutated object and a good one with another name: only the bad one is
// rejected and counted.
void checkListAlone(ResourceKind kind, const char* base, const json::value& bad,
                    std::string_view reason) {
  Sink sink;
  WatchStats stats;
  auto cache = makeObjectCache(kind, sink, stats);
  json::value good = json::parse(base);
  good.at_pointer("/metadata/name") = "other";
  cache->beginList();
  cache->listItem(bad);
  cache->listItem(good);
  cache->endList();
  CHECK(sink.updated == std::vector<std::string>{"shop/other"});
  REQUIRE(sink.rejects.size() == 1);
  CHECK_THAT(sink.rejects[0], Catch::EndsWith(" " + std::string(reason)));
  CHECK(stats.snapshot().rejectsByReason ==
        std::map<std::string, std::uint64_t>{{std::string(reason), 1}});
}

template <class Decode>
void checkMutations(ResourceKind kind, const char* base, const std::string& name,
                    const std::vector<Mutation>& mutations, Decode decode) {
  const auto valid = decode(json::parse(base));
  REQUIRE_FALSE(std::holds_alternative<Rejection>(valid));
  REQUIRE_FALSE(std::holds_alternative<Skipped>(valid));
  for (const auto& m : mutations) {
    INFO(m.pointer << " = " << json::serialize(m.value).substr(0, 80));
    const json::value v = mutate(base, m);
    const auto d = decode(v);
    CHECK(std::holds_alternative<Rejection>(d));
    if (!std::holds_alternative<Rejection>(d)) continue;
    const auto& r = std::get<Rejection>(d);
    CHECK(r.reason == m.reason);
    CHECK(r.kind == kind);
    // A broken namespace cannot name the object fully; everything else names namespace/name.
    if (m.pointer != "/metadata/namespace") CHECK(r.object == name);
    CHECK_THAT(r.message, Catch::StartsWith(std::string(resourceKindName(kind)) + " "));
    CHECK_THAT(r.message, Catch::Contains(": " + m.path + ": "));
    // The offending value is quoted at most in part: no megabyte log lines, no raw NUL.
    CHECK(r.message.size() < 400);
    CHECK(r.message.find('\0') == std::string::npos);
    checkListAlone(kind, base, v, m.reason);
  }
}

}  // namespace

TEST_CASE("bad objects: every Service field mutated is rejected alone and named", "[decode][bad]") {
  checkMutations(ResourceKind::kService, kService, "shop/web", serviceMutations(),
                 [](const json::value& v) { return decodeService(v); });
}

TEST_CASE("bad objects: every EndpointSlice field mutated is rejected alone and named",
          "[decode][bad]") {
  checkMutations(ResourceKind::kEndpointSlice, kSlice, "shop/web-1", sliceMutations(),
                 [](const json::value& v) { return decodeEndpointSlice(v); });
}

TEST_CASE("bad objects: the streaming slice decoder gives the DOM decoder's every rejection",
          "[decode][bad][stream]") {
  for (const auto& m : sliceMutations()) {
    INFO(m.pointer << " = " << json::serialize(m.value).substr(0, 80));
    const std::string text = json::serialize(mutate(kSlice, m));
    CHECK_FALSE(streamDecodeEndpointSlice(text).has_value());
    boost::system::error_code ec;
    const auto viaText = decodeEndpointSliceText(text, ec);
    const auto viaDom = decodeEndpointSlice(json::parse(text));
    REQUIRE(std::holds_alternative<Rejection>(viaText));
    REQUIRE(std::holds_alternative<Rejection>(viaDom));
    CHECK(std::get<Rejection>(viaText).reason == std::get<Rejection>(viaDom).reason);
    CHECK(std::get<Rejection>(viaText).object == std::get<Rejection>(viaDom).object);
    CHECK(std::get<Rejection>(viaText).message == std::get<Rejection>(viaDom).message);
  }
}
