// `rideshard simulate --url ws://HOST:PORT ...`: the fleet simulator against a
// running node (actors/sim/). Progress on stderr, summary on stdout, JSON file.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include "app/cluster_config.hpp"
#include "auth/jwt.hpp"
#include "rideshard/engine/region.hpp"
#include "rideshard/engine/shard_group.hpp"
#include "sim/fd_limit.hpp"
#include "sim/simulator.hpp"

namespace rideshard::app {

int run_simulate(int argc, char** argv);

namespace {

/// Splits ws://host:port[/path] into host and port.
bool parse_one(const std::string& url, std::string& host, std::string& port) {
  const std::string scheme = "ws://";
  if (url.compare(0, scheme.size(), scheme) != 0) return false;
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return false;
  host = rest.substr(0, colon);
  port = rest.substr(colon + 1);
  return true;
}

/// ws://h:p[,ws://h:p...]: the first into host/port, the others into more_nodes.
bool parse_url(const std::string& urls, sim::sim_options& o) {
  std::size_t start = 0;
  for (bool first = true;; first = false) {
    const auto comma = urls.find(',', start);
    const std::string one = urls.substr(start, comma - start);
    std::string host, port;
    if (!parse_one(one, host, port)) return false;
    if (first) {
      o.host = host;
      o.port = port;
    } else {
      o.more_nodes.emplace_back(host, port);
    }
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

/// The report's first offers, one line each, with the shard group a trip id maps
/// to under the config's [cluster] shard_groups as the node reads it
/// (read_cluster_config: 12 when the section omits the key, 0 without [cluster]).
bool write_offer_log(const std::string& path, const sim::sim_report& r, const std::string& config) {
  int groups = 0;
  try {
    const auto doc = toml::parse_file(config);
    if (auto c = read_cluster_config(doc, [](const std::string& p) { return p; }))
      groups = c->shard_groups;
  } catch (const toml::parse_error&) {
    // load_node_regions already read this file; an unreadable one fails before here.
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "rideshard simulate: cannot write %s\n", path.c_str());
    return false;
  }
  for (const auto& [unix_ms, trip] : r.first_offers)
    std::fprintf(f, "%lld %llu %d\n", static_cast<long long>(unix_ms),
                 static_cast<unsigned long long>(trip), shard_group_of(trip, groups));
  return std::fclose(f) == 0;
}

}  // namespace

int run_simulate(int argc, char** argv) {
  CLI::App app{"Drive a running node with simulated driver and rider WebSocket clients.",
               "rideshard simulate"};
  sim::sim_options o;
  std::string url, config = "cluster-config/single-node.toml", region_name, json_path, offer_log;
  app.add_option("--url", url,
                 "the node, ws://HOST:PORT; a cluster as a comma-separated list (client i "
                 "dials node i mod n first)")
      ->required();
  auto* reconnect =
      app.add_option("--reconnect-s", o.reconnect_s,
                     "after a dropped connection, redial the next node for this long and resume "
                     "(at once after a close 1001 going-away: a draining node; else after "
                     "250 ms; default: 30 with several nodes, else 0)");
  app.add_flag("--audit", o.audit,
               "after the run, check every trip state a client was told against what the "
               "nodes hold (GET /api/admin/trips/{id}): acknowledged_lost, double_assignments");
  app.add_option("--config", config, "node config naming the region files")->capture_default_str();
  app.add_option("--region", region_name, "region name (default: the first)");
  app.add_option("--drivers", o.drivers, "driver connections")->capture_default_str();
  app.add_option("--riders-per-minute", o.riders_per_minute, "rider arrivals at the start hour")
      ->capture_default_str();
  app.add_option("--duration-s", o.duration_s, "seconds of load")->capture_default_str();
  app.add_option("--drain-s", o.drain_s, "extra seconds for matched trips to finish")
      ->capture_default_str();
  app.add_option("--time-scale", o.time_scale, "simulated seconds per wall second")
      ->capture_default_str();
  app.add_option("--accept-probability", o.accept_probability, "a driver accepts an offer")
      ->capture_default_str();
  app.add_option("--cancel-probability", o.cancel_probability, "a matched rider cancels")
      ->capture_default_str();
  app.add_option("--update-interval-s", o.update_interval_s, "seconds between location frames")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "io_context threads")->capture_default_str();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  app.add_option("--start-hour", o.start_hour, "local hour at start (demand curve)")
      ->capture_default_str();
  app.add_option("--max-trip-m", o.max_trip_m, "longest pickup-to-drop-off distance")
      ->capture_default_str();
  app.add_option("--area-m", o.area_m, "confine the city to a square this wide (0: whole region)")
      ->capture_default_str();
  app.add_option("--max-riders", o.max_riders, "concurrent rider connections")
      ->capture_default_str();
  app.add_option("--connect-rate", o.connect_rate_per_s, "driver connections opened per second")
      ->capture_default_str();
  app.add_option("--rider-delay-s", o.rider_delay_s, "no rider arrives before this second")
      ->capture_default_str();
  app.add_option("--card-share", o.card_share,
                 "share of riders who add a sandbox test card before riding (0..1)")
      ->capture_default_str();
  app.add_option("--id-base", o.id_base, "subject ids start here (0: from the clock)");
  app.add_option("--json", json_path, "write the result as JSON to this file");
  app.add_option("--offer-log", offer_log,
                 "write each trip's first offer to this file, one line \"unix_ms trip_id "
                 "shard_group\" (group from --config's [cluster] shard_groups)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!parse_url(url, o)) {
    std::fprintf(stderr,
                 "rideshard simulate: --url must be ws://HOST:PORT[,ws://HOST:PORT...], got "
                 "'%s'\n",
                 url.c_str());
    return 2;
  }
  if (reconnect->count() == 0 && !o.more_nodes.empty()) o.reconnect_s = 30;
  if (o.reconnect_s < 0 || o.reconnect_s > 600) {
    std::fprintf(stderr, "rideshard simulate: --reconnect-s 0..600\n");
    return 2;
  }
  auto regions = load_node_regions(config);
  if (!regions || regions->empty()) {
    std::fprintf(stderr, "rideshard simulate: %s\n",
                 regions ? "no region in the config" : regions.err().message.c_str());
    return 2;
  }
  const region* reg = &regions->front();
  for (const region& r : *regions)
    if (r.name == region_name) reg = &r;
  if (!region_name.empty() && reg->name != region_name) {
    std::fprintf(stderr, "rideshard simulate: no region '%s'\n", region_name.c_str());
    return 2;
  }
  const char* env = std::getenv("RIDESHARD_JWT_SECRET");
  o.jwt_secret = env && *env ? env : std::string(auth::development_secret);
  if (o.id_base == 0)  // fresh identities per run: no trips left over from an earlier one
    o.id_base = static_cast<std::uint64_t>(auth::system_unix_seconds() % 100'000'000) * 1'000'000;

