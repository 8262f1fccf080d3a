#pragma once
// Reads Services, EndpointSlices and Nodes from manifest files instead of the API: one YAML or
// JSON file, or a directory of them (*.yaml, *.yml, *.json, non-recursive, in name order).
// Multi-document YAML and `kind: List` / typed lists are expanded. Feeds the agent's
// `--source=PATH` (dry-run and standalone mode) and the local API server's initial state.
// Synchronous; touches only the named files. File-level problems (unreadable file, syntax error)
// go to `errors`; a bad object is rejected alone, like on the watch path.
//
// Two objects of one kind with the same identity (namespace/name; name for Nodes) are what
// `kubectl apply` would apply in turn: the last one wins. It is not silent: the replaced one is
// reported as a Rejection (reason "duplicate") naming both places, so the agent logs and counts
// it like any rejected object.

#include <boost/json/object.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "ipvs/model.h"
#include "k8swatch/decode.h"

namespace k8swatch {

namespace reason {
inline constexpr std::string_view kDuplicate = "duplicate";  // same object twice in the manifests
}  // namespace reason

struct ManifestObjects {
  std::vector<boost::json::object> objects;  // each with its kind; namespaced ones defaulted
  // Parallel to `objects`: "a.yaml (document 2)", or "(document 2, item 3)" inside a List.
  std::vector<std::string> origins;
  std::vector<std::string> errors;
};

// Raw objects, for the API server (which keeps JSON) and for decodeManifestObjects.
ManifestObjects readManifestObjects(const std::filesystem::path& path);
// Parses manifest text directly (isJson chooses the parser); `origin` names it in errors.
ManifestObjects parseManifestObjects(std::string_view text, bool isJson, const std::string& origin);

struct ManifestContents {
  std::vector<ipvs::Service> services;
  std::vector<ipvs::EndpointSlice> slices;
  std::vector<ipvs::Node> nodes;
  std::vector<Rejection> rejects;
  std::vector<Skipped> skipped;     // FQDN slices, kinds other than the three
  std::vector<std::string> errors;  // file-level: unreadable, syntax errors

  bool ok() const { return errors.empty(); }
};

ManifestContents decodeManifestObjects(const ManifestObjects& objects);
ManifestContents loadManifests(const std::filesystem::path& path);

// Sets metadata.namespace to "default" on a namespaced kind that has none, as kubectl would.
void defaultNamespace(boost::json::object& obj);

}  // namespace k8swatch
