#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "k8swatch/yaml_json.h"
#include "tests/manifests/check.h"

namespace manifest_check {

void Report::fail(const std::string& where, const std::string& what) {
  ++failures_;
  std::cout << "FAIL: " << where << ": " << what << "\n";
}

void Report::ok(const std::string& what) { std::cout << "ok: " << what << "\n"; }

std::string readText(const fs::path& path, Report& report) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    report.fail(path.string(), "cannot read");
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<json::value> parseYaml(const std::string& text, const std::string& origin,
                                   Report& report) {
  std::vector<std::string> errors;
  std::vector<json::value> docs = k8swatch::parseManifestText(text, false, origin, errors);
  for (const auto& e : errors) report.fail(origin, "does not parse: " + e);
  return docs;
}

namespace {

void loadFile(const fs::path& file, std::vector<SourcedObject>& out, Report& report) {
  const std::string text = readText(file, report);
  std::vector<std::string> errors;
  const bool isJson = file.extension() == ".json";
  std::vector<json::object> objects;
  for (auto& doc : k8swatch::parseManifestText(text, isJson, file.string(), errors)) {
    k8swatch::flattenManifestValue(std::move(doc), file.string(), objects, errors);
  }
  for (const auto& e : errors) report.fail(file.string(), "does not parse: " + e);
  for (auto& o : objects) out.push_back({std::move(o), file.string()});
}

bool isKustomization(const fs::path& p) {
  const auto name = p.filename().string();
  return name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization";
}

}  // namespace

std::vector<SourcedObject> loadObjects(const std::vector<fs::path>& paths, Report& report) {
  std::vector<SourcedObject> out;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      if (!fs::exists(path, ec)) {
        report.fail(path.string(), "no such file or directory");
      } else {
        loadFile(path, out, report);
      }
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const auto ext = entry.path().extension();
      const bool manifest = ext == ".yaml" || ext == ".yml";
      if (entry.is_regular_file() && manifest && !isKustomization(entry.path())) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) loadFile(f, out, report);
  }
  return out;
}

const json::value* at(const json::value& v, std::string_view dottedPath) {
  const json::value* cur = &v;
  while (!dottedPath.empty()) {
    const auto dot = dottedPath.find('.');
    const std::string_view key = dottedPath.substr(0, dot);
    if (!cur->is_object()) return nullptr;
    cur = cur->get_object().if_contains(key);
    if (cur == nullptr) return nullptr;
    dottedPath = dot == std::string_view::npos ? std::string_view() : dottedPath.substr(dot + 1);
  }
  return cur;
}

const json::value* at(const json::object& o, std::string_view dottedPath) {
  const auto dot = dottedPath.find('.');
  const json::value* first = o.if_contains(dottedPath.substr(0, dot));
  if (first == nullptr || dot == std::string_view::npos) return first;
  return at(*first, dottedPath.substr(dot + 1));
}

std::string stringAt(const json::object& o, std::string_view dottedPath) {
  const json::value* v = at(o, dottedPath);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::array& arrayAt(const json::object& o, std::string_view dottedPath) {
  static const json::array kEmpty;
  const json::value* v = at(o, dottedPath);
  return v && v->is_array() ? v->get_array() : kEmpty;
}

std::string kindOf(const json::object& o) { return stringAt(o, "kind"); }
std::string nameOf(const json::object& o) { return stringAt(o, "metadata.name"); }
std::string namespaceOf(const json::object& o) { return stringAt(o, "metadata.namespace"); }

std::string describe(const SourcedObject& s) {
  const std::string ns = namespaceOf(s.object);
  return s.origin + ": " + kindOf(s.object) + " " + (ns.empty() ? "" : ns + "/") + nameOf(s.object);
}

std::string jsonText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

std::vector<const json::object*> allContainers(const json::object& podSpec) {
  std::vector<const json::object*> out;
  for (const char* key : {"initContainers", "containers"}) {
    for (const auto& c : arrayAt(podSpec, key)) {
      if (c.is_object()) out.push_back(&c.get_object());
    }
  }
  return out;
}

bool runsAgent(const json::object& container) {
  const auto& command = arrayAt(container, "command");
  if (command.empty()) {  // the image's ENTRYPOINT: ipvs-agent-entrypoint in our image
    const std::string image = stringAt(container, "image");
    const std::string last = image.substr(image.find_last_of('/') + 1);
    return last.substr(0, last.find_first_of(":@")) == "ipvs-agent";
  }
  if (!command[0].is_string()) return false;
  const std::string exe = fs::path(std::string(command[0].get_string())).filename().string();
  return exe == "ipvs-agent" || exe == "ipvs-agent-entrypoint";
}

const SourcedObject* findObject(const std::vector<SourcedObject>& objects, std::string_view kind,
                                std::string_view ns, std::string_view name) {
  for (const auto& s : objects) {
    if (kindOf(s.object) == kind && nameOf(s.object) == name &&
        (ns.empty() || namespaceOf(s.object) == ns)) {
      return &s;
    }
  }
  return nullptr;
}

}  // namespace manifest_check
