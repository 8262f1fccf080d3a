// The bounded YAML reader. Several inputs here crash (stack overflow), hang or exhaust memory
// with a plain YAML::LoadAll + recursive conversion; ctest gives this binary a timeout.
#include "k8swatch/yaml_json.h"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <filesystem>

#include "k8swatch/manifest_source.h"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace k8swatch;

namespace {

const fs::path kCorpus = IPVS_AGENT_MANIFEST_CORPUS;

// The YamlError's message, or "" when the text loads.
std::string yamlError(std::string_view text, const YamlOptions& options = {}) {
  try {
    (void)yamlToJson(text, options);
  } catch (const YamlError& e) {
    return e.what();
  }
  return "";
}

YamlOptions withLimits(std::size_t depth, std::size_t nodes, std::size_t bytes) {
  YamlOptions o;
  o.limits.maxDepth = depth;
  o.limits.maxNodes = nodes;
  o.limits.maxBytes = bytes;
  return o;
}

}  // namespace

TEST_CASE("yaml: the corpus reproducers fail cleanly, naming the file and the bound", "[yaml]") {
  struct Case {
    const char* file;
    const char* message;
  };
  const Case cases[] = {
      {"stuck-comma.yaml", ":1:1: unexpected ',': the YAML parser cannot get past it"},
      {"stuck-after-document.yaml", ":4:1: unexpected ','"},
      {"stuck-tag.yaml", "end of sequence not found"},
      {"alias-cycle.yaml", ":1:8: a[0]: an alias refers to a node that contains it"},
      {"alias-cycle-map.yaml", "metadata.labels.self: an alias refers to a node that contains it"},
      {"billion-laughs.yaml", "expands to more than 1000000 nodes"},
      {"deep-nesting.yaml", "nests deeper than 100 levels"},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    const auto m = loadManifests(kCorpus / c.file);
    REQUIRE(m.errors.size() == 1);
    CHECK_THAT(m.errors[0], Catch::StartsWith((kCorpus / c.file).string() + ":"));
    CHECK_THAT(m.errors[0], Catch::Contains(c.message));
    CHECK(m.services.empty());  // a half-read file is not applied
  }
}

TEST_CASE("yaml: ',\\n' and friends end instead of looping on empty documents", "[yaml]") {
  for (const char* text : {",\n", ",", "a: 1\n---\n,\n", "- a\n---\n,\n"}) {
    INFO(text);
    CHECK_THAT(yamlError(text), Catch::Contains("the YAML parser cannot get past it"));
  }
  YamlOptions first;
  first.firstDocumentOnly = true;  // --config reads one document: what follows is never parsed
  const auto docs = yamlToJson("a: 1\n---\n,\n", first);
  REQUIRE(docs.size() == 1);
  CHECK(docs[0] == json::parse(R"({"a":1})"));
}

TEST_CASE("yaml: empty documents and markers still read as before", "[yaml]") {
  CHECK(yamlToJson("").empty());
  CHECK(yamlToJson("# only a comment\n").empty());
  const auto docs = yamlToJson("---\n---\na: 1\n...\n---\n- x\n---\n");
  REQUIRE(docs.size() == 4);
  CHECK(docs[0].is_null());
  CHECK(docs[1] == json::parse(R"({"a":1})"));
  CHECK(docs[2] == json::parse(R"(["x"])"));
  CHECK(docs[3].is_null());
  std::vector<std::string> errors;
  CHECK(parseManifestText("---\n---\na: 1\n---\n", false, "t", errors).size() == 1);
  CHECK(errors.empty());
}

TEST_CASE("yaml: aliases expand - alias keys use the anchored text", "[yaml]") {
  const auto docs = yamlToJson(R"(
base: &b {port: 80, tags: [&t web, x]}
copy: *b
again: [*b, *t]
&k key: 1
other: {*k : 2}
)");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0] == json::parse(R"({"base":{"port":80,"tags":["web","x"]},
    "copy":{"port":80,"tags":["web","x"]},"again":[{"port":80,"tags":["web","x"]},"web"],
    "key":1,"other":{"key":2}})"));
  // Anchors belong to their document.
  CHECK_THAT(yamlError("a: &x 1\n---\nb: *x\n"), Catch::Contains("3:4:"));  // 1-based
}

