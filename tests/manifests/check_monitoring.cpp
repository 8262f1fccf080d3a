// Monitoring against the agent itself: every metric a dashboard panel, a dashboard variable or
// an alert names must be one agent::AgentMetrics registers (read from a registry's exposition,
// so a renamed metric fails here), the dashboard has the panels issue 6 asks for, and the
// PodMonitor selects the agent's pods and a port they declare.

#include <boost/json.hpp>
#include <cctype>
#include <regex>
#include <sstream>

#include "agent/metrics.h"
#include "tests/manifests/check.h"
#include "tests/manifests/check_pod.h"

namespace manifest_check {
namespace {

bool identStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool identChar(char c) { return identStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// The expression with strings, label matchers ({...}) and ranges ([...]) blanked out.
std::string blankNested(std::string_view expr) {
  std::string s;
  int depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    const char c = expr[i];
    if (quote != 0) {
      if (c == '\\') ++i;
      if (c == quote) quote = 0;
      s += ' ';
    } else if (c == '"' || c == '\'' || c == '`') {
      quote = c;
      s += ' ';
    } else if (c == '{' || c == '[') {
      ++depth;
      s += ' ';
    } else if (c == '}' || c == ']') {
      --depth;
      s += ' ';
    } else {
      s += depth > 0 ? ' ' : c;
    }
  }
  return s;
}

// Each metric name the agent exposes (histogram series included) with its label names, plus
// Prometheus' own `up`. Labelled families appear in the exposition only once they have a
// series, so each gets one (with empty values, which also shows its label names).
using MetricLabels = std::map<std::string, std::set<std::string>>;

MetricLabels agentMetrics() {
  agent::MetricsRegistry registry;
  agent::AgentMetrics m(registry);
  const std::vector<std::string> none;
  m.noLocalEndpoints.labels(none);
  m.proxyHealthzTotal.labels(none);
  m.proxyLivezTotal.labels(none);
  m.netlinkOperations.labels(none);
  m.rejectedObjects.labels(none);
  m.virtualServers.labels(none);
  m.logErrors.labels(none);
  m.healthCheckRequests.labels(none);
  m.httpBindErrors.labels(none);
  MetricLabels out{{"up", {}}};
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? )");
  static const std::regex kLabel(R"(([a-zA-Z_][a-zA-Z0-9_]*)=")");
  std::istringstream in(registry.render());
  for (std::string line; std::getline(in, line);) {
    std::smatch sm;
    if (line.starts_with("#") || !std::regex_search(line, sm, kSample)) continue;
    auto& labels = out[sm[1].str()];
    const std::string set = sm[3].str();
    for (std::sregex_iterator it(set.begin(), set.end(), kLabel), end; it != end; ++it) {
      labels.insert((*it)[1].str());
    }
  }
  return out;
}

// Labels Prometheus adds to every series of a PodMonitor target (ours relabels `node`).
bool targetLabel(const std::string& l) {
  static const std::set<std::string> kTarget = {"node", "job",       "instance", "namespace",
                                                "pod",  "container", "endpoint"};
  return kTarget.contains(l);
}

// Label names in matchers (metric{l="v"}) and groupings (by (l), without (l), on (l), ...).
void checkLabelNames(const std::string& expr, const std::string& where, const MetricLabels& known,
                     Report& r) {
  static const std::regex kSelector(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\})");
  static const std::regex kMatcher(R"(([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=))");
  static const std::regex kGrouping(
      R"(\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\))");
  static const std::regex kName(R"([a-zA-Z_][a-zA-Z0-9_]*)");
  std::set<std::string> all;  // labels of every metric in the expression
  for (std::sregex_iterator it(expr.begin(), expr.end(), kSelector), end; it != end; ++it) {
    const auto metric = known.find((*it)[1].str());
    if (metric == known.end()) continue;  // reported as an unknown metric
    all.insert(metric->second.begin(), metric->second.end());
    const std::string set = (*it)[2].str();
    for (std::sregex_iterator m(set.begin(), set.end(), kMatcher); m != end; ++m) {
      const std::string l = (*m)[1].str();
      if (!metric->second.contains(l) && !targetLabel(l)) {
        r.fail(where, "matches label " + l + ", which " + metric->first + " does not have");
      }
    }
  }
  for (const auto& name : promqlMetricNames(expr)) {
    if (auto k = known.find(name); k != known.end()) all.insert(k->second.begin(), k->second.end());
  }
  for (std::sregex_iterator it(expr.begin(), expr.end(), kGrouping), end; it != end; ++it) {
    const std::string list = (*it)[2].str();
    for (std::sregex_iterator n(list.begin(), list.end(), kName); n != end; ++n) {
      const std::string l = n->str();
      if (!all.contains(l) && !targetLabel(l)) {
        r.fail(where, "groups by label " + l + ", which no metric of the expression has");
      }
    }
  }
}

