// ipvs-agent: Kubernetes Service load balancing with IPVS, a drop-in for kube-proxy's IPVS mode.
// main() only resolves the options and dispatches to a mode; each mode lives in its own file.

#include <iostream>

#include "agent/cleanup.h"
#include "agent/config_file.h"
#include "agent/dry_run.h"
#include "agent/flags.h"
#include "agent/run.h"

int main(int argc, char** argv) {
  agent::Options options;
  try {
    options = agent::loadOptions(argc, argv);
  } catch (const agent::ConfigError& e) {
    std::cerr << "ipvs-agent: " << e.what() << "\n";
    return 1;
  }
  if (options.help) {
    std::cout << agent::usage();
    return 0;
  }
  for (const auto& w : options.warnings) std::cerr << "ipvs-agent: warning: " << w << "\n";
  if (!options.writeConfigTo.empty()) {
    try {
      agent::writeConfigFile(options.writeConfigTo, options.config);
    } catch (const agent::ConfigError& e) {
      std::cerr << "ipvs-agent: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  if (options.cleanup) return agent::runCleanup(options);
  if (options.initOnly) return agent::runInitOnly(options);
  if (options.config.agent.dryRun) {
    if (options.config.agent.source.empty()) {
      std::cerr << "ipvs-agent: --dry-run needs --source=PATH (a manifest file or directory)\n";
      return 1;
    }
    return agent::runDryRun(options, std::cout, std::cerr);
  }
  return agent::runAgent(options);
}
