// The generic object check: each kind's required fields, as the API server's validation would
// reject them, and the references between the objects of one set.

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "tests/manifests/check.h"
#include "tests/manifests/check_pod.h"

namespace manifest_check {
namespace {

// The kinds this check knows, with the apiVersion each must use.
const std::map<std::string, std::string, std::less<>>& knownKinds() {
  static const std::map<std::string, std::string, std::less<>> kKinds = {
      {"ServiceAccount", "v1"},
      {"ConfigMap", "v1"},
      {"Namespace", "v1"},
      {"Service", "v1"},
      {"Node", "v1"},
      {"EndpointSlice", "discovery.k8s.io/v1"},
      {"ClusterRole", "rbac.authorization.k8s.io/v1"},
      {"ClusterRoleBinding", "rbac.authorization.k8s.io/v1"},
      {"Role", "rbac.authorization.k8s.io/v1"},
      {"RoleBinding", "rbac.authorization.k8s.io/v1"},
      {"DaemonSet", "apps/v1"},
      {"PodMonitor", "monitoring.coreos.com/v1"},
      {"ServiceMonitor", "monitoring.coreos.com/v1"},
      {"PrometheusRule", "monitoring.coreos.com/v1"},
      {"NetworkPolicy", "networking.k8s.io/v1"},
  };
  return kKinds;
}

void checkMetadata(const SourcedObject& s, Report& r) {
  const json::object& o = s.object;
  const std::string where = describe(s);
  if (stringAt(o, "apiVersion").empty()) r.fail(where, "apiVersion is missing");
  const std::string kind = kindOf(o);
  if (kind.empty()) r.fail(where, "kind is missing");
  const std::string name = nameOf(o);
  if (name.empty()) {
    r.fail(where, "metadata.name is missing");
  } else if (!isDnsSubdomain(name)) {
    r.fail(where,
           "metadata.name \"" + name + "\" is not a DNS subdomain (lower case, digits, -, .)");
  }
  const auto known = knownKinds().find(kind);
  if (known == knownKinds().end()) {
    if (!kind.empty()) {
      r.fail(where, "kind " + kind + " is not one this check knows: add its required fields to " +
                        "tests/manifests/check_objects.cpp");
    }
  } else if (stringAt(o, "apiVersion") != known->second) {
    r.fail(where,
           "apiVersion must be " + known->second + ", not \"" + stringAt(o, "apiVersion") + "\"");
  }
  checkLabels(at(o, "metadata.labels"), where + ": metadata.labels", r);
}

void checkConfigMap(const SourcedObject& s, Report& r) {
  const json::value* data = at(s.object, "data");
  if (data == nullptr) return;
  if (!data->is_object()) {
    r.fail(describe(s), "data must be a mapping of strings");
    return;
  }
  for (const auto& kv : data->get_object()) {
    if (!kv.value().is_string()) {
      r.fail(describe(s), "data." + std::string(kv.key()) +
                              " must be a string (quote it): the API server refuses other types");
    }
  }
}

void checkRules(const SourcedObject& s, Report& r) {
  const auto& rules = arrayAt(s.object, "rules");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string where = describe(s) + ": rules[" + std::to_string(i) + "]";
    if (!rules[i].is_object()) {
      r.fail(where, "must be a mapping");
      continue;
    }
    const json::object& rule = rules[i].get_object();
    if (arrayAt(rule, "verbs").empty()) r.fail(where, "verbs is missing or empty");
    const bool resources = !arrayAt(rule, "resources").empty();
    const bool urls = !arrayAt(rule, "nonResourceURLs").empty();
    if (!resources && !urls) r.fail(where, "needs resources (with apiGroups) or nonResourceURLs");
    if (resources && at(rule, "apiGroups") == nullptr) r.fail(where, "apiGroups is missing");
  }
}

void checkBinding(const SourcedObject& s, Report& r) {
  const std::string where = describe(s);
  for (const char* f : {"roleRef.apiGroup", "roleRef.kind", "roleRef.name"}) {
    if (stringAt(s.object, f).empty()) r.fail(where, std::string(f) + " is missing");
  }
  const auto& subjects = arrayAt(s.object, "subjects");
  if (subjects.empty()) r.fail(where, "subjects is missing or empty");
  for (const auto& sub : subjects) {
    if (!sub.is_object()) continue;
    const json::object& so = sub.get_object();
    if (stringAt(so, "kind").empty() || stringAt(so, "name").empty()) {
      r.fail(where, "each subject needs kind and name");
    }
    if (stringAt(so, "kind") == "ServiceAccount" && stringAt(so, "namespace").empty()) {
      r.fail(where, "a ServiceAccount subject needs its namespace");
    }
  }
}

void checkDaemonSet(const SourcedObject& s, Report& r) {
  const std::string where = describe(s);
  const json::value* selector = at(s.object, "spec.selector");
  if (selector == nullptr || !selector->is_object() || selector->get_object().empty()) {
    r.fail(where, "spec.selector is missing (apps/v1 requires it)");
  }
  const json::value* labels = at(s.object, "spec.template.metadata.labels");
  if (labels == nullptr || !labels->is_object()) {
    r.fail(where, "spec.template.metadata.labels is missing");
  } else if (selector && selector->is_object() && !selectorMatches(*selector, *labels)) {
    r.fail(where, "spec.selector does not match spec.template.metadata.labels");
  }
  const json::value* podSpec = at(s.object, "spec.template.spec");
  if (podSpec == nullptr || !podSpec->is_object()) {
    r.fail(where, "spec.template.spec is missing");
    return;
  }
  checkPodSpec(podSpec->get_object(), where + ": spec.template.spec", r);
  const std::string strategy = stringAt(s.object, "spec.updateStrategy.type");
  if (!strategy.empty() && strategy != "RollingUpdate" && strategy != "OnDelete") {
    r.fail(where, "spec.updateStrategy.type must be RollingUpdate or OnDelete");
  }
}

// A policy over the agent's pods must keep its health port open to every source: load
// balancers and the kubelet probe it, and a node whose /healthz is blocked is taken out.
void checkNetworkPolicy(const SourcedObject& s, Report& r) {
  const json::value* selector = at(s.object, "spec.podSelector");
  if (selector == nullptr || !selector->is_object()) {
    r.fail(describe(s), "spec.podSelector is missing");
    return;
  }
  bool healthOpen = false;
  for (const auto& rule : arrayAt(s.object, "spec.ingress")) {
    if (!rule.is_object() || rule.get_object().contains("from")) continue;
    for (const auto& port : arrayAt(rule.get_object(), "ports")) {
      const json::value* n = port.is_object() ? port.get_object().if_contains("port") : nullptr;
      if (n && n->is_int64() && n->get_int64() == 10256) healthOpen = true;
    }
  }
  if (!healthOpen) {
    r.fail(describe(s), "no ingress rule admits port 10256 (health) from every source");
  }
}

void checkService(const SourcedObject& s, Report& r) {
  if (stringAt(s.object, "spec.type") == "ExternalName") return;
  const auto& ports = arrayAt(s.object, "spec.ports");
  if (ports.empty()) r.fail(describe(s), "spec.ports is missing or empty");
  for (const auto& p : ports) {
    const json::value* port = p.is_object() ? p.get_object().if_contains("port") : nullptr;
    if (port == nullptr || !port->is_int64() || port->get_int64() < 1 ||
        port->get_int64() > 65535) {
      r.fail(describe(s), "each spec.ports entry needs a port 1..65535");
    }
  }
}

void checkEndpointSlice(const SourcedObject& s, Report& r) {
  const std::string type = stringAt(s.object, "addressType");
  if (type != "IPv4" && type != "IPv6" && type != "FQDN") {
    r.fail(describe(s), "addressType must be IPv4, IPv6 or FQDN");
  }
  if (at(s.object, "endpoints") == nullptr) r.fail(describe(s), "endpoints is missing");
  for (const auto& e : arrayAt(s.object, "endpoints")) {
    if (!e.is_object() || arrayAt(e.get_object(), "addresses").empty()) {
      r.fail(describe(s), "each endpoint needs addresses");
    }
  }
}

void checkMonitors(const SourcedObject& s, Report& r) {
  const std::string kind = kindOf(s.object);
  const std::string where = describe(s);
  if (kind == "PrometheusRule") {
    const auto& groups = arrayAt(s.object, "spec.groups");
    if (groups.empty()) r.fail(where, "spec.groups is missing or empty");
    for (const auto& g : groups) {
      if (!g.is_object() || stringAt(g.get_object(), "name").empty()) {
        r.fail(where, "each group needs a name");
        continue;
      }
      for (const auto& rule : arrayAt(g.get_object(), "rules")) {
        if (!rule.is_object()) continue;
        const bool alert = !stringAt(rule.get_object(), "alert").empty();
        const bool record = !stringAt(rule.get_object(), "record").empty();
        if (alert == record) r.fail(where, "each rule needs exactly one of alert and record");
        if (stringAt(rule.get_object(), "expr").empty()) r.fail(where, "each rule needs expr");
      }
    }
    return;
  }
  if (at(s.object, "spec.selector") == nullptr) r.fail(where, "spec.selector is missing");
  const char* list = kind == "PodMonitor" ? "spec.podMetricsEndpoints" : "spec.endpoints";
  const auto& endpoints = arrayAt(s.object, list);
  if (endpoints.empty()) r.fail(where, std::string(list) + " is missing or empty");
  for (const auto& e : endpoints) {
    if (!e.is_object() ||
        (!e.get_object().contains("port") && !e.get_object().contains("portNumber") &&
         !e.get_object().contains("targetPort"))) {
      r.fail(where, "each endpoint needs port (a named port), portNumber or targetPort");
    }
  }
}

}  // namespace

