#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "k8swatch/manifest_source.h"
#include "k8swatch/yaml_json.h"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace k8swatch;

namespace {

// A scratch directory removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("k8swatch-manifest-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
  static inline int counter = 0;
};

const char* kServiceYaml = R"(
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    version: "1.10"
    flag: "true"
spec:
  clusterIP: 10.96.0.10
  ports:
  - name: http
    port: 80
    targetPort: 8080
  - name: named
    port: 0x1bb
    targetPort: https
)";

const char* kSliceYaml = R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: prod
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: ["10.244.1.5"]
  conditions: {ready: true}
  nodeName: node-a
)";

}  // namespace

TEST_CASE("yaml: scalars resolve like Kubernetes tooling", "[manifest]") {
  std::vector<std::string> errors;
  const auto docs = parseManifestText(R"(
a: "123"
b: 123
c: true
d: 'false'
e: ~
f: 1.5
g: !!str 42
h: hello
i: -7
j: 0o17
k: ""
l: 99999999999999999999
m: [1, "2"]
)",
                                      false, "t", errors);
  REQUIRE(errors.empty());
  REQUIRE(docs.size() == 1);
  const auto& o = docs[0].get_object();
  CHECK(o.at("a") == json::value("123"));
  CHECK(o.at("b") == json::value(123));
  CHECK(o.at("c") == json::value(true));
  CHECK(o.at("d") == json::value("false"));
  CHECK(o.at("e").is_null());
  CHECK(o.at("f") == json::value(1.5));
  CHECK(o.at("g") == json::value("42"));
  CHECK(o.at("h") == json::value("hello"));
  CHECK(o.at("i") == json::value(-7));
  CHECK(o.at("j") == json::value(15));
  CHECK(o.at("k") == json::value(""));
  CHECK(o.at("l").is_double());
  CHECK(o.at("m") == json::parse(R"([1,"2"])"));
}

// Fuzz finding: a document without a kind passed through parseManifestObjects, whose objects
// are promised to carry one (the local API server files them by kind). kubectl refuses such an
// object; here it is a file-level error naming the file, like a document that is no object.
TEST_CASE("manifest: an object without a kind is an error naming its file", "[manifest]") {
  for (const char* text :
       {"kind: Service\nmetadata: {name: a}\n---\nmetadata: {name: b}\n",
        "kind: Service\nmetadata: {name: a}\n---\nkind: 7\nmetadata: {}\n",
        "kind: List\nitems: [{kind: Node, metadata: {name: n}}, {metadata: {}}]\n"}) {
    INFO(text);
    const auto objects = parseManifestObjects(text, false, "m.yaml");
    REQUIRE(objects.errors.size() == 1);
    CHECK(objects.errors[0] == "m.yaml: an object has no kind");
    for (const auto& o : objects.objects) CHECK(o.at("kind").is_string());
    CHECK(objects.objects.size() == objects.origins.size());
  }
  CHECK_FALSE(
      decodeManifestObjects(parseManifestObjects("metadata: {name: b}\n", false, "m")).ok());
}

TEST_CASE("manifest: one YAML file with several documents", "[manifest]") {
  TempDir dir;
  const auto file = dir.write("all.yaml", std::string(kServiceYaml) + "---\n---\n" + kSliceYaml +
                                              "---\nkind: ConfigMap\nmetadata: {name: c}\n");
  const auto m = loadManifests(file);
  REQUIRE(m.ok());
  CHECK(m.rejects.empty());
  REQUIRE(m.services.size() == 1);
  const auto& svc = m.services[0];
  CHECK(svc.key == ipvs::ObjectKey{"default", "web"});  // namespace defaulted
  CHECK(svc.ports[0].targetPort == "8080");
  CHECK(svc.ports[1].port == 443);
  CHECK(svc.ports[1].targetPort == "https");
  CHECK(svc.labels == ipvs::StringPairs{{"flag", "true"}, {"version", "1.10"}});
  REQUIRE(m.slices.size() == 1);
  CHECK(m.slices[0].key == ipvs::ObjectKey{"prod", "web-1"});
  CHECK(m.slices[0].endpoints[0].nodeName == "node-a");
  REQUIRE(m.skipped.size() == 1);
  CHECK(m.skipped[0].object == "ConfigMap c");
}

TEST_CASE("manifest: bad objects are rejected alone - syntax errors name the file", "[manifest]") {
  TempDir dir;
  dir.write("a.yaml", R"(
kind: Service
metadata: {name: bad, labels: {version: 1.10}}
---
kind: Service
metadata: {name: good, namespace: x}
spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}
---
kind: Service
metadata: {name: badport}
spec: {ports: [{port: 99999}]}
)");
  dir.write("b.yml",
            "kind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: "
            "10.0.0.7}]}\n");
  dir.write("c.yaml", "kind: Service\nmetadata: {name: [unclosed\n");
  dir.write("ignored.txt", "not: [a manifest");
  const auto m = loadManifests(dir.path);
  REQUIRE(m.errors.size() == 1);
  CHECK_THAT(m.errors[0], Catch::Contains("c.yaml:"));
  REQUIRE(m.services.size() == 1);
  CHECK(m.services[0].key == ipvs::ObjectKey{"x", "good"});
  REQUIRE(m.rejects.size() == 2);
  CHECK(m.rejects[0].object == "default/bad");
  CHECK(m.rejects[0].reason == reason::kBadType);
  CHECK(m.rejects[1].object == "default/badport");
  CHECK(m.rejects[1].reason == reason::kBadPort);
  REQUIRE(m.nodes.size() == 1);
  CHECK(m.nodes[0].addresses[0].toString() == "10.0.0.7");
}