void checkExpr(const std::string& expr, const std::string& where, const MetricLabels& known,
               std::set<std::string>& used, Report& r) {
  if (expr.empty()) r.fail(where, "has an empty expression");
  for (const auto& name : promqlMetricNames(expr)) {
    used.insert(name);
    if (!known.contains(name)) {
      r.fail(where,
             "names metric " + name + ", which ipvs-agent does not export (agent/metrics.h)");
    }
  }
  checkLabelNames(expr, where, known, r);
}

// Grafana variables used anywhere ($x, ${x}, [[x]]) that the dashboard does not define.
void checkVariables(const json::value& v, const std::set<std::string>& defined,
                    const std::string& where, Report& r) {
  if (v.is_string()) {
    static const std::regex kVar(R"(\$\{?([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*))");
    const std::string s(v.get_string());
    for (std::sregex_iterator it(s.begin(), s.end(), kVar), end; it != end; ++it) {
      const std::string name = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
      if (!name.starts_with("__") && !defined.contains(name)) {
        r.fail(where, "uses variable $" + name + ", which the dashboard does not define");
      }
    }
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) checkVariables(e, defined, where, r);
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) checkVariables(kv.value(), defined, where, r);
  }
}

void checkPanels(const json::array& panels, const std::string& where, const MetricLabels& known,
                 std::set<std::string>& used, std::set<std::int64_t>& ids, Report& r) {
  for (const auto& pv : panels) {
    if (!pv.is_object()) continue;
    const json::object& p = pv.get_object();
    const std::string pw = where + ": panel \"" + stringAt(p, "title") + "\"";
    const json::value* id = p.if_contains("id");
    if (id == nullptr || !id->is_int64() || !ids.insert(id->get_int64()).second) {
      r.fail(pw, "needs a unique integer id");
    }
    if (stringAt(p, "title").empty() || stringAt(p, "type").empty())
      r.fail(pw, "needs title and type");
    const json::value* w = at(p, "gridPos.w");
    const json::value* x = at(p, "gridPos.x");
    if (!w || !x || !w->is_int64() || !x->is_int64() || !at(p, "gridPos.h") ||
        !at(p, "gridPos.y") || x->get_int64() + w->get_int64() > 24) {
      r.fail(pw, "needs gridPos {h, w, x, y} within the 24 columns");
    }
    if (stringAt(p, "type") == "row") {
      checkPanels(arrayAt(p, "panels"), where, known, used, ids, r);
      continue;
    }
    const auto& targets = arrayAt(p, "targets");
    if (targets.empty()) r.fail(pw, "has no query");
    std::set<std::string> refIds;
    for (const auto& t : targets) {
      if (!t.is_object()) continue;
      if (!refIds.insert(stringAt(t.get_object(), "refId")).second) r.fail(pw, "repeats a refId");
      checkExpr(stringAt(t.get_object(), "expr"), pw, known, used, r);
    }
  }
}

