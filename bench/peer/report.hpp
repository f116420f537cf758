// Turning per-run measurements into medians, rideshard/Redis ratios, a table
// on stdout, JSON + CSV files and a gnuplot PNG.
#pragma once

#include <string>
#include <vector>

#include "peer/peer_bench.hpp"

namespace rideshard::peer {

/// Median figures of one (drivers, scenario, system) over its runs.
struct summary_row {
  std::size_t drivers = 0;
  std::string scenario, system, note;
  int runs = 0;      ///< runs that completed (not aborted)
  double per_s = 0;  ///< median throughput
  double per_s_min = 0, per_s_max = 0;
  double p50_us = 0, p99_us = 0;  ///< medians of the per-run percentiles
  std::uint64_t errors = 0;       ///< summed over runs
};

/// Groups rows and takes medians (aborted runs are left out).
std::vector<summary_row> summarize(const std::vector<measurement>& rows);

/// Prints the throughput and latency tables with ratios.
void print_tables(const bench_options& o, const bench_report& rep,
                  const std::vector<summary_row>& sum);

/// Writes geo_peer.json, geo_peer.csv, geo_peer.dat/.gp and geo_peer.png into
/// o.out_dir. Returns the paths written (the PNG only if gnuplot succeeded).
std::vector<std::string> write_outputs(const bench_options& o, const bench_report& rep,
                                       const std::vector<summary_row>& sum);

}  // namespace rideshard::peer
