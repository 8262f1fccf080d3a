// The deployment rules of issue 6 for every DaemonSet that runs ipvs-agent. Each failure says
// what the rule protects, so that a change that breaks one is a decision, not an accident.

#include <boost/json.hpp>

#include "tests/manifests/check.h"

namespace manifest_check {
namespace {

std::set<std::string> stringsAt(const json::object& o, std::string_view path) {
  std::set<std::string> out;
  for (const auto& v : arrayAt(o, path)) {
    if (v.is_string()) out.emplace(v.get_string());
  }
  return out;
}

bool boolAt(const json::object& o, std::string_view path, bool fallback) {
  const json::value* v = at(o, path);
  return v && v->is_bool() ? v->get_bool() : fallback;
}

const json::object* volumeNamed(const json::object& spec, const std::string& name) {
  for (const auto& v : arrayAt(spec, "volumes")) {
    if (v.is_object() && stringAt(v.get_object(), "name") == name) return &v.get_object();
  }
  return nullptr;
}

// The hostPath volume mounted at `mountPath`, or nullptr.
const json::object* hostPathMount(const json::object& spec, const json::object& c,
                                  const std::string& mountPath, bool& readOnly) {
  for (const auto& m : arrayAt(c, "volumeMounts")) {
    if (!m.is_object() || stringAt(m.get_object(), "mountPath") != mountPath) continue;
    readOnly = boolAt(m.get_object(), "readOnly", false);
    const json::object* vol = volumeNamed(spec, stringAt(m.get_object(), "name"));
    return vol && vol->contains("hostPath") ? vol : nullptr;
  }
  return nullptr;
}

// --hostname-override=$(VAR) with VAR from the downward API's spec.nodeName.
bool nodeNameFromDownwardApi(const json::object& c) {
  std::string var;
  for (const auto& a : arrayAt(c, "args")) {
    const std::string arg = a.is_string() ? std::string(a.get_string()) : "";
    const std::string flag = "--hostname-override=$(";
    if (arg.starts_with(flag) && arg.ends_with(")")) {
      var = arg.substr(flag.size(), arg.size() - flag.size() - 1);
    }
  }
  if (var.empty()) return false;
  for (const auto& e : arrayAt(c, "env")) {
    if (e.is_object() && stringAt(e.get_object(), "name") == var) {
      return stringAt(e.get_object(), "valueFrom.fieldRef.fieldPath") == "spec.nodeName";
    }
  }
  return false;
}

void checkMainContainer(const json::object& spec, const json::object& c, const std::string& where,
                        Report& r) {
  if (boolAt(c, "securityContext.privileged", false)) {
    r.fail(where, "must not be privileged: only the init container needs that (sysctls)");
  }
  if (boolAt(c, "securityContext.allowPrivilegeEscalation", true)) {
    r.fail(where, "securityContext.allowPrivilegeEscalation must be false");
  }
  const auto add = stringsAt(c, "securityContext.capabilities.add");
  if (!add.contains("NET_ADMIN")) r.fail(where, "capabilities.add must include NET_ADMIN");
  for (const auto& cap : add) {
    if (cap != "NET_ADMIN" && cap != "NET_RAW") {
      r.fail(where, "capability " + cap + " is more than the agent needs (NET_ADMIN, NET_RAW)");
    }
  }
  if (!stringsAt(c, "securityContext.capabilities.drop").contains("ALL")) {
    r.fail(where, "capabilities.drop must be [ALL]");
  }
  const std::string live = stringAt(c, "livenessProbe.httpGet.path");
  if (live != "/livez") {
    r.fail(where, "livenessProbe must be httpGet /livez (port 10256 by default), not \"" + live +
                      "\": /healthz also fails while the node is being deleted, which would "
                      "restart the agent on every draining node");
  }
  for (const char* res :
       {"resources.requests.cpu", "resources.requests.memory", "resources.limits.memory"}) {
    if (at(c, res) == nullptr) r.fail(where, std::string(res) + " is missing");
  }
  bool readOnly = false;
  const json::object* modules = hostPathMount(spec, c, "/lib/modules", readOnly);
  if (modules == nullptr || stringAt(*modules, "hostPath.path") != "/lib/modules" || !readOnly) {
    r.fail(where, "must mount the host's /lib/modules at /lib/modules, readOnly");
  }
  const json::object* lock = hostPathMount(spec, c, "/run/xtables.lock", readOnly);
  if (lock == nullptr || stringAt(*lock, "hostPath.path") != "/run/xtables.lock" ||
      stringAt(*lock, "hostPath.type") != "FileOrCreate") {
    r.fail(where,
           "must mount the host's /run/xtables.lock (type FileOrCreate): iptables "
           "serialises with the kubelet and the CNI plugin on it");
  }
}

void checkAgentDaemonSet(const SourcedObject& s, Report& r) {
  const std::string where = describe(s);
  const json::value* specValue = at(s.object, "spec.template.spec");
  if (specValue == nullptr || !specValue->is_object()) return;  // checkObjects reports it
  const json::object& spec = specValue->get_object();
  if (!boolAt(spec, "hostNetwork", false)) r.fail(where, "hostNetwork must be true");
  if (stringAt(spec, "priorityClassName") != "system-node-critical") {
    r.fail(where, "priorityClassName must be system-node-critical");
  }
  bool toleratesAll = false;
  for (const auto& t : arrayAt(spec, "tolerations")) {
    if (t.is_object() && stringAt(t.get_object(), "operator") == "Exists" &&
        !t.get_object().contains("key") && !t.get_object().contains("effect")) {
      toleratesAll = true;
    }
  }
  if (!toleratesAll) r.fail(where, "needs a toleration {operator: Exists} for every taint");
  const std::string sa = stringAt(spec, "serviceAccountName");
  if (sa.empty() || sa == "default") r.fail(where, "needs its own serviceAccountName");
  const std::string strategy = stringAt(s.object, "spec.updateStrategy.type");
  const json::value* maxUnavailable =
      at(s.object, "spec.updateStrategy.rollingUpdate.maxUnavailable");
  if ((!strategy.empty() && strategy != "RollingUpdate") || maxUnavailable == nullptr ||
      !maxUnavailable->is_int64() || maxUnavailable->get_int64() != 1) {
    r.fail(where, "updateStrategy must be RollingUpdate with maxUnavailable 1");
  }
  for (const auto& item : arrayAt(spec, "initContainers")) {
    if (!item.is_object() || !runsAgent(item.get_object())) continue;
    const json::object& c = item.get_object();
    const auto args = stringsAt(c, "args");
    if (boolAt(c, "securityContext.privileged", false) && !args.contains("--init-only")) {
      r.fail(where + ": init container " + stringAt(c, "name"),
             "privileged is accepted only for the --init-only step");
    }
  }
  bool anyMain = false;
  for (const auto& item : arrayAt(spec, "containers")) {
    if (!item.is_object() || !runsAgent(item.get_object())) continue;
    anyMain = true;
    const json::object& c = item.get_object();
    const std::string cw = where + ": container " + stringAt(c, "name");
    checkMainContainer(spec, c, cw, r);
    if (!nodeNameFromDownwardApi(c)) {
      r.fail(cw, "needs --hostname-override=$(VAR) with VAR from fieldRef spec.nodeName");
    }
  }
  if (!anyMain) r.fail(where, "no container runs ipvs-agent");
}

}  // namespace

void checkPolicy(const std::vector<SourcedObject>& objects, Report& report) {
  const std::size_t before = report.failures();
  std::size_t checked = 0;
  for (const auto& s : objects) {
    if (kindOf(s.object) != "DaemonSet") continue;
    const json::value* spec = at(s.object, "spec.template.spec");
    if (spec == nullptr || !spec->is_object()) continue;
    bool agent = false;
    for (const json::object* c : allContainers(spec->get_object())) agent = agent || runsAgent(*c);
    if (!agent) continue;
    ++checked;
    checkAgentDaemonSet(s, report);
  }
  if (checked == 0) report.fail("policy", "no DaemonSet runs ipvs-agent in this set");
  if (report.failures() == before) {
    report.ok(std::to_string(checked) + " ipvs-agent DaemonSet(s) follow the deployment rules");
  }
}

}  // namespace manifest_check