void checkDashboard(const fs::path& file, const MetricLabels& known, Report& r) {
  const std::string where = file.string();
  json::value doc;
  try {
    doc = json::parse(readText(file, r));
  } catch (const std::exception& e) {
    r.fail(where, std::string("is not JSON: ") + e.what());
    return;
  }
  if (!doc.is_object()) return r.fail(where, "must be a JSON object");
  const json::object& d = doc.get_object();
  if (stringAt(d, "title").empty() || stringAt(d, "uid").empty())
    r.fail(where, "needs title and uid");
  std::set<std::string> vars;
  std::set<std::string> used;
  for (const auto& v : arrayAt(d, "templating.list")) {
    if (!v.is_object()) continue;
    vars.insert(stringAt(v.get_object(), "name"));
    static const std::regex kLabelValues(R"(label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,)");
    std::smatch m;
    const std::string q = stringAt(v.get_object(), "definition");
    if (std::regex_search(q, m, kLabelValues))
      checkExpr(m[1].str(), where + ": variable", known, used, r);
  }
  checkVariables(doc, vars, where, r);
  std::set<std::int64_t> ids;
  if (arrayAt(d, "panels").empty()) r.fail(where, "has no panels");
  checkPanels(arrayAt(d, "panels"), where, known, used, ids, r);
  for (const char* need :
       {"kubeproxy_sync_proxy_rules_duration_seconds_bucket",
        "kubeproxy_network_programming_duration_seconds_bucket",
        "ipvs_agent_netlink_operations_total", "ipvs_agent_rejected_objects_total",
        "ipvs_agent_graceful_termination_queue_length", "ipvs_agent_virtual_servers"}) {
    if (!used.contains(need)) r.fail(where, std::string("has no panel on ") + need);
  }
}

void checkRules(const SourcedObject& s, const MetricLabels& known, Report& r) {
  static const std::regex kDuration("^([0-9]+(ms|s|m|h|d|w|y))+$");
  std::set<std::string> used;
  for (const auto& g : arrayAt(s.object, "spec.groups")) {
    if (!g.is_object()) continue;
    for (const auto& rv : arrayAt(g.get_object(), "rules")) {
      if (!rv.is_object()) continue;
      const json::object& rule = rv.get_object();
      const std::string name = stringAt(rule, "alert") + stringAt(rule, "record");
      const std::string where = describe(s) + ": " + name;
      checkExpr(stringAt(rule, "expr"), where, known, used, r);
      const std::string forText = stringAt(rule, "for");
      if (!forText.empty() && !std::regex_match(forText, kDuration)) r.fail(where, "bad `for`");
      if (stringAt(rule, "alert").empty()) continue;
      const std::string severity = stringAt(rule, "labels.severity");
      if (severity != "critical" && severity != "warning" && severity != "info") {
        r.fail(where, "labels.severity must be critical, warning or info");
      }
      if (stringAt(rule, "annotations.summary").empty()) r.fail(where, "needs annotations.summary");
    }
  }
}

// kube-prometheus's KubeProxyDown alert and "Kubernetes / Proxy" dashboard select
// job="kube-proxy": every endpoint must relabel the job to that, unconditionally.
void checkKubeProxyJob(const SourcedObject& pm, Report& r) {
  for (const auto& e : arrayAt(pm.object, "spec.podMetricsEndpoints")) {
    bool setsJob = false;
    if (e.is_object()) {
      for (const auto& rl : arrayAt(e.get_object(), "relabelings")) {
        if (!rl.is_object()) continue;
        const auto& o = rl.get_object();
        setsJob = setsJob || (stringAt(o, "targetLabel") == "job" &&
                              stringAt(o, "replacement") == "kube-proxy" &&
                              arrayAt(o, "sourceLabels").empty() && !o.contains("regex") &&
                              (!o.contains("action") || stringAt(o, "action") == "replace"));
      }
    }
    if (!setsJob)
      r.fail(describe(pm),
             "does not relabel job to \"kube-proxy\" (kube-prometheus's KubeProxyDown alert and "
             "Kubernetes / Proxy dashboard select job=\"kube-proxy\")");
  }
}

