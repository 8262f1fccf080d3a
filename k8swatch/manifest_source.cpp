#include "k8swatch/manifest_source.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "k8swatch/decode_node.h"
#include "k8swatch/yaml_json.h"

namespace k8swatch {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string_view kindOf(const json::object& obj) {
  const json::value* kind = obj.if_contains("kind");
  return kind && kind->is_string() ? std::string_view(kind->get_string()) : std::string_view();
}

bool isManifestFile(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void readOneFile(const fs::path& file, ManifestObjects& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out.errors.push_back(file.string() + ": cannot open");
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    out.errors.push_back(file.string() + ": read error");
    return;
  }
  auto parsed = parseManifestObjects(text.str(), file.extension() == ".json", file.string());
  for (auto& o : parsed.objects) out.objects.push_back(std::move(o));
  for (auto& o : parsed.origins) out.origins.push_back(std::move(o));
  for (auto& e : parsed.errors) out.errors.push_back(std::move(e));
}

std::string keyText(const ipvs::ObjectKey& key) { return key.str(); }
std::string keyText(const std::string& name) { return name; }
const ipvs::ObjectKey& keyOf(const ipvs::Service& s) { return s.key; }
const ipvs::ObjectKey& keyOf(const ipvs::EndpointSlice& s) { return s.key; }
const std::string& keyOf(const ipvs::Node& n) { return n.name; }

// One kind's objects by identity: a later one replaces the earlier in place, and the replaced
// one is reported naming both origins.
template <class Key>
struct LastWins {
  ResourceKind kind;
  std::string_view kindName;
  std::map<Key, std::pair<std::size_t, std::string>> seen = {};  // index in the output, origin

  template <class T>
  void add(T obj, const std::string& origin, std::vector<T>& into, ManifestContents& out) {
    const Key key = keyOf(obj);
    auto [it, fresh] = seen.try_emplace(key, into.size(), origin);
    if (fresh) {
      into.push_back(std::move(obj));
      return;
    }
    const std::string name = keyText(key);
    out.rejects.push_back(Rejection{kind, name, reason::kDuplicate,
                                    std::string(kindName) + " " + name + " in " +
                                        it->second.second + " is defined again in " + origin +
                                        "; the last one wins"});
    into[it->second.first] = std::move(obj);
    it->second.second = origin;
  }
};

template <class T, class Key>
void take(Decoded<T> decoded, std::vector<T>& into, LastWins<Key>& dedup, const std::string& origin,
          ManifestContents& out) {
  if (auto* v = std::get_if<0>(&decoded)) {
    dedup.add(std::move(*v), origin, into, out);
  } else if (auto* s = std::get_if<Skipped>(&decoded)) {
    out.skipped.push_back(std::move(*s));
  } else {
    out.rejects.push_back(std::move(std::get<Rejection>(decoded)));
  }
}

}  // namespace

void defaultNamespace(json::object& obj) {
  const auto kind = kindOf(obj);
  if (kind != "Service" && kind != "EndpointSlice") return;
  json::value& meta = obj["metadata"];
  if (!meta.is_object()) return;  // the decoder reports it
  json::value* ns = meta.get_object().if_contains("namespace");
  if (ns == nullptr || ns->is_null() || (ns->is_string() && ns->get_string().empty())) {
    meta.get_object()["namespace"] = "default";
  }
}

ManifestObjects parseManifestObjects(std::string_view text, bool isJson,
                                     const std::string& origin) {
  ManifestObjects out;
  for (auto& doc : parseManifestDocuments(text, isJson, origin, out.errors)) {
    const bool isList = doc.value.is_object() && kindOf(doc.value.get_object()).ends_with("List");
    const std::size_t first = out.objects.size();
    flattenManifestValue(std::move(doc.value), origin, out.objects, out.errors);
    const std::string where = origin + " (document " + std::to_string(doc.index);
    for (std::size_t i = first; i < out.objects.size(); ++i) {
      out.origins.push_back(isList ? where + ", item " + std::to_string(i - first + 1) + ")"
                                   : where + ")");
    }
  }
  for (auto& obj : out.objects) defaultNamespace(obj);
  return out;
}

ManifestObjects readManifestObjects(const fs::path& path) {
  ManifestObjects out;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    readOneFile(path, out);
    return out;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_regular_file() && isManifestFile(entry.path())) files.push_back(entry.path());
  }
  if (ec) out.errors.push_back(path.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) readOneFile(f, out);
  return out;
}

ManifestContents decodeManifestObjects(const ManifestObjects& objects) {
  ManifestContents out;
  out.errors = objects.errors;
  LastWins<ipvs::ObjectKey> services{ResourceKind::kService, "Service"};
  LastWins<ipvs::ObjectKey> slices{ResourceKind::kEndpointSlice, "EndpointSlice"};
  LastWins<std::string> nodes{ResourceKind::kNode, "Node"};
  for (std::size_t i = 0; i < objects.objects.size(); ++i) {
    const json::object& obj = objects.objects[i];
    const std::string origin =
        i < objects.origins.size() ? objects.origins[i] : "object " + std::to_string(i + 1);
    const json::value v(obj);
    const auto kind = kindOf(obj);
    if (kind == "Service") {
      take(decodeService(v), out.services, services, origin, out);
    } else if (kind == "EndpointSlice") {
      take(decodeEndpointSlice(v), out.slices, slices, origin, out);
    } else if (kind == "Node") {
      take(decodeNode(v), out.nodes, nodes, origin, out);
    } else {
      const auto key = decodeKey(v);
      out.skipped.push_back(Skipped{
          std::string(kind.empty() ? "<no kind>" : kind) + " " + (key ? key->str() : "<unnamed>"),
          "kind not handled"});
    }
  }
  return out;
}

ManifestContents loadManifests(const fs::path& path) {
  return decodeManifestObjects(readManifestObjects(path));
}

}  // namespace k8swatch
