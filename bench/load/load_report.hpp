// What one dispatch_load run measured, medians over runs, the printed table and
// the JSON result file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace rideshard::load {

/// One run's figures. Latencies in ms, memory in bytes, CPU in % of one core.
struct run_figures {
  bool ok = false;
  std::string error;  ///< why the run failed (ok == false)
  // request -> offer, client-side (rider writes ride_request -> driver reads offer)
  std::size_t client_samples = 0;
  double client_p50 = 0, client_p90 = 0, client_p99 = 0, client_max = 0;
  // request -> offer, the node's rideshard_request_to_offer_seconds over the window
  double node_count = 0, node_p50 = 0, node_p90 = 0, node_p99 = 0, node_mean = 0;
  double node_within_5ms = 0;  ///< fraction of node observations <= 5 ms (a bucket bound)
  // load actually offered during the window
  double window_s = 0, requests_per_s = 0, updates_per_s = 0;
  std::uint64_t drivers_connected = 0, connections_end = 0;
  // memory: (RSS with the drivers connected - RSS before) / connections
  std::uint64_t rss_before = 0, rss_connected = 0, rss_end = 0;
  double bytes_per_connection = 0;
  double bytes_per_connection_end = 0;  ///< same at window end, riders and trips included
  // where the 2 cores went during the window
  double node_cpu_pct = 0, client_cpu_pct = 0, machine_busy_pct = 0, load1 = 0;
  double node_wait_pct = 0;  ///< node threads runnable but not running (CPU starvation)
  std::uint64_t node_fd_limit = 0;
  std::uint64_t requests = 0, matched = 0, no_driver = 0, protocol_errors = 0;
  std::uint64_t outbox_drops = 0, connect_failures = 0;
  int node_exit = -1;
};

/// The shape of the load, echoed in the report.
struct load_shape {
  int drivers = 0;
  double requests_per_s = 0, update_interval_s = 0, measure_s = 0, time_scale = 0;
  int client_threads = 0, runs = 0;
  int nice = 0;  ///< scheduling priority of the load program and the node
};

/// Median of `field` over the successful runs (0 when none succeeded).
double median_of(const std::vector<run_figures>& runs,
                 const std::function<double(const run_figures&)>& field);

/// One line per run, then the median table against the targets.
void print_report(std::FILE* out, const load_shape& shape, const std::vector<run_figures>& runs);

/// Writes runs and medians as JSON; false (and a message on stderr) if unwritable.
bool write_report_json(const std::string& path, const load_shape& shape,
                       const std::vector<run_figures>& runs);

}  // namespace rideshard::load