  // One descriptor per connection plus slack; a 1,024 default stops near 1,000 drivers.
  const auto want_fds = static_cast<std::uint64_t>(o.drivers) + o.max_riders + 256;
  if (const auto fds = sim::raise_fd_limit(want_fds); fds < want_fds)
    std::fprintf(stderr,
                 "rideshard simulate: WARNING: open-file limit is %llu, below the %llu this run "
                 "may need (ulimit -n)\n",
                 static_cast<unsigned long long>(fds), static_cast<unsigned long long>(want_fds));
  std::fprintf(stderr,
               "rideshard simulate: %d drivers, %.0f riders/min, %.0f s against %s:%s%s "
               "(region %s, %d threads)\n",
               o.drivers, o.riders_per_minute, o.duration_s, o.host.c_str(), o.port.c_str(),
               o.more_nodes.empty()
                   ? ""
                   : (" and " + std::to_string(o.more_nodes.size()) + " more nodes").c_str(),
               reg->name.c_str(), o.threads);
  auto rep = sim::run_simulation(o, *reg, stderr);
  if (!rep) {
    std::fprintf(stderr, "rideshard simulate: %s: %s\n", std::string(to_string(rep.code())).c_str(),
                 rep.err().message.c_str());
    return 2;
  }
  sim::print_summary(stdout, *rep);
  std::fflush(stdout);
  if (!json_path.empty() && !sim::write_json(json_path, *rep)) return 1;
  if (!offer_log.empty() && !write_offer_log(offer_log, *rep, config)) return 1;
  return 0;
}

}  // namespace rideshard::app
