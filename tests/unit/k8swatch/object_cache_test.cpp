// ObjectCache keeps only each object's identity (resourceVersion, and the owning Service for an
// EndpointSlice): these check that dedupe, relist deletions and watch deletions still report the
// right objects from that identity alone.
#include "k8swatch/object_cache.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using namespace k8swatch;
namespace json = boost::json;

json::value slice(const std::string& name, const std::string& rv, const std::string& service) {
  return json::parse(R"({"kind":"EndpointSlice","metadata":{"name":")" + name +
                     R"(","namespace":"shop","resourceVersion":")" + rv +
                     R"(","labels":{"kubernetes.io/service-name":")" + service +
                     R"("}},"addressType":"IPv4","ports":[{"name":"http","protocol":"TCP",)"
                     R"("port":8080}],"endpoints":[{"addresses":["10.1.0.1"],)"
                     R"("conditions":{"ready":true}}]})");
}

// Records every call as one line; deletions show what the cache could say about the slice.
struct Sink : EventSink {
  std::vector<std::string> log;
  void serviceUpdated(ipvs::Service s) override { log.push_back("svc+ " + s.key.str()); }
  void serviceDeleted(const ipvs::ObjectKey& k) override { log.push_back("svc- " + k.str()); }
  void sliceUpdated(ipvs::EndpointSlice s) override {
    log.push_back("slice+ " + s.key.str() + " rv " + s.resourceVersion + " of " + s.serviceName +
                  " eps " + std::to_string(s.endpoints.size()));
  }
  void sliceDeleted(const ipvs::EndpointSlice& s) override {
    log.push_back("slice- " + s.key.str() + " rv " + s.resourceVersion + " of " + s.serviceName);
  }
  void nodeUpdated(ipvs::Node) override {}
  void synced(ResourceKind k) override {
    log.push_back("synced " + std::string(resourceKindName(k)));
  }
  void rejected(ResourceKind, const std::string&, std::string_view, const std::string&) override {}
};

void list(ObjectCache& cache, const std::vector<json::value>& items) {
  cache.beginList();
  for (const auto& i : items) cache.listItem(i);
  cache.endList();
}

}  // namespace

TEST_CASE("object cache: a relist re-delivering the same resourceVersion is not forwarded",
          "[objectcache]") {
  Sink sink;
  WatchStats stats;
  auto cache = makeObjectCache(ResourceKind::kEndpointSlice, sink, stats);
  list(*cache, {slice("web-1", "5", "web"), slice("web-2", "6", "web")});
  sink.log.clear();
  list(*cache, {slice("web-1", "5", "web"), slice("web-2", "7", "web")});
  CHECK(sink.log == std::vector<std::string>{"slice+ shop/web-2 rv 7 of web eps 1"});
  CHECK(cache->size() == 2);
}

TEST_CASE("object cache: deletions name the slice's last Service and resourceVersion",
          "[objectcache]") {
  Sink sink;
  WatchStats stats;
  auto cache = makeObjectCache(ResourceKind::kEndpointSlice, sink, stats);
  list(*cache, {slice("web-1", "5", "web"), slice("web-2", "6", "web")});
  // The owner label moves: the deletion must name the Service the slice last belonged to.
  cache->upsert(slice("web-1", "8", "shop-api"));
  sink.log.clear();

  SECTION("a relist that no longer contains it") {
    list(*cache, {slice("web-2", "6", "web")});
    CHECK(sink.log == std::vector<std::string>{"slice- shop/web-1 rv 8 of shop-api"});
  }
  SECTION("a watch DELETED event") {
    cache->remove(slice("web-1", "9", "ignored"));
    CHECK(sink.log == std::vector<std::string>{"slice- shop/web-1 rv 8 of shop-api"});
    cache->remove(slice("never-seen", "1", "web"));  // nothing to undo
    CHECK(sink.log.size() == 1);
  }
  CHECK(cache->size() == 1);
}
