// The side-by-side Redis GEO vs rideshard benchmark: options, per-run
// measurements, and the runner that drives both peers through every case.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "peer/fleet_data.hpp"
#include "peer/servers.hpp"
#include "rideshard/engine/region.hpp"

namespace rideshard::peer {

/// Command-line options (see geo_peer --help).
struct bench_options {
  std::vector<std::size_t> drivers{100000, 1000000};
  int runs = 5;
  int large_runs = 3;  ///< runs at sizes >= 1M (Redis GEOSEARCH takes ~16-40 ms there)
  bool quick = false;
  std::string out_dir;
  std::size_t clients = 50;          ///< connections per peer
  std::size_t depth = 16;            ///< requests in flight per connection
  std::size_t fleet_batch = 256;     ///< samples per rideshard fleet_positions frame
  std::size_t redis_members = 16;    ///< members per GEOADD in the "redis_multi" variant
  std::size_t nearby_batch = 16;     ///< queries per rideshard nearby_batch frame
  std::size_t queries = 200000;      ///< nearby queries per case, at most
  double nearby_seconds = 3;         ///< nearby: stop issuing after this long
  std::size_t probe_queries = 2000;  ///< single-client latency probe, at most (1 s)
  std::size_t check_queries = 200;   ///< cross-check queries per (size, layout), run 1
  double radius_m = 2000;
  std::uint32_t k = 10;
  std::uint64_t seed = 42;
  server_paths paths;
};

/// One measured figure of one run.
struct measurement {
  std::size_t drivers = 0;
  std::string scenario;  ///< ingest_uniform, ingest_hotspot, nearby_uniform, ...
  std::string system;    ///< redis, redis_multi, rideshard
  int run = 0;
  double per_s = 0;  ///< updates/s or queries/s
  double p50_us = 0, p99_us = 0;
  std::uint64_t items = 0, errors = 0;
  std::uint64_t unanswered = 0;  ///< sent, no reply by the hard time limit
  std::uint64_t unsent = 0;      ///< not sent: issuing stopped at the phase's time limit
  bool aborted = false;
  std::string note;
};

/// Agreement of both peers' k-nearest answers with the exact answer.
struct cross_check {
  std::size_t drivers = 0;
  layout where = layout::uniform;
  std::size_t queries = 0;
  std::size_t redis_exact = 0, rideshard_exact = 0;            ///< same id set as the oracle
  std::size_t redis_within_tol = 0, rideshard_within_tol = 0;  ///< differences only at ties
  std::size_t peers_agree = 0;  ///< rideshard set == Redis set (up to ties)
  std::string first_problem;
};

/// Everything one invocation measured.
struct bench_report {
  std::vector<measurement> rows;
  std::vector<cross_check> checks;
  std::string redis_version;
  std::vector<std::string> failures;  ///< fatal per-run problems, in words
};

/// Runs every case `opts.runs` times for every size; starts and stops redis
/// and rideshard itself. Progress goes to stderr.
bench_report run_bench(const bench_options& opts, const region& city);

}  // namespace rideshard::peer