void checkPodMonitor(const SourcedObject& pm, const std::vector<SourcedObject>& objects,
                     Report& r) {
  std::set<std::string> namespaces;
  for (const auto& n : arrayAt(pm.object, "spec.namespaceSelector.matchNames"))
    namespaces.insert(jsonText(n));
  if (namespaces.empty()) namespaces.insert(namespaceOf(pm.object));
  const json::value* selector = at(pm.object, "spec.selector");
  bool anyDaemonSet = false, matched = false;
  for (const auto& s : objects) {
    if (kindOf(s.object) != "DaemonSet") continue;
    anyDaemonSet = true;
    const json::value* labels = at(s.object, "spec.template.metadata.labels");
    const json::value* spec = at(s.object, "spec.template.spec");
    if (!selector || !labels || !spec || !spec->is_object() ||
        !namespaces.contains(namespaceOf(s.object)) || !selectorMatches(*selector, *labels)) {
      continue;
    }
    matched = true;
    for (const auto& e : arrayAt(pm.object, "spec.podMetricsEndpoints")) {
      const std::string port = e.is_object() ? stringAt(e.get_object(), "port") : "";
      bool declared = port.empty();
      for (const json::object* c : allContainers(spec->get_object())) {
        for (const auto& p : arrayAt(*c, "ports")) {
          declared = declared || (p.is_object() && stringAt(p.get_object(), "name") == port);
        }
      }
      if (!declared)
        r.fail(describe(pm),
               "scrapes port \"" + port + "\", which " + describe(s) + " does not declare");
    }
  }
  if (anyDaemonSet && !matched) r.fail(describe(pm), "selects no DaemonSet of this set");
  checkKubeProxyJob(pm, r);
}

}  // namespace

std::set<std::string> promqlMetricNames(std::string_view expr) {
  static const std::set<std::string, std::less<>> kGrouping = {
      "by", "without", "on", "ignoring", "group_left", "group_right"};
  static const std::set<std::string, std::less<>> kKeywords = {
      "and",   "or",     "unless",      "bool",   "offset", "sum",     "min",      "max",
      "avg",   "count",  "stddev",      "stdvar", "topk",   "bottomk", "quantile", "count_values",
      "group", "limitk", "limit_ratio", "inf",    "nan",    "Inf",     "NaN",      "atan2"};
  const std::string s = blankNested(expr);
  std::set<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '$') {  // a Grafana variable outside a matcher
      for (++i; i < s.size() && identChar(s[i]);) ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i < s.size() && (identChar(s[i]) || s[i] == '.')) ++i;
    } else if (identStart(c)) {
      const std::size_t start = i;
      while (i < s.size() && identChar(s[i])) ++i;
      const std::string word = s.substr(start, i - start);
      std::size_t next = s.find_first_not_of(' ', i);
      const bool call = next != std::string::npos && s[next] == '(';
      if (kGrouping.contains(word) && call) {  // skip the label list
        int depth = 0;
        for (i = next; i < s.size(); ++i) {
          depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
          if (depth == 0) break;
        }
        ++i;
      } else if (!call && !kKeywords.contains(word) && !kGrouping.contains(word)) {
        out.insert(word);
      }
    } else {
      ++i;
    }
  }
  return out;
}

void checkMonitoring(const std::vector<SourcedObject>& objects, const std::vector<fs::path>& paths,
                     Report& report) {
  const std::size_t before = report.failures();
  const MetricLabels known = agentMetrics();
  std::size_t dashboards = 0, rules = 0;
  for (const auto& p : paths) {
    std::vector<fs::path> files;
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.path().extension() == ".json") files.push_back(e.path());
      }
    } else if (p.extension() == ".json") {
      files.push_back(p);
    }
    for (const auto& f : files) {
      ++dashboards;
      checkDashboard(f, known, report);
    }
  }
  for (const auto& s : objects) {
    if (kindOf(s.object) == "PrometheusRule") {
      ++rules;
      checkRules(s, known, report);
    }
    if (kindOf(s.object) == "PodMonitor") checkPodMonitor(s, objects, report);
  }
  if (dashboards == 0) report.fail("monitoring", "no dashboard (*.json) found");
  if (report.failures() == before) {
    report.ok(std::to_string(dashboards) + " dashboard(s) and " + std::to_string(rules) +
              " rule set(s) name only metrics the agent exports");
  }
}

}  // namespace manifest_check
