#include "k8swatch/object_cache.h"

#include <boost/json/value.hpp>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "k8swatch/decode.h"
#include "k8swatch/decode_node.h"

namespace k8swatch {

namespace json = boost::json;

namespace {

// What the cache remembers of an accepted object: enough to suppress an unchanged re-delivery
// and to report its deletion, never the object itself (reconcile's ClusterCache holds the one
// copy). At 10k Services x 10 endpoints the full slices alone were 13.6 MiB.
struct Identity {
  std::string resourceVersion;
  std::string serviceName;  // EndpointSlices only: sliceDeleted() names the Service
};

// What differs between the three resources: decoding, the key, and the sink calls.
struct ServiceTraits {
  using Object = ipvs::Service;
  static constexpr ResourceKind kKind = ResourceKind::kService;
  static Decoded<Object> decode(const json::value& v) { return decodeService(v); }
  static const ipvs::ObjectKey& key(const Object& o) { return o.key; }
  static void updated(EventSink& s, Object o) { s.serviceUpdated(std::move(o)); }
  static std::string owner(const Object&) { return {}; }
  static void deleted(EventSink& s, const ipvs::ObjectKey& k, const Identity&) {
    s.serviceDeleted(k);
  }
};

struct SliceTraits {
  using Object = ipvs::EndpointSlice;
  static constexpr ResourceKind kKind = ResourceKind::kEndpointSlice;
  static Decoded<Object> decode(const json::value& v) { return decodeEndpointSlice(v); }
  static const ipvs::ObjectKey& key(const Object& o) { return o.key; }
  static void updated(EventSink& s, Object o) { s.sliceUpdated(std::move(o)); }
  static std::string owner(const Object& o) { return o.serviceName; }
  static void deleted(EventSink& s, const ipvs::ObjectKey& k, const Identity& last) {
    ipvs::EndpointSlice slice;  // its identity only: the endpoints are not kept
    slice.key = k;
    slice.serviceName = last.serviceName;
    slice.resourceVersion = last.resourceVersion;
    s.sliceDeleted(slice);
  }
};

struct NodeTraits {
  using Object = ipvs::Node;
  static constexpr ResourceKind kKind = ResourceKind::kNode;
  static Decoded<Object> decode(const json::value& v) { return decodeNode(v); }
  static ipvs::ObjectKey key(const Object& o) { return {"", o.name}; }
  static void updated(EventSink& s, Object o) { s.nodeUpdated(std::move(o)); }
  static std::string owner(const Object&) { return {}; }
  static void deleted(EventSink& s, const ipvs::ObjectKey& k, const Identity&) {
    s.nodeDeleted(k.name);
  }
};

template <class Traits>
class TypedCache final : public ObjectCache {
 public:
  using Object = typename Traits::Object;

  TypedCache(EventSink& sink, WatchStats& stats)
      : sink_(sink), stats_(stats), counters_(stats.of(Traits::kKind)) {}

  ResourceKind kind() const override { return Traits::kKind; }
  std::size_t size() const override { return entries_.size(); }

  void beginList() override { ++generation_; }
  void listItem(const json::value& item) override { apply(item, true); }

  void endList() override {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.generation == generation_) {
        ++it;
        continue;
      }
      ++counters_.deleted;
      Traits::deleted(sink_, it->first, it->second.last);
      it = entries_.erase(it);
    }
    counters_.objects = entries_.size();
    if (!counters_.synced.exchange(true)) sink_.synced(Traits::kKind);
  }

  void upsert(const json::value& object) override { apply(object, false); }

  void remove(const json::value& object) override {
    const auto key = decodeKey(object);
    if (!key) {
      reject(Rejection{
          Traits::kKind, "<unnamed>", reason::kMissingName,
          std::string(resourceKindName(Traits::kKind)) + " DELETED event without metadata.name"});
      return;
    }
    const auto it = entries_.find(*key);
    if (it == entries_.end()) return;  // never accepted (rejected or skipped): nothing to undo
    ++counters_.deleted;
    Traits::deleted(sink_, it->first, it->second.last);
    entries_.erase(it);
    counters_.objects = entries_.size();
  }

  bool storeSlice(ipvs::EndpointSlice slice) override {
    if constexpr (std::is_same_v<Object, ipvs::EndpointSlice>) {
      store(std::move(slice));
      return true;
    } else {
      return false;
    }
  }

  void reject(Rejection r) override {
    stats_.recordReject(r.reason);
    sink_.rejected(r.kind, r.object, r.reason, r.message);
  }

 private:
  struct Entry {
    Identity last;
    std::uint64_t generation = 0;
  };

  void apply(const json::value& v, bool fromList) {
    auto decoded = Traits::decode(v);
    if (auto* rej = std::get_if<Rejection>(&decoded)) {
      // Keep the last good version; a relist must not delete it for being unreadable now.
      if (auto key = decodeKey(v); key && fromList) {
        if (auto it = entries_.find(*key); it != entries_.end())
          it->second.generation = generation_;
      }
      reject(std::move(*rej));
      return;
    }
    if (!std::holds_alternative<Object>(decoded)) return;  // skipped (FQDN)
    store(std::move(std::get<Object>(decoded)));
  }

  void store(Object obj) {
    auto [it, inserted] = entries_.try_emplace(Traits::key(obj));
    Entry& e = it->second;
    e.generation = generation_;
    if (!inserted && !obj.resourceVersion.empty() &&
        obj.resourceVersion == e.last.resourceVersion) {
      return;  // a relist re-delivering what we have
    }
    ++(inserted ? counters_.added : counters_.modified);
    e.last.resourceVersion = obj.resourceVersion;
    e.last.serviceName = Traits::owner(obj);
    counters_.objects = entries_.size();
    Traits::updated(sink_, std::move(obj));
  }

  EventSink& sink_;
  WatchStats& stats_;
  ResourceCounters& counters_;
  std::unordered_map<ipvs::ObjectKey, Entry, ipvs::ObjectKeyHash> entries_;
  std::uint64_t generation_ = 0;
};

}  // namespace

std::unique_ptr<ObjectCache> makeObjectCache(ResourceKind kind, EventSink& sink,
                                             WatchStats& stats) {
  switch (kind) {
    case ResourceKind::kService:
      return std::make_unique<TypedCache<ServiceTraits>>(sink, stats);
    case ResourceKind::kEndpointSlice:
      return std::make_unique<TypedCache<SliceTraits>>(sink, stats);
    case ResourceKind::kNode:
      return std::make_unique<TypedCache<NodeTraits>>(sink, stats);
  }
  return nullptr;
}

}  // namespace k8swatch
