// The manifests against the real binary: each ipvs-agent container's command line, with the
// ConfigMaps it mounts written out to a temporary directory, is run with --write-config-to.
// It must exit 0 without a warning, keep every field the ConfigMap sets, and serve health and
// metrics on the ports the probes and the PodMonitor use.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "agent/config_duration.h"
#include "tests/manifests/check.h"

extern char** environ;

namespace manifest_check {
namespace {

constexpr const char* kNodeName = "Manifest-Check-Node";  // upper case: the agent lowers it

struct Prepared {
  std::vector<std::string> argv;  // for the binary, without argv[0]
  fs::path configFile;            // the --config file, in the temporary directory
};

fs::path makeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/manifest-check-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

const json::object* volumeNamed(const json::object& spec, const std::string& name) {
  for (const auto& v : arrayAt(spec, "volumes")) {
    if (v.is_object() && stringAt(v.get_object(), "name") == name) return &v.get_object();
  }
  return nullptr;
}

void writeFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Writes the ConfigMap volumes of `c` under tmp; returns mountPath -> directory written.
std::map<std::string, fs::path> writeMounts(const SourcedObject& ds, const json::object& spec,
                                            const json::object& c, const fs::path& tmp,
                                            const std::vector<SourcedObject>& objects,
                                            const AgentRun& run, Report& r) {
  std::map<std::string, fs::path> out;
  for (const auto& m : arrayAt(c, "volumeMounts")) {
    if (!m.is_object()) continue;
    const json::object* vol = volumeNamed(spec, stringAt(m.get_object(), "name"));
    const std::string cmName = vol ? stringAt(*vol, "configMap.name") : "";
    if (cmName.empty()) continue;
    const std::string mountPath = stringAt(m.get_object(), "mountPath");
    const SourcedObject* cm = findObject(objects, "ConfigMap", namespaceOf(ds.object), cmName);
    if (cm == nullptr) {
      r.ok(describe(ds) + ": ConfigMap " + cmName +
           " is not in this set; its files are not checked");
      continue;
    }
    const fs::path dir = tmp / ("mnt" + mountPath);
    fs::create_directories(dir);
    std::map<std::string, std::string> keyToPath;
    for (const auto& item : arrayAt(*vol, "configMap.items")) {
      if (item.is_object()) {
        keyToPath[stringAt(item.get_object(), "key")] = stringAt(item.get_object(), "path");
      }
    }
    const json::value* data = at(cm->object, "data");
    if (data == nullptr || !data->is_object()) continue;
    for (const auto& kv : data->get_object()) {
      std::string file(kv.key());
      if (!keyToPath.empty()) {
        if (!keyToPath.contains(file)) continue;
        file = keyToPath[file];
      }
      const auto override = run.configOverrides.find(fs::path(file).filename().string());
      writeFile(dir / file,
                override != run.configOverrides.end() ? override->second : jsonText(kv.value()));
    }
    out[mountPath] = dir;
  }
  return out;
}

// Kubernetes' $(VAR) expansion from the container's env; the downward API gets test values.
std::string expand(const std::string& arg, const json::object& c, const std::string& where,
                   Report& r) {
  std::map<std::string, std::string> env;
  for (const auto& e : arrayAt(c, "env")) {
    if (!e.is_object()) continue;
    const json::object& eo = e.get_object();
    const std::string field = stringAt(eo, "valueFrom.fieldRef.fieldPath");
    env[stringAt(eo, "name")] = field == "spec.nodeName" ? kNodeName
                                : field.empty()          ? stringAt(eo, "value")
                                                         : "from-" + field;
  }
  std::string out;
  for (std::size_t i = 0; i < arg.size(); ++i) {
    if (arg.compare(i, 3, "$$(") == 0) {  // escaped: a literal $(
      out += "$(";
      i += 2;
    } else if (arg.compare(i, 2, "$(") == 0 && arg.find(')', i) != std::string::npos) {
      const auto close = arg.find(')', i);
      const std::string var = arg.substr(i + 2, close - i - 2);
      if (env.contains(var)) {
        out += env[var];
      } else {
        r.fail(where, "argument uses $(" + var + "), which env does not define");
        out += arg.substr(i, close - i + 1);
      }
      i = close;
    } else {
      out += arg[i];
    }
  }
  return out;
}

Prepared prepare(const json::object& c, const std::map<std::string, fs::path>& mounts,
                 const std::string& where, Report& r) {
  Prepared p;
  std::vector<std::string> words;
  const auto& command = arrayAt(c, "command");
  for (std::size_t i = 1; i < command.size(); ++i) words.push_back(jsonText(command[i]));
  for (const auto& a : arrayAt(c, "args")) words.push_back(jsonText(a));
  for (auto word : words) {
    word = expand(word, c, where, r);
    for (const auto& [mountPath, dir] : mounts) {
      const std::string prefix = mountPath + "/";
      const auto eq = word.find('=');
      const std::size_t start =
          word.compare(0, prefix.size(), prefix) == 0 ? 0
          : eq != std::string::npos && word.compare(eq + 1, prefix.size(), prefix) == 0
              ? eq + 1
              : std::string::npos;
      if (start != std::string::npos) word.replace(start, mountPath.size(), dir.string());
    }
    if (word.starts_with("--config=")) p.configFile = word.substr(9);
    p.argv.push_back(word);
  }
  return p;
}

int runBinary(const fs::path& binary, const std::vector<std::string>& args, const fs::path& out,
              const fs::path& err) {
  std::vector<std::string> all{binary.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool sameValue(const json::value& in, const json::value& out) {
  if (in == out) return true;
  const auto empty = [](const json::value& v) {
    return v.is_null() || (v.is_array() && v.get_array().empty()) ||
           (v.is_string() && v.get_string().empty());
  };
  if (empty(in) && empty(out)) return true;
  if (in.is_number() && out.is_number()) return in.to_number<double>() == out.to_number<double>();
  if (in.is_string() && out.is_string()) {
    const auto a = agent::parseGoDuration(in.get_string());
    const auto b = agent::parseGoDuration(out.get_string());
    return a && b && *a == *b;
  }
  return false;
}

// The zero value of a field: kubeadm writes every field this way, and kube-proxy's defaulting
// (agent/config_defaults.cpp) replaces it, so the effective value may be anything. The
// defaulted values themselves are compared field by field with upstream's in tests/config.
bool zeroValue(const json::value& v) {
  if (v.is_null() || (v.is_string() && v.get_string().empty())) return true;
  if (v.is_number()) return v.to_number<double>() == 0;
  if (v.is_string()) {
    const auto d = agent::parseGoDuration(v.get_string());
    return d && d->count() == 0;
  }
  return false;
}

// A field or section that sets nothing: zero values (and false) all through. kubeadm writes the
// nftables and winkernel sections this way; the agent accepts them and does not echo them.
bool setsNothing(const json::value& v) {
  if (zeroValue(v) || (v.is_bool() && !v.get_bool())) return true;
  if (v.is_array()) return v.get_array().empty();
  if (!v.is_object()) return false;
  return std::all_of(v.get_object().begin(), v.get_object().end(),
                     [](const auto& kv) { return setsNothing(kv.value()); });
}

// Every field the input sets is in the written configuration with the same value, or the
// input's zero value was defaulted.
void compareTrees(const json::object& in, const json::object& out, const std::string& path,
                  const std::string& where, Report& r) {
  for (const auto& kv : in) {
    const std::string field =
        path.empty() ? std::string(kv.key()) : path + "." + std::string(kv.key());
    const json::value* o = out.if_contains(kv.key());
    if (o == nullptr && setsNothing(kv.value())) continue;
    if (o == nullptr) {
      r.fail(where, "the ConfigMap sets " + field +
                        ", which the agent's effective configuration "
                        "lacks: the agent ignores it");
    } else if (kv.value().is_object() && o->is_object()) {
      compareTrees(kv.value().get_object(), o->get_object(), field, where, r);
    } else if (!sameValue(kv.value(), *o) && !zeroValue(kv.value())) {
      r.fail(where, field + " is " + json::serialize(kv.value()) + " in the ConfigMap but " +
                        json::serialize(*o) + " in the agent's effective configuration");
    }
  }
}

std::int64_t portOf(const std::string& hostPort) {
  const auto colon = hostPort.rfind(':');
  return colon == std::string::npos ? -1 : std::atoll(hostPort.c_str() + colon + 1);
}

void checkPorts(const json::object& c, const json::object& config, const std::string& where,
                Report& r) {
  const std::int64_t healthz = portOf(stringAt(config, "healthzBindAddress"));
  const std::int64_t metrics = portOf(stringAt(config, "metricsBindAddress"));
  for (const char* probe : {"livenessProbe", "readinessProbe"}) {
    const json::value* port = at(c, std::string(probe) + ".httpGet.port");
    if (port && port->is_int64() && port->get_int64() != healthz) {
      r.fail(where, std::string(probe) + " uses port " + std::to_string(port->get_int64()) +
                        " but healthzBindAddress is " + stringAt(config, "healthzBindAddress"));
    }
  }
  for (const auto& p : arrayAt(c, "ports")) {
    if (!p.is_object()) continue;
    const std::string name = stringAt(p.get_object(), "name");
    const json::value* n = p.get_object().if_contains("containerPort");
    const std::int64_t want = name == "healthz" ? healthz : name == "metrics" ? metrics : 0;
    if (want != 0 && n && n->is_int64() && n->get_int64() != want) {
      r.fail(where, "port " + name + " is " + std::to_string(n->get_int64()) +
                        " but the configuration serves it on " + std::to_string(want));
    }
  }
}

void checkContainer(const SourcedObject& ds, const json::object& spec, const json::object& c,
                    bool init, const std::vector<SourcedObject>& objects, const AgentRun& run,
                    Report& r) {
  const std::string where = describe(ds) + ": container " + stringAt(c, "name");
  const std::size_t before = r.failures();
  const fs::path tmp = makeTempDir();
  const auto mounts = writeMounts(ds, spec, c, tmp, objects, run, r);
  Prepared p = prepare(c, mounts, where, r);
  if (p.configFile.empty()) r.fail(where, "runs without --config: the ConfigMap is not used");
  p.argv.push_back("--write-config-to=" + (tmp / "written.yaml").string());
  const int rc = runBinary(run.binary, p.argv, tmp / "stdout", tmp / "stderr");
  const std::string errText = readText(tmp / "stderr", r);
  if (rc != 0) {
    std::string oneLine;  // the agent's message on the FAIL line, whatever its line breaks
    for (const char ch : errText) {
      if (ch != '\n')
        oneLine += ch;
      else if (!oneLine.empty() && oneLine.back() != ' ')
        oneLine += ' ';
    }
    r.fail(where,
           "ipvs-agent refuses its command line (exit " + std::to_string(rc) + "): " + oneLine);
  }
  std::istringstream lines(errText);
  for (std::string line; std::getline(lines, line);) {
    const bool warns =
        line.find("level=warn") != std::string::npos || line.find("warning") != std::string::npos;
    if (rc == 0 && warns) r.fail(where, line);
  }
  if (rc == 0 && !p.configFile.empty()) {
    const auto in = parseYaml(readText(p.configFile, r), p.configFile.string(), r);
    const auto out = parseYaml(readText(tmp / "written.yaml", r), "written config", r);
    if (in.size() == 1 && out.size() == 1 && in[0].is_object() && out[0].is_object()) {
      compareTrees(in[0].get_object(), out[0].get_object(), "", where, r);
      std::string lower = kNodeName;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (stringAt(out[0].get_object(), "hostnameOverride") != lower) {
        r.fail(where, "the node name from the downward API does not reach hostnameOverride");
      }
      // With overrides the DaemonSet is the base's, not the overlay's (whose patch may move
      // the ports): the rendered check (check_rendered.sh) compares those.
      if (!init && run.configOverrides.empty()) checkPorts(c, out[0].get_object(), where, r);
    }
  }
  if (std::getenv("MANIFEST_CHECK_KEEP") == nullptr) fs::remove_all(tmp);
  if (r.failures() == before) r.ok(where + ": accepted by " + run.binary.filename().string());
}

}  // namespace

void checkAgentAccepts(const std::vector<SourcedObject>& objects, const AgentRun& run,
                       Report& report) {
  const std::size_t before = report.failures();
  std::size_t containers = 0;
  for (const auto& s : objects) {
    const json::value* spec =
        kindOf(s.object) == "DaemonSet" ? at(s.object, "spec.template.spec") : nullptr;
    if (spec == nullptr || !spec->is_object()) continue;
    const json::object& ps = spec->get_object();
    const std::size_t inits = arrayAt(ps, "initContainers").size();
    const auto all = allContainers(ps);
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (!runsAgent(*all[i])) continue;
      ++containers;
      checkContainer(s, ps, *all[i], i < inits, objects, run, report);
    }
  }
  if (containers == 0) report.fail("agent", "no container runs ipvs-agent in this set");
  if (report.failures() == before) {
    report.ok(std::to_string(containers) + " ipvs-agent command line(s) accepted");
  }
}

}  // namespace manifest_check
