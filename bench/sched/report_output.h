#pragma once
// The scheduler benchmark's report files, from loaded Results (report_model.h):
//   writeMarkdown  bench/results/schedulers.md: a table per scenario and the churn table;
//   writeCharts    gnuplot data files and one script that draws the PNGs next to the report
//                  (per-backend share bars and latency CDFs per scenario, p99 overview, remap).
// Pure formatting: the caller opens the files and runs gnuplot.

#include <filesystem>
#include <iosfwd>
#include <string>

#include "bench/sched/report_model.h"

namespace bench::sched {

// How a variant was set up: "sh + sh-port", "mh (no flags)", ...
std::string variantLabel(const std::string& variant);

void writeMarkdown(const Results& results, std::ostream& out);

// Writes DATADIR/*.dat and DATADIR/charts.gp; the script writes PNGDIR/schedulers-*.png.
// Returns the script's path.
std::filesystem::path writeCharts(const Results& results, const std::filesystem::path& dataDir,
                                  const std::filesystem::path& pngDir);

}  // namespace bench::sched
