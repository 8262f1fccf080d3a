// Kustomizations, file by file, without kustomize: every path they name exists, every patch and
// merging generator hits an object of the resources below it, every image override is used,
// nothing is fetched from the network. (check_rendered.sh renders them with kubectl when it is
// installed and runs the other checks on the output.)

#include <boost/json.hpp>

#include "tests/manifests/check.h"

namespace manifest_check {
namespace {

using ObjectIds = std::set<std::pair<std::string, std::string>>;  // (kind, name)

struct Reachable {
  ObjectIds objects;
  std::set<std::string> images;  // container images without tag or digest
};

fs::path kustomizationIn(const fs::path& dir) {
  for (const char* n : {"kustomization.yaml", "kustomization.yml", "Kustomization"}) {
    if (fs::exists(dir / n)) return dir / n;
  }
  return {};
}

std::string imageName(std::string image) {
  const auto at = image.find('@');
  if (at != std::string::npos) image.resize(at);
  const auto colon = image.rfind(':');
  if (colon != std::string::npos && image.find('/', colon) == std::string::npos)
    image.resize(colon);
  return image;
}

void addObjects(const std::vector<SourcedObject>& objs, Reachable& out) {
  for (const auto& s : objs) {
    out.objects.insert({kindOf(s.object), nameOf(s.object)});
    const json::value* spec = at(s.object, "spec.template.spec");
    if (spec == nullptr || !spec->is_object()) continue;
    for (const json::object* c : allContainers(spec->get_object())) {
      out.images.insert(imageName(stringAt(*c, "image")));
    }
  }
}

bool pathOk(const std::string& entry, const std::string& where, Report& r) {
  if (entry.find("://") != std::string::npos || entry.starts_with("github.com/")) {
    r.fail(where, "\"" + entry + "\" is remote: keep every input in this repository");
    return false;
  }
  if (!entry.empty() && entry.front() == '/') {
    r.fail(where, "\"" + entry + "\" is absolute: use a path relative to the kustomization");
    return false;
  }
  return true;
}

std::vector<std::string> strings(const json::object& k, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& v : arrayAt(k, key)) out.push_back(jsonText(v));
  return out;
}

Reachable resolve(const fs::path& dir, Report& r, int depth);

// The objects and images of the `resources` of one kustomization (and of its generators).
Reachable resourcesOf(const fs::path& dir, const json::object& k, Report& r, int depth) {
  Reachable out;
  const std::string where = (dir / "kustomization.yaml").string();
  for (const auto& entry : strings(k, "resources")) {
    if (!pathOk(entry, where, r)) continue;
    const fs::path p = dir / entry;
    if (fs::is_directory(p)) {
      if (kustomizationIn(p).empty()) {
        r.fail(where, "resource directory " + entry + " has no kustomization.yaml");
        continue;
      }
      Reachable sub = resolve(p, r, depth + 1);
      out.objects.insert(sub.objects.begin(), sub.objects.end());
      out.images.insert(sub.images.begin(), sub.images.end());
    } else if (fs::exists(p)) {
      addObjects(loadObjects({p}, r), out);
    } else {
      r.fail(where, "resource " + entry + " does not exist");
    }
  }
  for (const auto& g : arrayAt(k, "configMapGenerator")) {
    const std::string behavior = g.is_object() ? stringAt(g.get_object(), "behavior") : "";
    if (behavior.empty() || behavior == "create") {
      out.objects.insert({"ConfigMap", g.is_object() ? stringAt(g.get_object(), "name") : ""});
    }
  }
  return out;
}

void checkPatchFile(const fs::path& file, const std::string& where, const Reachable& base,
                    Report& r) {
  for (const auto& s : loadObjects({file}, r)) {
    const std::pair<std::string, std::string> id{kindOf(s.object), nameOf(s.object)};
    if (id.first.empty() || id.second.empty()) {
      r.fail(file.string(), "a patch needs kind and metadata.name (or a target in " + where + ")");
    } else if (!base.objects.contains(id)) {
      r.fail(file.string(), "patches " + id.first + " " + id.second +
                                ", which none of the resources of " + where + " define");
    }
  }
}

void checkPatches(const fs::path& dir, const json::object& k, const Reachable& base, Report& r) {
  const std::string where = kustomizationIn(dir).string();
  for (const auto& p : arrayAt(k, "patches")) {
    if (!p.is_object()) continue;
    const std::string path = stringAt(p.get_object(), "path");
    const json::value* target = p.get_object().if_contains("target");
    if (target && target->is_object()) {
      const std::string kind = stringAt(target->get_object(), "kind");
      const std::string name = stringAt(target->get_object(), "name");
      if (!kind.empty() && !name.empty() && !base.objects.contains({kind, name})) {
        r.fail(where, "patch target " + kind + " " + name + " is not among the resources");
      }
    }
    if (path.empty() || !pathOk(path, where, r)) continue;
    if (!fs::exists(dir / path)) {
      r.fail(where, "patch " + path + " does not exist");
    } else if (!target) {
      checkPatchFile(dir / path, where, base, r);
    }
  }
  for (const auto& path : strings(k, "patchesStrategicMerge")) {
    if (!pathOk(path, where, r)) continue;
    if (!fs::exists(dir / path)) {
      r.fail(where, "patch " + path + " does not exist");
    } else {
      checkPatchFile(dir / path, where, base, r);
    }
  }
}

void checkGenerators(const fs::path& dir, const json::object& k, const Reachable& base, Report& r) {
  const std::string where = kustomizationIn(dir).string();
  for (const auto& g : arrayAt(k, "configMapGenerator")) {
    if (!g.is_object()) continue;
    const std::string name = stringAt(g.get_object(), "name");
    const std::string behavior = stringAt(g.get_object(), "behavior");
    if ((behavior == "merge" || behavior == "replace") &&
        !base.objects.contains({"ConfigMap", name})) {
      r.fail(where, "configMapGenerator " + name + " has behavior " + behavior +
                        " but no resource defines ConfigMap " + name);
    }
    for (const char* key : {"files", "envs"}) {
      for (auto file : strings(g.get_object(), key)) {
        if (const auto eq = file.find('='); eq != std::string::npos) file = file.substr(eq + 1);
        if (pathOk(file, where, r) && !fs::exists(dir / file)) {
          r.fail(where, "configMapGenerator " + name + ": " + file + " does not exist");
        }
      }
    }
  }
  for (const auto& img : arrayAt(k, "images")) {
    const std::string name = img.is_object() ? stringAt(img.get_object(), "name") : "";
    if (!base.images.contains(name)) {
      r.fail(where, "images: no container uses the image name \"" + name + "\"");
    }
  }
}

void checkKeys(const fs::path& file, const json::object& k, Report& r) {
  static const std::set<std::string, std::less<>> kKnown = {"apiVersion",
                                                            "kind",
                                                            "resources",
                                                            "components",
                                                            "patches",
                                                            "patchesStrategicMerge",
                                                            "patchesJson6902",
                                                            "configMapGenerator",
                                                            "secretGenerator",
                                                            "generatorOptions",
                                                            "images",
                                                            "namespace",
                                                            "namePrefix",
                                                            "nameSuffix",
                                                            "labels",
                                                            "commonLabels",
                                                            "commonAnnotations",
                                                            "replicas",
                                                            "replacements",
                                                            "transformers",
                                                            "generators",
                                                            "sortOptions",
                                                            "buildMetadata"};
  for (const auto& kv : k) {
    if (!kKnown.contains(kv.key())) {
      r.fail(file.string(), "unknown field \"" + std::string(kv.key()) + "\" (a typo?)");
    }
  }
  const std::string kind = stringAt(k, "kind");
  if (!kind.empty() && kind != "Kustomization" && kind != "Component") {
    r.fail(file.string(), "kind must be Kustomization");
  }
}

Reachable resolve(const fs::path& dir, Report& r, int depth) {
  const fs::path file = kustomizationIn(dir);
  if (depth > 16) {
    r.fail(file.string(), "resources nest too deep (a cycle?)");
    return {};
  }
  const auto docs = parseYaml(readText(file, r), file.string(), r);
  if (docs.size() != 1 || !docs[0].is_object()) {
    r.fail(file.string(), "must be one YAML mapping");
    return {};
  }
  const json::object& k = docs[0].get_object();
  checkKeys(file, k, r);
  Reachable out = resourcesOf(dir, k, r, depth);
  checkPatches(dir, k, out, r);
  checkGenerators(dir, k, out, r);
  return out;
}

}  // namespace

void checkKustomizations(const fs::path& root, Report& report) {
  const std::size_t before = report.failures();
  std::vector<fs::path> dirs;
  if (!kustomizationIn(root).empty()) dirs.push_back(root);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_directory() && !kustomizationIn(entry.path()).empty())
      dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  if (dirs.empty()) report.fail(root.string(), "no kustomization.yaml found");
  for (const auto& d : dirs) resolve(d, report, 0);
  if (report.failures() == before) {
    report.ok(std::to_string(dirs.size()) + " kustomizations reference only existing files");
  }
}

}  // namespace manifest_check
