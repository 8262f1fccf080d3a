#pragma once
// manifest_check: the checks behind `ctest -L manifests`, over the manifests in manifests/ read
// with the project's own YAML reader (k8swatch::parseManifestText). Each check reports every
// problem it finds as "FAIL: <where>: <what>" and the program exits 1 if there was any; the
// negative ctests run it on broken fixtures and expect those lines.
//
// Threading: single-threaded. Errors: a problem in the input is a FAIL line, never an
// exception; an exception escaping a check is a bug and main reports it as a FAIL too.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace manifest_check {

namespace json = boost::json;
namespace fs = std::filesystem;

class Report {
 public:
  void fail(const std::string& where, const std::string& what);
  void ok(const std::string& what);  // a check that passed, for the log
  std::size_t failures() const { return failures_; }

 private:
  std::size_t failures_ = 0;
};

struct SourcedObject {
  json::object object;
  std::string origin;  // the file it came from
};

// Objects of manifest files: each path is a file, or a directory whose *.yaml/*.yml/*.json
// files are read (not recursively). kustomization.yaml files are skipped; syntax errors FAIL.
std::vector<SourcedObject> loadObjects(const std::vector<fs::path>& paths, Report& report);

// YAML (or JSON) text into JSON values, through the project's reader.
std::vector<json::value> parseYaml(const std::string& text, const std::string& origin,
                                   Report& report);
std::string readText(const fs::path& path, Report& report);

// Small JSON accessors. at() follows a dotted path of object keys; nullptr when absent.
const json::value* at(const json::value& v, std::string_view dottedPath);
const json::value* at(const json::object& o, std::string_view dottedPath);
std::string stringAt(const json::object& o, std::string_view dottedPath);  // "" if not a string
const json::array& arrayAt(const json::object& o, std::string_view dottedPath);  // empty if none
std::string kindOf(const json::object& o);
std::string nameOf(const json::object& o);
std::string namespaceOf(const json::object& o);  // "" when cluster-scoped or unset
std::string describe(const SourcedObject& s);    // "file: Kind ns/name"

// Pod-spec helpers shared by the object, policy and agent checks.
std::string jsonText(const json::value& v);  // a scalar as text, "" for null
std::vector<const json::object*> allContainers(const json::object& podSpec);  // init first
bool runsAgent(const json::object& container);  // command/args start ipvs-agent(-entrypoint)
const SourcedObject* findObject(const std::vector<SourcedObject>& objects, std::string_view kind,
                                std::string_view ns, std::string_view name);

// ---- the checks ----

// Every object has apiVersion, kind, metadata.name and the fields its kind requires, and the
// references between objects (RBAC, ServiceAccount, ConfigMap volumes, PodMonitor) resolve.
void checkObjects(const std::vector<SourcedObject>& objects, Report& report);

// The ipvs-agent DaemonSet's deployment rules: hostNetwork, priority, tolerations, least
// privileges, probes, resources, mounts, rolling update, node name from the downward API.
void checkPolicy(const std::vector<SourcedObject>& objects, Report& report);

// The ClusterRoles grant exactly the (verb, group, resource) set of the API requests listed in
// `apiPathFiles`; no wildcard, no secrets, no non-resource URLs.
void checkRbac(const std::vector<SourcedObject>& objects, const std::vector<fs::path>& apiPathFiles,
               Report& report);

// Every kustomization under `root`: referenced files exist, patches and generators hit objects
// of their bases, image names are used, nothing remote or absolute.
void checkKustomizations(const fs::path& root, Report& report);

// Runs the real binary on each ipvs-agent container's command line, with its ConfigMap volumes
// written to a temporary directory, plus --write-config-to: exit 0, no warnings, every input
// field kept, health and metrics ports matching the probes. `configOverrides` replace ConfigMap
// files by the basename of the file they are mounted as (for overlay configs).
struct AgentRun {
  fs::path binary;
  std::map<std::string, std::string> configOverrides;  // "config.conf" -> file text
};
void checkAgentAccepts(const std::vector<SourcedObject>& objects, const AgentRun& run,
                       Report& report);

// Grafana dashboards (*.json among `paths`) and PrometheusRules: structure, and every metric
// they name is one the agent registers (agent::AgentMetrics).
void checkMonitoring(const std::vector<SourcedObject>& objects, const std::vector<fs::path>& paths,
                     Report& report);

// Metric names referenced by a PromQL expression (functions, keywords, label matchers, ranges
// and grouping labels removed). Exposed for the monitoring check's own use and for clarity.
std::set<std::string> promqlMetricNames(std::string_view expr);

}  // namespace manifest_check
