// ipvs-agent: Kubernetes Service load balancing with IPVS, a drop-in for kube-proxy's IPVS mode.
// main() only resolves the options and dispatches to a mode; each mode lives in its own file.

#include <malloc.h>

#include <cstdlib>
#include <iostream>

#include "agent/cleanup.h"
#include "agent/config_file.h"
#include "agent/config_notices.h"
#include "agent/dry_run.h"
#include "agent/flags.h"
#include "agent/log.h"
#include "agent/run.h"

namespace {

// One malloc arena for every thread. The watcher thread decodes what the sync thread keeps and
// frees; with glibc's per-thread arenas the memory one thread frees stays resident in its arena
// and the other grows its own, so the peak is both. The agent allocates from few threads at
// once, so one arena costs no measurable contention. MALLOC_ARENA_MAX or GLIBC_TUNABLES win.
//
// A fixed mmap threshold (128 KiB, glibc's starting value). By default glibc raises it to the
// size of each mapped block freed, so after the first sync frees its large buffers, the later
// large transients (a full resync's key and hash vectors, decode buffers) come from the heap,
// where they fragment it and their pages stay resident. Fixed, each is mapped and unmapped on its
// own: 61.4 against 63.2 MiB peak RSS at 10k Services over two resyncs (bench/README.md).
// MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES win.
void tuneMalloc() {
  const bool tunables = std::getenv("GLIBC_TUNABLES") != nullptr;
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr && !tunables) mallopt(M_ARENA_MAX, 1);
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr && !tunables)
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

// kube-proxy applies oomScoreAdj before it starts proxying; a failure is logged, not fatal.
void applyOomScoreAdj(const agent::Config& config, const agent::Logger& log) {
  if (auto ec = agent::writeOomScoreAdj("/proc/self/oom_score_adj", config.oomScoreAdj)) {
    log.warn("cannot apply oomScoreAdj", {{"value", config.oomScoreAdj}, {"error", ec}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  tuneMalloc();  // before any thread starts
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
  if (options.version) {
    std::cout << agent::versionText();
    return 0;
  }
  const agent::Logger log =
      agent::Logger(agent::Logger::Options{options.config.logging.verbosity, {}, {}})
          .withComponent("config");
  for (const auto& w : options.warnings) log.warn(w);
  for (const auto& n : options.notices) log.info(n);
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
  applyOomScoreAdj(options.config, log);
  return agent::runAgent(options);
}
