#pragma once
// The fake API server's state: objects as raw JSON per resource, one resourceVersion counter
// across all resources (as etcd has), and the history of changes since the last compaction so
// watches can resume and paged LISTs can read a consistent snapshot. Not thread-safe: the
// server touches it from its io thread only.

#include <boost/json/object.hpp>
#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fakeapi {

enum class Resource { kServices, kEndpointSlices, kNodes };

const char* resourceKind(Resource r);      // "Service"
const char* resourceListKind(Resource r);  // "ServiceList"
const char* resourceApiVersion(Resource r);
std::optional<Resource> resourceOfKind(std::string_view kind);

struct ObjKey {
  std::string ns;
  std::string name;
  auto operator<=>(const ObjKey&) const = default;
};

struct Event {
  std::uint64_t rv = 0;
  Resource resource = Resource::kServices;
  std::string type;            // ADDED, MODIFIED, DELETED
  boost::json::object object;  // new state (DELETED: the last state, at the delete's rv)
  std::optional<boost::json::object> prev;
};

using ObjectMap = std::map<ObjKey, boost::json::object>;

// labelSelector and fieldSelector as the API server reads them: `k`, `!k`, `k=v`, `k==v`,
// `k!=v` joined by commas; fields metadata.name and metadata.namespace.
class Selector {
 public:
  static std::optional<Selector> parse(std::string_view labels, std::string_view fields,
                                       std::string& error);
  bool matches(const boost::json::object& obj) const;

 private:
  enum class Op { kExists, kNotExists, kEquals, kNotEquals };
  struct Req {
    std::string key;
    Op op;
    std::string value;
  };
  std::vector<Req> labels_;
  std::vector<Req> fields_;
};

class Store {
 public:
  std::uint64_t rv() const { return rv_; }
  std::uint64_t compactedRv() const { return compacted_; }

  // Adds or replaces an object (by kind and namespace/name), stamping metadata.resourceVersion.
  // nullopt and `error` set when the kind is not served or the name is missing.
  std::optional<Event> apply(boost::json::object obj, std::string& error);
  std::optional<Event> remove(Resource r, const ObjKey& key);
  void compact() {
    history_.clear();
    compacted_ = rv_;
  }

  const ObjectMap& objects(Resource r) const { return objects_[static_cast<int>(r)]; }
  // The state at `rv` (rolled back through history); nullopt if compacted past it.
  std::optional<ObjectMap> stateAt(Resource r, std::uint64_t rv) const;
  // Events of `r` after `rv`; nullopt if compacted past it.
  std::optional<std::vector<Event>> eventsSince(Resource r, std::uint64_t rv) const;

 private:
  std::uint64_t rv_ = 1;
  std::uint64_t compacted_ = 0;
  ObjectMap objects_[3];
  std::deque<Event> history_;
};

ObjKey keyOf(const boost::json::object& obj);
std::uint64_t parseRv(std::string_view s, bool& ok);

}  // namespace fakeapi