TEST_CASE("manifest: JSON lists - typed lists and concatenated values", "[manifest]") {
  TempDir dir;
  const auto file = dir.write("list.json", R"({"kind":"List","items":[
    {"kind":"Service","metadata":{"name":"a","namespace":"n"},"spec":{"clusterIP":"10.0.0.1"}},
    {"kind":"ServiceList","items":[{"metadata":{"name":"b","namespace":"n"}}]}]}
    {"kind":"EndpointSliceList","items":[{"metadata":{"name":"s","namespace":"n",
     "labels":{"kubernetes.io/service-name":"a"}},"addressType":"IPv4","endpoints":[]}]}
    {"kind":"NodeList","items":[{"metadata":{"name":"n1"}}]})");
  const auto m = loadManifests(file);
  REQUIRE(m.ok());
  REQUIRE(m.services.size() == 2);
  CHECK(m.services[1].key.name == "b");
  CHECK(m.slices.size() == 1);
  CHECK(m.nodes.size() == 1);
  const auto raw = readManifestObjects(file);
  REQUIRE(raw.objects.size() == 4);
  CHECK(raw.objects[1].at("kind") == "Service");
  const auto broken = loadManifests(dir.write("broken.json", R"({"kind":"Service",)"));
  REQUIRE(broken.errors.size() == 1);
  CHECK_THAT(broken.errors[0], Catch::Contains("broken.json"));
  CHECK_FALSE(loadManifests(dir.path / "missing.yaml").ok());
}

TEST_CASE("manifest: a duplicate object is reported naming both places - the last wins",
          "[manifest]") {
  TempDir dir;
  dir.write("a.yaml", R"(
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}
---
kind: Service
metadata: {name: other}
spec: {clusterIP: 10.0.0.2, ports: [{port: 80}]}
---
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.0.1]}]
)");
  dir.write("b.json", R"({"kind":"List","items":[
    {"kind":"Node","metadata":{"name":"n1"}},
    {"kind":"Service","metadata":{"name":"web","namespace":"default"},
     "spec":{"clusterIP":"10.0.0.9","ports":[{"port":81}]}}]}
    {"kind":"EndpointSlice","metadata":{"name":"web-1","namespace":"default",
     "labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4",
     "endpoints":[{"addresses":["10.244.0.2"]}]})");
  // An empty first document: the Node is document 2, as yaml-cpp counts them.
  dir.write("c.yml", "---\n---\nkind: Node\nmetadata: {name: n1}\n");
  const auto m = loadManifests(dir.path);
  REQUIRE(m.ok());
  const std::string a = (dir.path / "a.yaml").string();
  const std::string b = (dir.path / "b.json").string();
  const std::string c = (dir.path / "c.yml").string();
  REQUIRE(m.rejects.size() == 3);
  CHECK(m.rejects[0].kind == ResourceKind::kService);
  CHECK(m.rejects[0].object == "default/web");
  CHECK(m.rejects[0].reason == reason::kDuplicate);
  CHECK(m.rejects[0].message == "Service default/web in " + a +
                                    " (document 1) is defined again in " + b +
                                    " (document 1, item 2); the last one wins");
  CHECK(m.rejects[1].kind == ResourceKind::kEndpointSlice);
  CHECK(m.rejects[1].message == "EndpointSlice default/web-1 in " + a +
                                    " (document 3) is defined again in " + b +
                                    " (document 2); the last one wins");
  CHECK(m.rejects[2].message == "Node n1 in " + b + " (document 1, item 1) is defined again in " +
                                    c + " (document 2); the last one wins");
  // One of each remains, the last one, in the place of the first.
  REQUIRE(m.services.size() == 2);
  CHECK(m.services[0].key.name == "web");
  CHECK(m.services[0].ports[0].port == 81);
  CHECK(m.services[1].key.name == "other");
  REQUIRE(m.slices.size() == 1);
  CHECK(m.slices[0].endpoints[0].address.toString() == "10.244.0.2");
  CHECK(m.nodes.size() == 1);
}

TEST_CASE("manifest: the same name in two namespaces is not a duplicate", "[manifest]") {
  const auto m = decodeManifestObjects(
      parseManifestObjects("kind: Service\nmetadata: {name: web, namespace: a}\n---\n"
                           "kind: Service\nmetadata: {name: web, namespace: b}\n",
                           false, "t"));
  CHECK(m.rejects.empty());
  CHECK(m.services.size() == 2);
}