void checkObjects(const std::vector<SourcedObject>& objects, Report& report) {
  const std::size_t before = report.failures();
  std::set<std::string> seen;
  for (const auto& s : objects) {
    checkMetadata(s, report);
    const std::string kind = kindOf(s.object);
    const std::string id = kind + " " + namespaceOf(s.object) + "/" + nameOf(s.object);
    if (!seen.insert(id).second) report.fail(describe(s), "defined twice in this set");
    if (kind == "ConfigMap") checkConfigMap(s, report);
    if (kind == "ClusterRole" || kind == "Role") checkRules(s, report);
    if (kind == "ClusterRoleBinding" || kind == "RoleBinding") checkBinding(s, report);
    if (kind == "DaemonSet") checkDaemonSet(s, report);
    if (kind == "Service") checkService(s, report);
    if (kind == "NetworkPolicy") checkNetworkPolicy(s, report);
    if (kind == "EndpointSlice") checkEndpointSlice(s, report);
    if (kind == "PodMonitor" || kind == "ServiceMonitor" || kind == "PrometheusRule") {
      checkMonitors(s, report);
    }
  }
  checkReferences(objects, report);
  if (report.failures() == before) {
    report.ok(std::to_string(objects.size()) + " objects have their required fields");
  }
}

}  // namespace manifest_check
