#pragma once
// Internal to manifest_check: names, labels, selectors, pod specs and cross-object references.

#include <string>
#include <string_view>
#include <vector>

#include "tests/manifests/check.h"

namespace manifest_check {

bool isDnsSubdomain(std::string_view s);  // RFC 1123 subdomain, <= 253
bool isDnsLabel(std::string_view s);      // RFC 1123 label, <= 63

// Label keys ([prefix/]name) and values, as the API server validates them.
void checkLabels(const json::value* labels, const std::string& where, Report& r);

// A LabelSelector (matchLabels and matchExpressions) against a label map.
bool selectorMatches(const json::value& selector, const json::value& labels);

// Containers (name, image, ports, mounts, env, probes) and volumes of one pod spec.
void checkPodSpec(const json::object& spec, const std::string& where, Report& r);

// RBAC bindings, ServiceAccounts, ConfigMap volumes and PodMonitors point at objects of the set.
void checkReferences(const std::vector<SourcedObject>& objects, Report& r);

}  // namespace manifest_check
