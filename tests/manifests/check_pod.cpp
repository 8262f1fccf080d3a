#include "tests/manifests/check_pod.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

namespace manifest_check {
namespace {

bool alnumLower(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'z');
}

// ConfigMaps that are not ours but that an overlay may mount (kubeadm's kube-proxy).
bool knownExternalConfigMap(std::string_view ns, std::string_view name) {
  return ns == "kube-system" && name == "kube-proxy";
}

void checkContainer(const json::object& c, const std::string& where,
                    const std::set<std::string>& volumes, Report& r) {
  if (stringAt(c, "image").empty()) r.fail(where, "image is missing");
  std::set<std::string> portNames;
  std::set<std::int64_t> portNumbers;
  for (const auto& p : arrayAt(c, "ports")) {
    if (!p.is_object()) continue;
    const json::value* n = p.get_object().if_contains("containerPort");
    if (n == nullptr || !n->is_int64() || n->get_int64() < 1 || n->get_int64() > 65535) {
      r.fail(where, "each port needs a containerPort 1..65535");
      continue;
    }
    if (!portNumbers.insert(n->get_int64()).second) {
      r.fail(where, "containerPort " + std::to_string(n->get_int64()) + " is declared twice");
    }
    const std::string name = stringAt(p.get_object(), "name");
    if (!name.empty() && (name.size() > 15 || !portNames.insert(name).second)) {
      r.fail(where, "port name \"" + name + "\" is longer than 15 characters or declared twice");
    }
  }
  std::set<std::string> mountPaths;
  for (const auto& m : arrayAt(c, "volumeMounts")) {
    if (!m.is_object()) continue;
    const std::string name = stringAt(m.get_object(), "name");
    const std::string path = stringAt(m.get_object(), "mountPath");
    if (!volumes.contains(name)) r.fail(where, "volumeMount \"" + name + "\" names no volume");
    if (path.empty() || path.front() != '/') r.fail(where, "mountPath must be absolute");
    if (!mountPaths.insert(path).second) r.fail(where, "mountPath " + path + " is used twice");
  }
  std::set<std::string> envNames;
  for (const auto& e : arrayAt(c, "env")) {
    if (!e.is_object()) continue;
    const std::string name = stringAt(e.get_object(), "name");
    if (name.empty() || !envNames.insert(name).second) {
      r.fail(where, "env entries need unique names (\"" + name + "\")");
    }
    const json::value* from = e.get_object().if_contains("valueFrom");
    if (from && at(*from, "fieldRef") && !at(*from, "fieldRef.fieldPath")) {
      r.fail(where, "env " + name + ": fieldRef needs fieldPath");
    }
  }
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    const json::value* port = at(c, std::string(probe) + ".httpGet.port");
    if (port == nullptr) continue;
    if (port->is_string() && !portNames.contains(std::string(port->get_string()))) {
      r.fail(where, std::string(probe) + " names port \"" + std::string(port->get_string()) +
                        "\", which the container does not declare");
    } else if (!port->is_string() && !port->is_int64()) {
      r.fail(where, std::string(probe) + ".httpGet.port must be a number or a port name");
    }
  }
}

}  // namespace

bool isDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || !alnumLower(s.front()) || !alnumLower(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return alnumLower(c) || c == '-'; });
}