TEST_CASE("yaml: each alias use is charged in full - anchored copies count too", "[yaml]") {
  // 1 map + 2 keys + a (1 seq + 3) + b (1 seq + 2 x 4) = 16 nodes out; the two anchored copies
  // add 4 + 9.
  const std::string text = "a: &a [1, 2, 3]\nb: &b [*a, *a]\n";
  CHECK(yamlError(text, withLimits(100, 29, 1000)).empty());
  CHECK_THAT(yamlError(text, withLimits(100, 28, 1000)),
             Catch::Contains("the YAML expands to more than 28 nodes"));
  // Bytes: keys a, b (2) + 1,2,3 (3) + two copies (6) = 11 out; the kept copies add 3 + 6.
  CHECK(yamlError(text, withLimits(100, 1000, 20)).empty());
  CHECK_THAT(yamlError(text, withLimits(100, 1000, 19)),
             Catch::Contains("more than 19 bytes of text"));
}

TEST_CASE("yaml: depth and document count are bounded", "[yaml]") {
  CHECK(yamlError("a: [[1]]\n", withLimits(3, 100, 100)).empty());
  CHECK_THAT(yamlError("a: [[[1]]]\n", withLimits(3, 100, 100)),
             Catch::Equals("1:6: the YAML nests deeper than 3 levels"));
  YamlOptions few;
  few.limits.maxDocuments = 2;
  CHECK(yamlError("a\n---\nb\n", few).empty());
  CHECK_THAT(yamlError("a\n---\nb\n---\nc\n", few), Catch::Contains("more than 2 documents"));
}

TEST_CASE("yaml: keys must be scalars - duplicate keys are reported with their path", "[yaml]") {
  CHECK_THAT(yamlError("a:\n  ? [x]\n  : 1\n"),
             Catch::Contains("a: a mapping key is not a scalar"));
  CHECK_THAT(yamlError("~: 1\n"), Catch::Contains("a mapping key is null"));
  CHECK_FALSE(yamlError("?\n: 1\n").empty());  // yaml-cpp reads this key as a mapping
  CHECK_THAT(yamlError("s: &s [1]\nm: {*s : 1}\n"),
             Catch::Contains("m: a mapping key is not a scalar"));
  std::vector<std::string> dups;
  YamlOptions o;
  o.duplicateKeys = &dups;
  const auto docs = yamlToJson("a: 1\nl:\n- {x: 1, x: 2}\na: 3\n", o);
  CHECK(docs[0] == json::parse(R"({"a":3,"l":[{"x":2}]})"));
  CHECK(dups == std::vector<std::string>{"duplicate field \"l[0].x\": the last one wins",
                                         "duplicate field \"a\": the last one wins"});
}

TEST_CASE("yaml: the two schemas resolve plain scalars differently", "[yaml]") {
  const std::string text = "a: yes\nb: on\nc: 'yes'\nd: !!str 5\ne: +7\nf: 0x1F\n";
  const auto core = yamlToJson(text);
  CHECK(core[0] == json::parse(R"({"a":"yes","b":"on","c":"yes","d":"5","e":7,"f":31})"));
  YamlOptions v11;
  v11.schema = YamlSchema::kYaml11;
  const auto old = yamlToJson(text, v11);
  CHECK(old[0] == json::parse(R"({"a":true,"b":true,"c":"yes","d":"5","e":7,"f":"0x1F"})"));
  CHECK_THAT(yamlError("a: !!int x\n"), Catch::Contains("1:4: a: \"x\" is not an integer"));
}

// Fuzz finding (tests/fuzz/corpus/kube_proxy_config/invalid-utf8-path.yaml): yaml-cpp passed
// invalid UTF-8 through into a scalar, and its emitter wrote U+FFFD instead, so a written config
// loaded back different. Invalid UTF-8 is refused, in values and keys, quoted or not.
TEST_CASE("yaml: scalars and keys must be valid UTF-8", "[yaml]") {
  for (const char* text : {"k: /ku\xff\xff/x\n", "k: \"a\xc3\"\n", "\xfe: 1\n", "- \xc0\xaf\n",
                           "k: \xed\xa0\x80\n", "k: \xf4\x90\x80\x80\n"}) {
    INFO(text);
    CHECK_THAT(yamlError(text), Catch::Contains("is not valid UTF-8"));
  }
  CHECK_THAT(yamlError("a:\n  b: x\xff\n"),
             Catch::Contains("2:6: a.b: a scalar is not valid UTF-8"));
  // Valid multi-byte text, and escapes that name code points, still load.
  const auto docs = yamlToJson("k: \"caf\xc3\xa9 \\xff \xf0\x9f\x98\x80\"\n");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].at("k") == "caf\xc3\xa9 \xc3\xbf \xf0\x9f\x98\x80");
}
