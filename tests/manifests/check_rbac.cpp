// RBAC against the API requests the agent makes: each request becomes the (verb, group,
// resource) the API server's authorizer would ask about, and the ClusterRoles of the set must
// grant exactly those. Request lines are "METHOD TARGET" or a bare TARGET (a GET), the format
// of the local API server's request log.

#include <algorithm>
#include <boost/json.hpp>
#include <sstream>
#include <tuple>

#include "tests/manifests/check.h"

namespace manifest_check {
namespace {

struct Access {
  std::string verb, group, resource;
  auto operator<=>(const Access&) const = default;
  std::string text() const {
    return verb + " " + resource + (group.empty() ? "" : "." + group) +
           (group.empty() ? " (core)" : "");
  }
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in{std::string(s)};
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

bool queryHas(std::string_view query, std::string_view key, std::string_view value) {
  for (const auto& kv : split(query, '&')) {
    if (kv == std::string(key) + "=" + std::string(value)) return true;
  }
  return false;
}

// Empty `error` when the line was understood.
Access accessOf(const std::string& line, std::string& error) {
  std::string method = "GET", target = line;
  if (const auto sp = line.find(' '); sp != std::string::npos) {
    method = line.substr(0, sp);
    target = line.substr(line.find_first_not_of(' ', sp));
  }
  const auto q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  auto seg = split(path, '/');
  Access a;
  std::size_t i = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    i = 2;  // api/v1
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    a.group = seg[1];
    i = 3;  // apis/GROUP/VERSION
  } else {
    error = "not an API resource path";
    return a;
  }
  bool legacyWatch = false;
  if (i < seg.size() && seg[i] == "watch") {
    legacyWatch = true;
    ++i;
  }
  if (i + 2 < seg.size() && seg[i] == "namespaces") i += 2;  // namespaces/NS/resource...
  if (i >= seg.size()) {
    error = "names no resource";
    return a;
  }
  a.resource = seg[i];
  const bool named = i + 1 < seg.size();
  if (i + 2 < seg.size()) a.resource += "/" + seg[i + 2];  // subresource
  static const std::map<std::string, std::string> kVerbs = {
      {"POST", "create"}, {"PUT", "update"}, {"PATCH", "patch"}, {"DELETE", "delete"}};
  if (method == "GET") {
    const bool watch =
        legacyWatch || queryHas(query, "watch", "true") || queryHas(query, "watch", "1");
    a.verb = watch ? "watch" : named ? "get" : "list";
  } else if (auto v = kVerbs.find(method); v != kVerbs.end()) {
    a.verb = (method == "DELETE" && !named) ? "deletecollection" : v->second;
  } else {
    error = "unknown HTTP method " + method;
  }
  return a;
}

std::set<Access> requiredAccess(const std::vector<fs::path>& files, Report& r) {
  std::set<Access> out;
  for (const auto& file : files) {
    std::istringstream in(readText(file, r));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      line.erase(0, line.find_first_not_of(" \t"));
      line.erase(line.find_last_not_of(" \t\r") + 1);
      if (line.empty() || line.front() == '#') continue;
      std::string error;
      const Access a = accessOf(line, error);
      if (!error.empty()) {
        r.fail(file.string() + ":" + std::to_string(n), error + ": " + line);
      } else {
        out.insert(a);
      }
    }
  }
  return out;
}

std::set<Access> grantedAccess(const std::vector<SourcedObject>& objects, Report& r) {
  std::set<Access> out;
  for (const auto& s : objects) {
    const std::string kind = kindOf(s.object);
    if (kind != "ClusterRole" && kind != "Role") continue;
    if (s.object.contains("aggregationRule")) {
      r.fail(describe(s), "aggregationRule grants whatever other roles add: list the rules");
    }
    const auto& rules = arrayAt(s.object, "rules");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (!rules[i].is_object()) continue;
      const json::object& rule = rules[i].get_object();
      const std::string where = describe(s) + ": rules[" + std::to_string(i) + "]";
      if (!arrayAt(rule, "nonResourceURLs").empty()) r.fail(where, "grants nonResourceURLs");
      for (const auto& res : arrayAt(rule, "resources")) {
        if (jsonText(res) == "secrets") r.fail(where, "grants access to secrets");
      }
      for (const auto& g : arrayAt(rule, "apiGroups")) {
        for (const auto& res : arrayAt(rule, "resources")) {
          for (const auto& v : arrayAt(rule, "verbs")) {
            Access a{jsonText(v), jsonText(g), jsonText(res)};
            if (a.verb == "*" || a.group == "*" || a.resource == "*" ||
                a.resource.ends_with("/*")) {
              r.fail(where, "uses a wildcard (" + a.text() + "): list what is needed instead");
            }
            out.insert(a);
          }
        }
      }
    }
  }
  return out;
}

}  // namespace

void checkRbac(const std::vector<SourcedObject>& objects, const std::vector<fs::path>& apiPathFiles,
               Report& report) {
  const std::size_t before = report.failures();
  const std::set<Access> required = requiredAccess(apiPathFiles, report);
  const std::set<Access> granted = grantedAccess(objects, report);
  if (required.empty()) report.fail("rbac", "no API request listed: nothing to compare with");
  for (const auto& a : required) {
    if (!granted.contains(a)) {
      report.fail("rbac", "the agent needs \"" + a.text() + "\" but no ClusterRole grants it");
    }
  }
  for (const auto& a : granted) {
    if (!required.contains(a)) {
      report.fail("rbac", "a ClusterRole grants \"" + a.text() +
                              "\" but no listed API request needs it (least privilege)");
    }
  }
  if (report.failures() == before) {
    report.ok("ClusterRoles grant exactly the " + std::to_string(required.size()) +
              " (verb, resource) pairs of the listed API requests");
  }
}

}  // namespace manifest_check
