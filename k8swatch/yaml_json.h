#pragma once
// YAML -> Boost.JSON, bounded: the one YAML reader of the project (manifests for --source and
// the local API server, the KubeProxyConfiguration for --config).
//
// Scalars: plain scalars resolve per the chosen schema, quoted scalars always stay strings, and
// under the core schema explicit tags (!!str, !!int, ...) win.
// Every scalar and key must be valid UTF-8, as go-yaml and the API server require.
//
// Hostile input: the text is parsed event by event (YAML::Parser), never into a YAML::Node graph,
// so an alias that refers to a node containing it is an error instead of a cycle (a stack
// overflow when walked), and every alias expansion is charged in full to the node and byte
// budgets (a "billion laughs" document stops at the bound). yaml-cpp 0.7 can also report the
// same empty document forever without consuming input (",\n"; upstream #1040, fixed by #1319);
// a document that starts where the previous one started is reported as a syntax error, and the
// document count is bounded as a backstop. Every bound hit is a YamlError naming the bound.

#include <boost/json/value.hpp>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace k8swatch {

enum class YamlSchema {
  kCore,    // YAML 1.2 core schema: what kubectl and the API server read manifests as
  kYaml11,  // YAML 1.1 plain scalars (yes/no/on/off are bools), as go-yaml v2 reads kube-proxy's
            // config; tags other than !!str are ignored
};

struct YamlLimits {
  std::size_t maxDepth = 100;  // nested sequences and maps
  // JSON values produced, counting each alias expansion in full and each anchored node once more
  // (the reader keeps a copy to expand aliases from). Roughly 50 bytes of memory per node.
  std::size_t maxNodes = 1'000'000;
  std::size_t maxBytes = std::size_t{32} << 20;  // scalar and key text, counted like nodes
  std::size_t maxDocuments = 100'000;
};

struct YamlOptions {
  YamlSchema schema = YamlSchema::kCore;
  YamlLimits limits;
  bool firstDocumentOnly = false;  // YAML::Load semantics: the rest of the stream is not read
  // When set, each repeated mapping key appends "duplicate field \"a.b[0].c\": the last one wins".
  std::vector<std::string>* duplicateKeys = nullptr;
};

// A syntax error, a value JSON cannot hold (a non-scalar mapping key, `!!int x`, invalid
// UTF-8), or a bound hit.
class YamlError : public std::runtime_error {
 public:
  // `line` and `column` are 1-based; what() is "line:column: detail".
  YamlError(std::size_t line, std::size_t column, const std::string& detail);
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }
  const std::string& detail() const { return detail_; }

 private:
  std::size_t line_;
  std::size_t column_;
  std::string detail_;
};

// Every document of `text` in order; an empty document is a JSON null. Throws YamlError.
std::vector<boost::json::value> yamlToJson(std::string_view text, const YamlOptions& options = {});

// How an untagged plain scalar resolves under `schema` (for writers that must quote a string
// that would otherwise load back as something else).
boost::json::value resolvePlainScalar(const std::string& s, YamlSchema schema);
// A scalar as yaml-cpp reports it: tag "?" for plain, "!" for quoted, else the resolved tag.
// Throws std::runtime_error when an explicit core tag does not fit (`!!int x`).
boost::json::value scalarToJson(const std::string& tag, const std::string& text, YamlSchema schema);

// Parses one manifest text: JSON when `isJson` (one or more concatenated values), else
// multi-document YAML under the core schema and default limits. Empty documents are dropped.
// A syntax error or a bound hit is appended to `errors` as "origin:line:col: message", and then
// no document of this text is returned: a half-read file is not applied.
std::vector<boost::json::value> parseManifestText(std::string_view text, bool isJson,
                                                  const std::string& origin,
                                                  std::vector<std::string>& errors);

struct ManifestDocument {
  boost::json::value value;
  std::size_t index = 0;  // 1-based position in the text, empty documents included
};
// parseManifestText with each document's position, to name it in messages.
std::vector<ManifestDocument> parseManifestDocuments(std::string_view text, bool isJson,
                                                     const std::string& origin,
                                                     std::vector<std::string>& errors);

// Expands `kind: List` (and typed lists such as ServiceList, whose items carry no kind) into
// their items, giving each item its kind; other objects pass through. Non-objects and objects
// without a kind (a string) are reported.
void flattenManifestValue(boost::json::value doc, const std::string& origin,
                          std::vector<boost::json::object>& out, std::vector<std::string>& errors);

}  // namespace k8swatch
