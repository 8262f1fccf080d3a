#include "tests/apiserver/store.h"

#include <algorithm>
#include <charconv>

namespace fakeapi {

namespace json = boost::json;

const char* resourceKind(Resource r) {
  switch (r) {
    case Resource::kServices:
      return "Service";
    case Resource::kEndpointSlices:
      return "EndpointSlice";
    case Resource::kNodes:
      return "Node";
  }
  return "";
}

const char* resourceListKind(Resource r) {
  switch (r) {
    case Resource::kServices:
      return "ServiceList";
    case Resource::kEndpointSlices:
      return "EndpointSliceList";
    case Resource::kNodes:
      return "NodeList";
  }
  return "";
}

const char* resourceApiVersion(Resource r) {
  return r == Resource::kEndpointSlices ? "discovery.k8s.io/v1" : "v1";
}

std::optional<Resource> resourceOfKind(std::string_view kind) {
  if (kind == "Service") return Resource::kServices;
  if (kind == "EndpointSlice") return Resource::kEndpointSlices;
  if (kind == "Node") return Resource::kNodes;
  return std::nullopt;
}

namespace {
std::string_view str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}
const json::object* metaOf(const json::object& obj) {
  const json::value* m = obj.if_contains("metadata");
  return m ? m->if_object() : nullptr;
}
}  // namespace

ObjKey keyOf(const json::object& obj) {
  const json::object* m = metaOf(obj);
  if (m == nullptr) return {};
  return {std::string(str(*m, "namespace")), std::string(str(*m, "name"))};
}

std::uint64_t parseRv(std::string_view s, bool& ok) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  ok = ec == std::errc() && end == s.data() + s.size();
  return v;
}

std::optional<Selector> Selector::parse(std::string_view labels, std::string_view fields,
                                        std::string& error) {
  Selector sel;
  auto parseList = [&](std::string_view text, std::vector<Req>& out) {
    while (!text.empty()) {
      const auto comma = text.find(',');
      std::string_view term = text.substr(0, comma);
      text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
      if (term.empty()) continue;
      Req r;
      if (const auto ne = term.find("!="); ne != std::string_view::npos) {
        r = {std::string(term.substr(0, ne)), Op::kNotEquals, std::string(term.substr(ne + 2))};
      } else if (const auto eq = term.find('='); eq != std::string_view::npos) {
        const std::size_t skip = term.substr(eq).starts_with("==") ? 2 : 1;
        r = {std::string(term.substr(0, eq)), Op::kEquals, std::string(term.substr(eq + skip))};
      } else if (term.front() == '!') {
        r = {std::string(term.substr(1)), Op::kNotExists, ""};
      } else {
        r = {std::string(term), Op::kExists, ""};
      }
      if (r.key.empty() || r.key.find_first_of(" ()") != std::string::npos) {
        error = "unsupported selector term \"" + std::string(term) + "\"";
        return false;
      }
      out.push_back(std::move(r));
    }
    return true;
  };
  if (!parseList(labels, sel.labels_) || !parseList(fields, sel.fields_)) return std::nullopt;
  for (const auto& f : sel.fields_) {
    if (f.key != "metadata.name" && f.key != "metadata.namespace") {
      error = "field label not supported: " + f.key;
      return std::nullopt;
    }
  }
  return sel;
}

bool Selector::matches(const json::object& obj) const {
  const json::object* meta = metaOf(obj);
  static const json::object kEmpty;
  const json::value* lv = meta ? meta->if_contains("labels") : nullptr;
  const json::object& labels = lv && lv->is_object() ? lv->get_object() : kEmpty;
  auto test = [](const Req& r, const json::value* v) {
    const bool has = v != nullptr && v->is_string();
    const std::string_view value = has ? std::string_view(v->get_string()) : "";
    switch (r.op) {
      case Op::kExists:
        return has;
      case Op::kNotExists:
        return !has;
      case Op::kEquals:
        return has && value == r.value;
      case Op::kNotEquals:
        return !has || value != r.value;
    }
    return false;
  };
  for (const auto& r : labels_) {
    if (!test(r, labels.if_contains(r.key))) return false;
  }
  for (const auto& r : fields_) {
    const std::string_view field = r.key == "metadata.name" ? "name" : "namespace";
    if (!test(r, meta ? meta->if_contains(field) : nullptr)) return false;
  }
  return true;
}

std::optional<Event> Store::apply(json::object obj, std::string& error) {
  const auto res = resourceOfKind(str(obj, "kind"));
  if (!res) {
    error = "kind \"" + std::string(str(obj, "kind")) + "\" is not served";
    return std::nullopt;
  }
  ObjKey key = keyOf(obj);
  if (key.name.empty()) {
    error = "metadata.name is missing";
    return std::nullopt;
  }
  if (*res == Resource::kNodes) key.ns.clear();
  if (!obj.contains("apiVersion")) obj["apiVersion"] = resourceApiVersion(*res);
  Event ev;
  ev.rv = ++rv_;
  ev.resource = *res;
  obj["metadata"].get_object()["resourceVersion"] = std::to_string(ev.rv);
  auto& map = objects_[static_cast<int>(*res)];
  const auto it = map.find(key);
  ev.type = it == map.end() ? "ADDED" : "MODIFIED";
  if (it != map.end()) ev.prev = it->second;
  map[key] = obj;
  ev.object = std::move(obj);
  history_.push_back(ev);
  return ev;
}

std::optional<Event> Store::remove(Resource r, const ObjKey& key) {
  auto& map = objects_[static_cast<int>(r)];
  const auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  Event ev;
  ev.rv = ++rv_;
  ev.resource = r;
  ev.type = "DELETED";
  ev.prev = it->second;
  ev.object = it->second;
  ev.object["metadata"].get_object()["resourceVersion"] = std::to_string(ev.rv);
  map.erase(it);
  history_.push_back(ev);
  return ev;
}

std::optional<ObjectMap> Store::stateAt(Resource r, std::uint64_t rv) const {
  if (rv < compacted_) return std::nullopt;
  ObjectMap state = objects(r);
  for (auto it = history_.rbegin(); it != history_.rend() && it->rv > rv; ++it) {
    if (it->resource != r) continue;
    const ObjKey key = keyOf(it->object);
    const ObjKey k = r == Resource::kNodes ? ObjKey{"", key.name} : key;
    if (it->prev) {
      state[k] = *it->prev;
    } else {
      state.erase(k);
    }
  }
  return state;
}

std::optional<std::vector<Event>> Store::eventsSince(Resource r, std::uint64_t rv) const {
  if (rv < compacted_) return std::nullopt;
  std::vector<Event> out;
  for (const auto& ev : history_) {
    if (ev.rv > rv && ev.resource == r) out.push_back(ev);
  }
  return out;
}

}  // namespace fakeapi
