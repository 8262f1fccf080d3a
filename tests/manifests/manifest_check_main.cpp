// manifest_check: command-line front of the checks in check.h (see tests/manifests/CMakeLists.txt
// for how ctest runs it). Exit 0 when every check passed, 1 on any FAIL line, 2 on bad usage.

#include <iostream>

#include "tests/manifests/check.h"

namespace {

constexpr const char* kUsage =
    "usage: manifest_check COMMAND ...\n"
    "  objects PATH...                     required fields of every object, references\n"
    "  policy PATH...                      the ipvs-agent DaemonSet's deployment rules\n"
    "  rbac --api-paths FILE... -- PATH... ClusterRoles = the listed API requests\n"
    "  kustomize DIR                       every kustomization under DIR\n"
    "  agent --agent BIN [--config-override [KEY=]FILE]... -- PATH...\n"
    "                                      the real binary accepts the DaemonSet + ConfigMap\n"
    "  monitoring PATH...                  dashboards (*.json) and PrometheusRules\n"
    "PATH: a manifest file or a directory of them (not recursive).\n";

using manifest_check::fs::path;

// Splits "--opt value ... [--] paths..." into options and paths.
struct Args {
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<path> paths;
  bool ok = true;
};

Args parseArgs(int argc, char** argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") {
      for (++i; i < argc; ++i) a.paths.emplace_back(argv[i]);
    } else if (word.starts_with("--") && i + 1 < argc) {
      a.options.emplace_back(word, argv[++i]);
    } else if (word.starts_with("--")) {
      a.ok = false;
    } else {
      a.paths.emplace_back(word);
    }
  }
  return a;
}

std::vector<std::string> optionValues(const Args& a, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : a.options) {
    if (k == name) out.push_back(v);
  }
  return out;
}

int run(const std::string& command, const Args& args) {
  using namespace manifest_check;
  Report report;
  if (command == "kustomize") {
    if (args.paths.size() != 1) return 2;
    checkKustomizations(args.paths[0], report);
  } else {
    if (args.paths.empty()) return 2;
    const auto objects = loadObjects(args.paths, report);
    if (command == "objects") {
      checkObjects(objects, report);
    } else if (command == "policy") {
      checkPolicy(objects, report);
    } else if (command == "rbac") {
      std::vector<path> files;
      for (const auto& f : optionValues(args, "--api-paths")) files.emplace_back(f);
      if (files.empty()) return 2;
      checkRbac(objects, files, report);
    } else if (command == "agent") {
      AgentRun run;
      const auto bins = optionValues(args, "--agent");
      if (bins.size() != 1) return 2;
      run.binary = bins[0];
      for (const auto& f : optionValues(args, "--config-override")) {
        // NAME=FILE replaces the ConfigMap key NAME; a bare FILE replaces its own file name.
        const auto eq = f.find('=');
        const std::string key =
            eq == std::string::npos ? path(f).filename().string() : f.substr(0, eq);
        run.configOverrides[key] = readText(eq == std::string::npos ? f : f.substr(eq + 1), report);
      }
      checkAgentAccepts(objects, run, report);
    } else if (command == "monitoring") {
      checkMonitoring(objects, args.paths, report);
    } else {
      return 2;
    }
  }
  std::cout << (report.failures() == 0 ? "PASS" : "FAILED") << ": manifest_check " << command
            << " (" << report.failures() << " problem(s))\n";
  return report.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const Args args = parseArgs(argc, argv, 2);
  int rc = 2;
  try {
    if (args.ok) rc = run(argv[1], args);
  } catch (const std::exception& e) {
    std::cout << "FAIL: manifest_check " << argv[1] << ": unexpected error: " << e.what() << "\n";
    return 1;
  }
  if (rc == 2) std::cerr << kUsage;
  return rc;
}