bool isDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::size_t start = 0;;) {
    const auto dot = s.find('.', start);
    if (!isDnsLabel(s.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

void checkLabels(const json::value* labels, const std::string& where, Report& r) {
  if (labels == nullptr) return;
  if (!labels->is_object()) {
    r.fail(where, "must be a mapping");
    return;
  }
  const auto nameOk = [](std::string_view n) {
    if (n.empty() || n.size() > 63) return false;
    const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    if (!alnum(n.front()) || !alnum(n.back())) return false;
    return std::all_of(n.begin(), n.end(),
                       [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
  };
  for (const auto& kv : labels->get_object()) {
    const std::string_view key = kv.key();
    const auto slash = key.find('/');
    const bool keyOk = slash == std::string_view::npos
                           ? nameOk(key)
                           : isDnsSubdomain(key.substr(0, slash)) && nameOk(key.substr(slash + 1));
    if (!keyOk) r.fail(where, "label key \"" + std::string(key) + "\" is not valid");
    if (!kv.value().is_string()) {
      r.fail(where, "label " + std::string(key) + " must be a string (quote it)");
    } else if (!kv.value().get_string().empty() && !nameOk(kv.value().get_string())) {
      r.fail(where, "label value \"" + std::string(kv.value().get_string()) + "\" is not valid");
    }
  }
}

bool selectorMatches(const json::value& selector, const json::value& labels) {
  if (!labels.is_object()) return false;
  const json::object& have = labels.get_object();
  if (const json::value* ml = at(selector, "matchLabels"); ml && ml->is_object()) {
    for (const auto& kv : ml->get_object()) {
      const json::value* v = have.if_contains(kv.key());
      if (v == nullptr || *v != kv.value()) return false;
    }
  }
  const json::value* me = at(selector, "matchExpressions");
  if (me == nullptr || !me->is_array()) return true;
  for (const auto& e : me->get_array()) {
    if (!e.is_object()) return false;
    const std::string key = stringAt(e.get_object(), "key");
    const std::string op = stringAt(e.get_object(), "operator");
    const json::value* v = have.if_contains(key);
    const auto& values = arrayAt(e.get_object(), "values");
    const bool in = v && std::find(values.begin(), values.end(), *v) != values.end();
    if ((op == "In" && !in) || (op == "NotIn" && in) || (op == "Exists" && !v) ||
        (op == "DoesNotExist" && v)) {
      return false;
    }
  }
  return true;
}

void checkPodSpec(const json::object& spec, const std::string& where, Report& r) {
  std::set<std::string> volumes;
  for (const auto& v : arrayAt(spec, "volumes")) {
    const std::string name = v.is_object() ? stringAt(v.get_object(), "name") : "";
    if (!isDnsLabel(name) || !volumes.insert(name).second) {
      r.fail(where, "volume \"" + name + "\" needs a unique DNS-label name");
    }
  }
  if (arrayAt(spec, "containers").empty()) r.fail(where, "containers is missing or empty");
  std::set<std::string> names;
  for (const json::object* c : allContainers(spec)) {
    const std::string name = stringAt(*c, "name");
    if (!isDnsLabel(name)) r.fail(where, "container name \"" + name + "\" is not a DNS label");
    if (!names.insert(name).second) r.fail(where, "container name " + name + " is used twice");
    checkContainer(*c, where + ": container " + name, volumes, r);
  }
}

void checkReferences(const std::vector<SourcedObject>& objects, Report& r) {
  for (const auto& s : objects) {
    const std::string kind = kindOf(s.object);
    if (kind == "ClusterRoleBinding" || kind == "RoleBinding") {
      const std::string role = stringAt(s.object, "roleRef.name");
      const std::string roleKind = stringAt(s.object, "roleRef.kind");
      const std::string ns = roleKind == "Role" ? namespaceOf(s.object) : "";
      if (!role.starts_with("system:") && !findObject(objects, roleKind, ns, role)) {
        r.fail(describe(s), "roleRef " + roleKind + " " + role + " is not in this set");
      }
      for (const auto& sub : arrayAt(s.object, "subjects")) {
        if (!sub.is_object() || stringAt(sub.get_object(), "kind") != "ServiceAccount") continue;
        const std::string ns2 = stringAt(sub.get_object(), "namespace");
        const std::string name = stringAt(sub.get_object(), "name");
        if (!findObject(objects, "ServiceAccount", ns2, name)) {
          r.fail(describe(s), "subject ServiceAccount " + ns2 + "/" + name + " is not in this set");
        }
      }
    }
    if (kind != "DaemonSet") continue;
    const json::value* spec = at(s.object, "spec.template.spec");
    if (spec == nullptr || !spec->is_object()) continue;
    const std::string ns = namespaceOf(s.object);
    const std::string sa = stringAt(spec->get_object(), "serviceAccountName");
    if (!sa.empty() && !findObject(objects, "ServiceAccount", ns, sa)) {
      r.fail(describe(s), "serviceAccountName " + sa + " is not in this set");
    }
    for (const auto& v : arrayAt(spec->get_object(), "volumes")) {
      const std::string cm = v.is_object() ? stringAt(v.get_object(), "configMap.name") : "";
      const json::value* optional = v.is_object() ? at(v, "configMap.optional") : nullptr;
      const bool isOptional = optional && optional->is_bool() && optional->get_bool();
      if (cm.empty() || isOptional || knownExternalConfigMap(ns, cm)) continue;
      if (!findObject(objects, "ConfigMap", ns, cm)) {
        r.fail(describe(s), "volume ConfigMap " + ns + "/" + cm + " is not in this set");
      }
    }
  }
}

}  // namespace manifest_check
