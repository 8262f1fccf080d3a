#include "bench/sched/report_model.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

namespace bench::sched {
namespace {

namespace json = boost::json;

double num(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return 0;
}

double num(const json::object& o, std::string_view key) { return num(o.if_contains(key)); }

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::object& objectAt(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : kEmpty;
}

std::vector<std::string> words(const std::string& s, char sep = ' ') {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (std::getline(in, w, sep)) {
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

LatencySummary latencyOf(const json::object& run) {
  const auto& l = objectAt(run, "latency_ms");
  LatencySummary s;
  s.count = static_cast<std::size_t>(num(l, "count"));
  s.mean = num(l, "mean");
  s.min = num(l, "min");
  s.max = num(l, "max");
  s.p50 = num(l, "p50");
  s.p90 = num(l, "p90");
  s.p99 = num(l, "p99");
  s.p999 = num(l, "p999");
  return s;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string Results::envOr(const std::string& key, const std::string& fallback) const {
  const auto it = env.find(key);
  return it == env.end() ? fallback : it->second;
}

std::vector<double> Results::weights(const std::string& scenario) const {
  std::vector<double> w;
  for (const auto& t : words(envOr("weights." + scenario), ',')) {
    double v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    w.push_back(ec == std::errc{} && end == t.data() + t.size() && v >= 0 ? v : 1.0);
  }
  if (w.size() != backends.size()) w.assign(backends.size(), 1.0);
  return w;
}

RunFigures runFigures(const json::object& run, const std::vector<std::string>& backends,
                      const std::vector<double>& weights) {
  RunFigures f;
  const auto& meta = objectAt(run, "meta");
  f.scenario = str(meta, "scenario");
  f.variant = str(meta, "variant");
  f.requests = num(run, "requests");
  f.ok = num(run, "ok");
  f.failed = num(run, "failed");
  f.ratePerS = num(run, "rate_per_s");
  f.backendChanged = num(run, "backend_changed");
  for (const auto& [k, v] : objectAt(run, "failures")) f.failures[std::string(k)] = num(&v);
  const auto& b = objectAt(run, "backends");
  std::vector<double> counts;
  for (const auto& name : backends) {
    BackendFigures bf;
    if (const auto* v = b.if_contains(name); v && v->is_object()) {
      bf.requests = num(v->as_object(), "requests");
      bf.connections = num(v->as_object(), "connections");
    }
    bf.share = f.ok > 0 ? bf.requests / f.ok : 0;
    counts.push_back(bf.requests);
    f.backends[name] = bf;
  }
  const auto perWeight = perUnitWeight(counts, weights);
  f.cv = coefficientOfVariation(perWeight);
  f.maxOverMean = maxOverMean(perWeight);
  f.latency = latencyOf(run);
  if (const auto* cdf = run.if_contains("cdf_ms"); cdf && cdf->is_array()) {
    for (const auto& p : cdf->as_array()) {
      if (p.is_array() && p.as_array().size() == 2) {
        f.cdf.emplace_back(num(&p.as_array()[0]), num(&p.as_array()[1]));
      }
    }
  }
  return f;
}

HoldFigures holdFigures(const std::string& log, const std::string& drained) {
  HoldFigures h;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    const auto v = json::parse(line, ec);
    if (ec || !v.is_object()) continue;  // stderr lines of the load generator
    const auto& o = v.as_object();
    const double round = num(o, "round");
    const auto* conns = o.if_contains("conns");
    if (!conns || !conns->is_array() || round > 1) continue;
    for (const auto& c : conns->as_array()) {
      if (!c.is_object()) continue;
      const std::string first = str(c.as_object(), "first");
      const std::string backend = str(c.as_object(), "backend");
      if (round == 0) {
        if (!backend.empty()) ++h.held;
        if (backend == drained) ++h.onDrained;
      } else if (first == drained) {
        if (backend == drained) ++h.survived;
      } else if (!first.empty()) {
        if (backend == first) {
          ++h.othersOk;
        } else {
          ++h.othersFailed;
        }
      }
    }
  }
  return h;
}

void computeRemaps(ChurnFigures& churn, const std::string& drained) {
  const auto have = [&](const char* p) { return churn.phases.count(p) > 0; };
  const auto map = [&](const char* p) -> const FlowMap& { return churn.phases.at(p).flows; };
  if (have("before") && have("repeat"))
    churn.remaps["control"] = remap(map("before"), map("repeat"));
  if (have("before") && have("drained")) {
    churn.remaps["drain"] = remap(map("before"), map("drained"), drained);
  }
  if (have("before") && have("removed")) {
    churn.remaps["removal"] = remap(map("before"), map("removed"), drained);
  }
  if (have("removed") && have("restored")) {
    churn.remaps["readd"] = remap(map("removed"), map("restored"));
  }
  if (have("before") && have("restored")) {
    churn.remaps["restored"] = remap(map("before"), map("restored"));
  }
}

namespace {

// bench.env: KEY=VALUE lines; also sets the topology and the lists of the run.
void loadEnv(Results& r, const std::filesystem::path& file) {
  std::istringstream env(readFile(file));
  std::string line;
  while (std::getline(env, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) r.env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  int nb = 4;
  const std::string backends = r.envOr("backends", "4");
  const auto [end, ec] = std::from_chars(backends.data(), backends.data() + backends.size(), nb);
  if (ec != std::errc{} || nb < 1 || nb > 64) {
    r.problems.push_back("bench.env: bad backends=" + backends + "; assuming 4");
    nb = 4;
  }
  for (int k = 1; k <= nb; ++k) r.backends.push_back("b" + std::to_string(k));
  r.variants = words(r.envOr("variants"));
  r.churnVariants = words(r.envOr("churn_variants", r.envOr("variants")));
  r.scenarios = words(r.envOr("scenarios"));
}

// One run-*.json or flows-*.json file.
void loadJsonResult(Results& r, const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  boost::system::error_code ec;
  const auto v = json::parse(readFile(p), ec);
  if (ec || !v.is_object()) {
    r.problems.push_back(name + ": not a JSON object (" + ec.message() + ")");
    return;
  }
  const auto& o = v.as_object();
  const auto& meta = objectAt(o, "meta");
  if (str(meta, "kind") == "run") {
    const auto f = runFigures(o, r.backends, r.weights(str(meta, "scenario")));
    r.runs[f.scenario][f.variant] = f;
  } else if (str(meta, "kind") == "flows") {
    FlowPhase ph;
    for (const auto& [k, b] : objectAt(o, "flows")) {
      ph.flows[std::string(k)] = b.is_string() ? std::string(b.as_string()) : std::string();
    }
    ph.ok = num(o, "ok");
    ph.failed = num(o, "failed");
    ph.b2State = str(meta, "b2");
    ph.latency = latencyOf(o);
    r.churn[str(meta, "variant")].phases[str(meta, "phase")] = std::move(ph);
  } else {
    r.problems.push_back(name + ": no meta.kind run or flows");
  }
}

bool startsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

Results loadResults(const std::filesystem::path& dir) {
  Results r;
  loadEnv(r, dir / "bench.env");
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    const std::string name = p.filename().string();
    if (startsWith(name, "hold-")) {
      const std::string variant = name.substr(5, name.size() - 5 - p.extension().string().size());
      r.churn[variant].hold = holdFigures(readFile(p), r.drained);
      r.churn[variant].haveHold = true;
    } else if (p.extension() == ".json" &&
               (startsWith(name, "run-") || startsWith(name, "flows-"))) {
      loadJsonResult(r, p);
    }
  }
  for (auto& [variant, c] : r.churn) computeRemaps(c, r.drained);
  return r;
}

}  // namespace bench::sched
