// Turning per-run measurements into medians, rideshard/Redis ratios, a table
// on stdout, JSON + CSV files and a gnuplot PNG. Every table, row and plot
// series names its peer's configuration (peer_setup).
#pragma once

#include <string>
#include <vector>

#include "peer/peer_bench.hpp"

namespace rideshard::peer {

/// The cases of the throughput table and plot, and of the latency ones.
inline constexpr const char* throughput_cases[] = {"ingest_uniform", "ingest_hotspot",
                                                   "nearby_uniform", "nearby_hotspot"};
inline constexpr const char* latency_cases[] = {"nearby_uniform", "nearby_hotspot", "probe_uniform",
                                                "probe_hotspot"};

/// Median figures of one (drivers, scenario, system) over its runs.
struct summary_row {
  std::size_t drivers = 0;
  std::string scenario, system, note;
  int runs = 0;      ///< runs that completed (not aborted)
  double per_s = 0;  ///< median throughput
  double per_s_min = 0, per_s_max = 0;
  double p50_us = 0, p99_us = 0;  ///< medians of the per-run percentiles
  double cpu_us_per_item = 0;     ///< median server CPU per update/query (0: not measured)
  std::uint64_t errors = 0;       ///< summed over runs
  std::vector<double> per_run;    ///< throughput of each completed run, in run order
  /// Redis rows: rideshard / this, run by run (runs where both completed), and
  /// their median: pairs measured seconds apart share the machine's load.
  std::vector<double> run_ratios;
  double run_ratio_median = 0;
};

/// Groups rows and takes medians (aborted runs are left out).
std::vector<summary_row> summarize(const std::vector<measurement>& rows);

/// The completed summary of (drivers, scenario, system), or null.
const summary_row* find_row(const std::vector<summary_row>& sum, std::size_t drivers,
                            const std::string& scenario, const std::string& system);

/// rideshard's median over `system`'s for one case; 0 when either is missing.
double rideshard_ratio(const std::vector<summary_row>& sum, std::size_t drivers,
                       const std::string& scenario, const std::string& system);

/// Issue 13's target for the case and whether it is met ("" if none); a ratio
/// target is judged on the lower of the ratio of medians and the median of the
/// per-run ratios.
std::string target_verdict(const std::vector<summary_row>& sum, std::size_t drivers,
                           const std::string& scenario);

/// "100k", "1M".
std::string size_label(std::size_t n);

/// Prints the peers' configurations, the throughput and latency tables with
/// ratios and targets, the per-run spread and the cross-check.
void print_tables(const bench_options& o, const bench_report& rep,
                  const std::vector<summary_row>& sum);

/// Writes geo_peer.json, geo_peer.csv, geo_peer.dat/.gp and geo_peer.png into
/// o.out_dir. Returns the paths written (the PNG only if gnuplot succeeded).
std::vector<std::string> write_outputs(const bench_options& o, const bench_report& rep,
                                       const std::vector<summary_row>& sum);

}  // namespace rideshard::peer
