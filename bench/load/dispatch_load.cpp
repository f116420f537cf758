// dispatch_load: the issue-3 / issue-5(3c) load program. Starts the built node,
// holds 10,000 driver WebSocket connections streaming positions plus 100 ride
// requests/s (the fleet simulator, actors/sim/), and reports request->offer
// latency (client-side and the node's histogram) and server memory per connection.
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cpu_sample.hpp"
#include "load_report.hpp"
#include "node_child.hpp"
#include "prom_histogram.hpp"
#include "rideshard/engine/region.hpp"
#include "sim/fd_limit.hpp"
#include "sim/simulator.hpp"

namespace rideshard::load {
namespace {

constexpr const char* jwt_secret = "dispatch-load-bench-secret-0123456789abcdef";
constexpr const char* histogram = "rideshard_request_to_offer_seconds";

struct load_options {
  std::string node_binary, config, json_path;
  int drivers = 10'000;
  double requests_per_s = 100;
  double update_interval_s = 4;
  double measure_s = 60;
  double warmup_s = 10;  ///< riders running before the window opens
  double connect_rate = 1000;
  double time_scale = 10;
  double max_trip_m = 2000;
  int runs = 5;
  int threads = 2;
  std::uint64_t seed = 42;
  bool progress = false;
  int nice = 0;
  double card_share = 0;  ///< riders who add a card before their first quote
};

std::string exe_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

/// What on_tick collects on the simulator's pacing thread.
struct window_state {
  node_child* node = nullptr;
  double t_memory = 0, t_open = 0, t_close = 0;
  bool memory_taken = false, opened = false, closed = false;
  std::string error;
  prom_histogram h0, h1;
  cpu_sample c0, c1;
  std::uint64_t requests0 = 0, samples0 = 0, requests1 = 0, samples1 = 0;
  std::uint64_t conns_memory = 0, conns_end = 0, drivers_connected = 0;
  std::uint64_t rss_connected = 0, rss_end = 0;
  sim::sim_stats::snapshot_t latency;
};

prom_histogram scrape(window_state& w) {
  auto text = http_get(w.node->port(), "/metrics");
  if (!text) {
    w.error = "GET /metrics: " + text.err().message;
    return {};
  }
  return prom_histogram::parse(*text, histogram);
}

void on_tick(window_state& w, double t, sim::sim_stats& s) {
  if (!w.memory_taken && t >= w.t_memory) {  // every driver connected, no rider yet
    w.memory_taken = true;
    w.rss_connected = w.node->rss_bytes();
    w.drivers_connected = s.drivers_connected;
    w.conns_memory = s.drivers_connected + s.riders_connected;
  }
  if (!w.opened && t >= w.t_open) {
    w.opened = true;
    s.clear_latency();
    w.h0 = scrape(w);
    w.c0 = cpu_sample::take(w.node->pid());
    w.requests0 = s.requests;
    w.samples0 = s.location_samples;
  }
  if (w.opened && !w.closed && t >= w.t_close) {
    w.closed = true;
    w.c1 = cpu_sample::take(w.node->pid());
    w.h1 = scrape(w);
    w.latency = s.snapshot();
    w.requests1 = s.requests;
    w.samples1 = s.location_samples;
    w.rss_end = w.node->rss_bytes();
    w.conns_end = s.drivers_connected + s.riders_connected;
  }
}

run_figures run_once(const load_options& o, const region& reg, int index) {
  run_figures f;
  auto started = node_child::start(o.node_binary, o.config, jwt_secret);
  if (!started) {
    f.error = started.err().message;
    return f;
  }
  node_child& node = **started;
  f.node_fd_limit = node.fd_limit();
  // Baseline after one /metrics scrape, so the registry's first-use allocations are in it.
  (void)http_get(node.port(), "/metrics");
  f.rss_before = node.rss_bytes();

  window_state w;
  w.node = &node;
  const double ramp_s = std::ceil(o.drivers / o.connect_rate);
  w.t_memory = ramp_s + 3;  // connection handshakes and the first fixes have settled
  const double rider_start = w.t_memory + 1;
  w.t_open = rider_start + o.warmup_s;
  w.t_close = w.t_open + o.measure_s;

  sim::sim_options so;
  so.port = std::to_string(node.port());
  so.jwt_secret = jwt_secret;
  so.drivers = o.drivers;
  so.riders_per_minute = o.requests_per_s * 60;
  so.duration_s = w.t_close + 1.5;  // the window closes on a tick before load ends
  so.drain_s = 0;
  so.time_scale = o.time_scale;
  so.max_trip_m = o.max_trip_m;
  so.update_interval_s = o.update_interval_s;
  so.threads = o.threads;
  so.seed = o.seed + static_cast<std::uint64_t>(index);
  so.id_base = 1'000'000;
  so.max_riders = 20'000;  // riders stay connected for their whole trip
  so.connect_rate_per_s = o.connect_rate;
  so.rider_delay_s = rider_start;
  // Riders without cards by default: the shape the published numbers were
  // measured with (cards add a vault write and PSP calls per ride; compare with
  // --card-share 1 to see them).
  so.card_share = o.card_share;
  so.on_tick = [&w](double t, sim::sim_stats& s) { on_tick(w, t, s); };
  auto rep = sim::run_simulation(so, reg, o.progress ? stderr : nullptr);
  f.node_exit = node.stop();
  if (!rep) {
    f.error = rep.err().message;
    return f;
  }
  if (!w.closed || !w.error.empty()) {
    f.error = w.error.empty() ? "the measurement window never closed" : w.error;
    return f;
  }
  const auto& l = w.latency.latency_us;
  f.client_samples = l.size();
  f.client_p50 = sim::quantile(l, 0.5) / 1000;
  f.client_p90 = sim::quantile(l, 0.9) / 1000;
  f.client_p99 = sim::quantile(l, 0.99) / 1000;
  f.client_max = l.empty() ? 0 : l.back() / 1000;
  const prom_histogram d = w.h1.since(w.h0);
  f.node_count = d.count;
  f.node_p50 = d.quantile(0.5) * 1000;
  f.node_p90 = d.quantile(0.9) * 1000;
  f.node_p99 = d.quantile(0.99) * 1000;
  f.node_mean = d.count > 0 ? d.sum / d.count * 1000 : 0;
  f.node_within_5ms = d.fraction_at_most(0.005);
  f.window_s = std::chrono::duration<double>(w.c1.at - w.c0.at).count();
  f.requests_per_s = static_cast<double>(w.requests1 - w.requests0) / f.window_s;
  f.updates_per_s = static_cast<double>(w.samples1 - w.samples0) / f.window_s;
  f.drivers_connected = w.drivers_connected;
  f.connections_end = w.conns_end;
  f.rss_connected = w.rss_connected;
  f.rss_end = w.rss_end;
  f.bytes_per_connection =
      w.conns_memory ? static_cast<double>(w.rss_connected - f.rss_before) / w.conns_memory : 0;
  f.bytes_per_connection_end =
      w.conns_end ? static_cast<double>(w.rss_end - f.rss_before) / w.conns_end : 0;
  const cpu_usage u = usage_between(w.c0, w.c1);
  f.node_cpu_pct = u.node_pct;
  f.client_cpu_pct = u.self_pct;
  f.machine_busy_pct = u.machine_pct;
  f.load1 = w.c1.load1;
  f.node_wait_pct = u.node_wait_pct;
  f.requests = rep->count("requests");
  f.matched = rep->count("matched");
  f.no_driver = rep->count("no_driver");
  f.protocol_errors = rep->samples.protocol_errors;
  f.outbox_drops = rep->count("outbox_drops");
  f.connect_failures = rep->count("connect_failures");
  f.ok = f.drivers_connected == static_cast<std::uint64_t>(o.drivers);
  if (!f.ok)
    f.error = "only " + std::to_string(f.drivers_connected) + " of " + std::to_string(o.drivers) +
              " drivers connected (" + std::to_string(f.connect_failures) + " failures)";
  return f;
}

}  // namespace
}  // namespace rideshard::load

