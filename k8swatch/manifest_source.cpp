#include "k8swatch/manifest_source.h"

#include <algorithm>
#include <fstream>
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
  for (auto& e : parsed.errors) out.errors.push_back(std::move(e));
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
  for (auto& doc : parseManifestText(text, isJson, origin, out.errors)) {
    flattenManifestValue(std::move(doc), origin, out.objects, out.errors);
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
  auto take = [&out](auto decoded, auto& into) {
    if (auto* v = std::get_if<0>(&decoded)) {
      into.push_back(std::move(*v));
    } else if (auto* s = std::get_if<Skipped>(&decoded)) {
      out.skipped.push_back(std::move(*s));
    } else {
      out.rejects.push_back(std::move(std::get<Rejection>(decoded)));
    }
  };
  for (const auto& obj : objects.objects) {
    const json::value v(obj);
    const auto kind = kindOf(obj);
    if (kind == "Service") {
      take(decodeService(v), out.services);
    } else if (kind == "EndpointSlice") {
      take(decodeEndpointSlice(v), out.slices);
    } else if (kind == "Node") {
      take(decodeNode(v), out.nodes);
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
