// writeCharts(): gnuplot data files and script for the report's PNG charts.
#include <fstream>

#include "bench/sched/report_output.h"

namespace bench::sched {
namespace {

namespace fs = std::filesystem;

// gnuplot single-quoted string: a quote is doubled.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

void header(std::ostream& gp, const fs::path& png, const std::string& title, int w = 1000,
            int h = 560) {
  gp << "reset\nset terminal pngcairo size " << w << "," << h << " noenhanced font 'Sans,10'\n"
     << "set output " << quoted(png.string()) << "\nset title " << quoted(title) << "\n"
     << "set grid ytics\nset key outside right top\n";
}

void shareChart(const Results& r, const std::string& scenario, const fs::path& dataDir,
                const fs::path& pngDir, std::ostream& gp) {
  const fs::path dat = dataDir / ("share-" + scenario + ".dat");
  std::ofstream d(dat);
  d << "# scheduler";
  for (const auto& b : r.backends) d << " " << b;
  d << "\n";
  const auto& runs = r.runs.at(scenario);
  for (const auto& v : r.variants) {
    const auto it = runs.find(v);
    if (it == runs.end()) continue;
    d << '"' << variantLabel(v) << '"';
    for (const auto& b : r.backends) d << " " << it->second.backends.at(b).share * 100;
    d << "\n";
  }
  header(gp, pngDir / ("schedulers-share-" + scenario + ".png"),
         scenario + ": share of requests per backend (" + r.envOr("scenario." + scenario) + ")");
  gp << "set style data histograms\nset style histogram rowstacked\n"
     << "set style fill solid 0.85 border -1\nset boxwidth 0.7\nset yrange [0:100]\n"
     << "set ylabel '% of answered requests'\nset xtics rotate by -30\nplot ";
  for (std::size_t i = 0; i < r.backends.size(); ++i) {
    gp << (i ? ", '' " : quoted(dat.string()) + " ") << "using " << i + 2 << (i ? "" : ":xtic(1)")
       << " title " << quoted(r.backends[i]);
  }
  gp << "\n";
}

void cdfChart(const Results& r, const std::string& scenario, const fs::path& dataDir,
              const fs::path& pngDir, std::ostream& gp) {
  const fs::path dat = dataDir / ("cdf-" + scenario + ".dat");
  std::ofstream d(dat);
  const auto& runs = r.runs.at(scenario);
  std::vector<std::string> titles;
  for (const auto& v : r.variants) {
    const auto it = runs.find(v);
    if (it == runs.end() || it->second.cdf.empty()) continue;
    d << "# " << v << "\n";
    for (const auto& [ms, frac] : it->second.cdf) d << ms << " " << frac << "\n";
    d << "\n\n";
    titles.push_back(variantLabel(v));
  }
  if (titles.empty()) return;
  header(gp, pngDir / ("schedulers-cdf-" + scenario + ".png"), scenario + ": latency CDF");
  gp << "set logscale x\nset xlabel 'latency (ms, log scale)'\n"
     << "set ylabel 'fraction of answered requests'\nset yrange [0:1]\nplot ";
  for (std::size_t i = 0; i < titles.size(); ++i) {
    gp << (i ? ", '' " : quoted(dat.string()) + " ") << "index " << i
       << " using 1:2 with lines lw 2 dt " << (i / 8 + 1) << " title " << quoted(titles[i]);
  }
  gp << "\n";
}

void p99Chart(const Results& r, const fs::path& dataDir, const fs::path& pngDir, std::ostream& gp) {
  const fs::path dat = dataDir / "p99.dat";
  std::ofstream d(dat);
  std::vector<std::string> scenarios;
  for (const auto& s : r.scenarios) {
    if (r.runs.count(s)) scenarios.push_back(s);
  }
  if (scenarios.empty()) return;
  for (const auto& v : r.variants) {
    d << '"' << variantLabel(v) << '"';
    for (const auto& s : scenarios) {
      const auto& runs = r.runs.at(s);
      const auto it = runs.find(v);
      d << " " << (it == runs.end() ? 0.0 : it->second.latency.p99);
    }
    d << "\n";
  }
  header(gp, pngDir / "schedulers-p99.png", "p99 latency per scheduler and scenario", 1100, 560);
  gp << "set style data histograms\nset style histogram clustered gap 1\n"
     << "set style fill solid 0.85 border -1\nset logscale y\nset yrange [1:*]\n"
     << "set ylabel 'p99 latency (ms, log scale)'\nset xtics rotate by -30\nplot ";
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    gp << (i ? ", '' " : quoted(dat.string()) + " ") << "using " << i + 2 << (i ? "" : ":xtic(1)")
       << " title " << quoted(scenarios[i]);
  }
  gp << "\n";
}

void remapChart(const Results& r, const fs::path& dataDir, const fs::path& pngDir,
                std::ostream& gp) {
  if (r.churn.empty()) return;
  const fs::path dat = dataDir / "remap.dat";
  std::ofstream d(dat);
  const auto get = [](const ChurnFigures& c, const char* k, bool others) {
    const auto it = c.remaps.find(k);
    if (it == c.remaps.end()) return 0.0;
    return 100 * (others ? it->second.othersFraction() : it->second.fraction());
  };
  for (const auto& v : r.churnVariants) {
    const auto it = r.churn.find(v);
    if (it == r.churn.end()) continue;
    d << '"' << variantLabel(v) << '"' << " " << get(it->second, "removal", false) << " "
      << get(it->second, "removal", true) << " " << get(it->second, "readd", false) << " "
      << get(it->second, "control", false) << "\n";
  }
  const double ideal = r.backends.empty() ? 0 : 100.0 / static_cast<double>(r.backends.size());
  header(
      gp, pngDir / "schedulers-remap.png",
      "client flows that moved to another backend when " + r.drained + " was removed / added back",
      1100, 560);
  gp << "set style data histograms\nset style histogram clustered gap 1\n"
     << "set style fill solid 0.85 border -1\nset yrange [0:100]\n"
     << "set ylabel '% of flows'\nset xtics rotate by -30\nplot " << quoted(dat.string())
     << " using 2:xtic(1) title 'removal: moved', '' using 3 title 'removal: moved although not on "
     << r.drained << "', '' using 4 title 're-add: moved', '' using 5 title 'control (no change)'"
     << ", " << ideal << " with lines dt 2 lw 2 lc rgb 'black' title 'ideal on removal (1/N)'\n";
}

}  // namespace

fs::path writeCharts(const Results& r, const fs::path& dataDir, const fs::path& pngDir) {
  fs::create_directories(dataDir);
  const fs::path script = dataDir / "charts.gp";
  std::ofstream gp(script);
  for (const auto& s : r.scenarios) {
    if (!r.runs.count(s)) continue;
    shareChart(r, s, dataDir, pngDir, gp);
    cdfChart(r, s, dataDir, pngDir, gp);
  }
  p99Chart(r, dataDir, pngDir, gp);
  remapChart(r, dataDir, pngDir, gp);
  return script;
}

}  // namespace bench::sched