int main(int argc, char** argv) {
  using namespace rideshard;
  load::load_options o;
  const std::string dir = load::exe_dir();
  o.node_binary = dir + "/../rideshard";
  o.config = std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml";
  o.json_path = dir + "/results/dispatch_load.json";
  CLI::App app{
      "Request->offer latency and memory per connection of the built node under "
      "10,000 streaming driver connections and 100 ride requests/s.",
      "dispatch_load"};
  app.add_option("--node", o.node_binary, "the rideshard binary")->capture_default_str();
  app.add_option("--config", o.config, "node config")->capture_default_str();
  app.add_option("--json", o.json_path, "result file")->capture_default_str();
  app.add_option("--drivers", o.drivers, "driver connections")->capture_default_str();
  app.add_option("--requests-per-s", o.requests_per_s, "ride requests per second")
      ->capture_default_str();
  app.add_option("--update-interval-s", o.update_interval_s, "seconds between a driver's fixes")
      ->capture_default_str();
  app.add_option("--measure-s", o.measure_s, "measurement window")->capture_default_str();
  app.add_option("--warmup-s", o.warmup_s, "rider load before the window")->capture_default_str();
  app.add_option("--connect-rate", o.connect_rate, "driver connections per second (ramp-up)")
      ->capture_default_str();
  app.add_option("--time-scale", o.time_scale,
                 "simulator time scale (trips finish, drivers free up)")
      ->capture_default_str();
  app.add_option("--max-trip-m", o.max_trip_m, "longest ride")->capture_default_str();
  app.add_option("--card-share", o.card_share,
                 "share of riders who add a sandbox card first (1: every ride is held and "
                 "captured at the PSP)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--runs", o.runs, "runs (a fresh node each)")->capture_default_str();
  app.add_option("--threads", o.threads, "client io threads")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of run 1 (run i uses seed + i)")->capture_default_str();
  app.add_flag("--progress", o.progress, "the simulator's per-second progress line on stderr");
  app.add_option("--nice", o.nice,
                 "scheduling priority of this program and the node (inherited), -20..19; "
                 "negative values need root and shield the run from other work on the machine")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.runs < 1 || o.runs > 50 || o.measure_s <= 0 || o.measure_s > 3600 || o.drivers < 1) {
    std::fprintf(stderr, "dispatch_load: --runs 1..50, --measure-s (0, 3600], --drivers >= 1\n");
    return 2;
  }
  // Before any thread or child exists, so that all of them inherit it.
  if (o.nice != 0 && setpriority(PRIO_PROCESS, 0, o.nice) != 0) {
    std::fprintf(stderr, "dispatch_load: cannot set nice %d (needs root for < 0)\n", o.nice);
    return 2;
  }
  // Both sides hold every connection: the node inherits this limit from us.
  const auto want = static_cast<std::uint64_t>(o.drivers) * 2 + 20'000;
  const auto fds = sim::raise_fd_limit(want);
  if (fds < static_cast<std::uint64_t>(o.drivers) + 1024)
    std::fprintf(stderr, "dispatch_load: WARNING: RLIMIT_NOFILE is %llu\n",
                 static_cast<unsigned long long>(fds));
  auto regions = load_node_regions(o.config);
  if (!regions || regions->empty()) {
    std::fprintf(stderr, "dispatch_load: %s\n",
                 regions ? "no region in the config" : regions.err().message.c_str());
    return 2;
  }
  load::load_shape shape{o.drivers,
                         o.requests_per_s,
                         o.update_interval_s,
                         o.measure_s,
                         o.time_scale,
                         o.threads,
                         o.runs,
                         o.nice};
  std::vector<load::run_figures> runs;
  for (int i = 0; i < o.runs; ++i) {
    std::fprintf(stderr,
                 "dispatch_load: run %d/%d (ramp %.0f s + %.0f s warm-up + %.0f s window)\n", i + 1,
                 o.runs, std::ceil(o.drivers / o.connect_rate) + 4, o.warmup_s, o.measure_s);
    runs.push_back(load::run_once(o, regions->front(), i));
    const auto& r = runs.back();
    if (!r.ok) std::fprintf(stderr, "dispatch_load: run %d failed: %s\n", i + 1, r.error.c_str());
  }
  load::print_report(stdout, shape, runs);
  std::printf("  riders with a sandbox card (--card-share): %.0f%%\n", o.card_share * 100);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(o.json_path).parent_path(), ec);
  if (!load::write_report_json(o.json_path, shape, runs)) return 1;
  std::printf("\n  results: %s\n", o.json_path.c_str());
  for (const auto& r : runs)
    if (!r.ok) return 1;
  return 0;
}
