// sched_report: turns one scheduler benchmark run (the files the guest exported: run-*.json,
// flows-*.json, hold-*.json, bench.env) into the report. Runs on the host.
//
// Usage: sched_report --in DIR --md FILE --json FILE --charts DATADIR --png PNGDIR
// Writes the Markdown report and the JSON of every figure, and DATADIR/charts.gp (plus its data
// files) that draws the PNGs into PNGDIR when run with gnuplot; prints the script's path.
// Exit status: 0, 1 when no run was found or a file cannot be written, 2 on bad usage.

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "bench/sched/report_model.h"
#include "bench/sched/report_output.h"

namespace {

namespace fs = std::filesystem;

int usage(const std::string& msg) {
  std::cerr << "sched_report: " << msg
            << "\nusage: sched_report --in DIR --md FILE --json FILE --charts DATADIR --png "
               "PNGDIR\n";
  return 2;
}

bool writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) std::cerr << "sched_report: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i + 1 < argc; i += 2) opt[argv[i]] = argv[i + 1];
  if (argc % 2 != 1) return usage("options come in pairs");
  for (const char* k : {"--in", "--md", "--json", "--charts", "--png"}) {
    if (!opt.count(k)) return usage(std::string("missing ") + k);
  }
  if (opt.size() != 5) return usage("unknown option");
  const fs::path in = opt["--in"];
  if (!fs::is_regular_file(in / "bench.env")) {
    std::cerr << "sched_report: " << in << " has no bench.env (not a benchmark result)\n";
    return 1;
  }
  const bench::sched::Results results = bench::sched::loadResults(in);
  if (results.runs.empty() && results.churn.empty()) {
    std::cerr << "sched_report: no run-*.json or flows-*.json in " << in << "\n";
    return 1;
  }
  for (const auto& p : results.problems) std::cerr << "sched_report: " << p << "\n";
  std::ostringstream md;
  bench::sched::writeMarkdown(results, md);
  if (!writeText(opt["--md"], md.str())) return 1;
  const std::string json = boost::json::serialize(bench::sched::resultsJson(results)) + "\n";
  if (!writeText(opt["--json"], json)) return 1;
  std::cout << bench::sched::writeCharts(results, opt["--charts"], opt["--png"]).string() << "\n";
  return 0;
}
