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
  std::size_t redis_members = 0;     ///< members per GEOADD of the Redis baseline (0: fleet_batch)
  std::size_t nearby_batch = 16;     ///< queries per rideshard nearby_batch frame
  std::size_t redis_pipeline = 0;    ///< GEOSEARCH commands per Redis request (0: nearby_batch)
  std::size_t queries = 200000;      ///< nearby queries per case, at most
  std::size_t large_queries = 800;   ///< nearby queries per case at sizes >= 1M, at most
  double nearby_seconds = 3;         ///< nearby: stop issuing after this long
  std::size_t probe_queries = 2000;  ///< single-client latency probe, at most (1 s)
  std::size_t check_queries = 200;   ///< cross-check queries per (size, layout), run 1
  double radius_m = 2000;
  std::uint32_t k = 10;
  std::uint64_t seed = 42;
  server_paths paths;
};

/// Fills the options left at 0 (Redis batching follows rideshard's by default).
void resolve_defaults(bench_options& o);

/// How one peer is driven, printed with the tables and written to the files so
/// that every figure names its configuration.
struct peer_setup {
  std::string system;  ///< the measurements' key: redis, redis_1member, rideshard
  std::string label;   ///< short, for table rows and the plot legend
  std::string server;  ///< the process, its persistence
  std::size_t connections = 0;
  std::size_t in_flight = 0;          ///< requests in flight per connection (closed loop)
  std::string ingest, nearby, probe;  ///< one request of each phase ("" = not run)
  std::size_t ingest_items = 0, nearby_items = 0;  ///< updates or queries per request
};

/// The peers as `opts` drives them: Redis (baseline), Redis 1 member/cmd, rideshard.
std::vector<peer_setup> describe_peers(const bench_options& opts, const std::string& node_config);

/// One measured figure of one run.
struct measurement {
  std::size_t drivers = 0;
  std::string scenario;  ///< ingest_uniform, ingest_hotspot, nearby_uniform, ...
  std::string system;    ///< a peer_setup::system
  int run = 0;
  double per_s = 0;  ///< updates/s or queries/s
  double p50_us = 0, p99_us = 0;
  std::uint64_t items = 0, errors = 0;
  std::uint64_t unanswered = 0;  ///< sent, no reply by the hard time limit
  std::uint64_t unsent = 0;      ///< not sent: issuing stopped at the phase's time limit
  /// The server process's CPU (user + system, /proc/<pid>/stat) over the phase
  /// per item answered, in microseconds: steadier than rates on a loaded machine.
  double server_cpu_us_per_item = 0;
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
