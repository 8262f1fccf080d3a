#pragma once
// YAML -> Boost.JSON, the way Kubernetes tooling reads manifests: plain scalars resolve to
// null/bool/int/float per the YAML 1.2 core schema, quoted scalars always stay strings, and
// explicit tags (!!str, !!int, ...) win. Used by manifest_source and the local API server.

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace k8swatch {

// Throws std::runtime_error for what JSON cannot hold (a non-scalar map key).
boost::json::value yamlToJson(const YAML::Node& node);

// Parses one manifest text: JSON when `isJson` (one or more concatenated values), else
// multi-document YAML. Empty documents are dropped. A syntax error is appended to `errors` as
// "origin:line:col: message" and ends the parse of this text.
std::vector<boost::json::value> parseManifestText(std::string_view text, bool isJson,
                                                  const std::string& origin,
                                                  std::vector<std::string>& errors);

// Expands `kind: List` (and typed lists such as ServiceList, whose items carry no kind) into
// their items, giving each item its kind; other objects pass through. Non-objects are reported.
void flattenManifestValue(boost::json::value doc, const std::string& origin,
                          std::vector<boost::json::object>& out, std::vector<std::string>& errors);

}  // namespace k8swatch
