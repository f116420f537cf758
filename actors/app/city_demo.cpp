// `rideshard demo`: runs the deterministic in-process city twice on one seed —
// sequential offers vs batched assignment — and prints a comparison table.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include "rideshard/engine/city_sim.hpp"
#include "rideshard/engine/region.hpp"

namespace rideshard::app {
namespace {

struct demo_options {
  std::string config = "cluster-config/single-node.toml";
  std::string region_name;
  city_sim_config sim;
  int minutes = 20;
};

// Fills defaults from the node config's [demo] table (flags given later win).
bool read_demo_table(const std::string& path, demo_options& o) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::fprintf(stderr, "rideshard demo: %s: %s\n", path.c_str(),
                 std::string(e.description()).c_str());
    return false;
  }
  const auto demo = doc["demo"];
  o.region_name = demo["region"].value_or(std::string{});
  o.sim.drivers =
      static_cast<std::size_t>(demo["drivers"].value_or(static_cast<std::int64_t>(o.sim.drivers)));
  o.minutes = demo["minutes"].value_or(o.minutes);
  o.sim.start_hour = demo["start_hour"].value_or(o.sim.start_hour);
  o.sim.peak_requests_per_minute =
      demo["peak_requests_per_minute"].value_or(o.sim.peak_requests_per_minute);
  o.sim.accept_probability = demo["accept_probability"].value_or(o.sim.accept_probability);
  o.sim.seed =
      static_cast<std::uint64_t>(demo["seed"].value_or(static_cast<std::int64_t>(o.sim.seed)));
  return true;
}

void print_row(const char* label, const std::string& a, const std::string& b) {
  std::printf("  %-24s %14s %14s\n", label, a.c_str(), b.c_str());
}

std::string fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void print_table(const region& r, const demo_options& o, const city_sim_report (&rep)[2],
                 const double (&wall_ms)[2]) {
  std::printf(
      "\nrideshard demo — %s, %zu drivers, %d simulated minutes from %02d:00, "
      "peak %.0f requests/min, seed %llu\n\n",
      r.name.c_str(), o.sim.drivers, o.minutes, o.sim.start_hour, o.sim.peak_requests_per_minute,
      static_cast<unsigned long long>(o.sim.seed));
  print_row("", "sequential", "batched");
  auto row = [&](const char* label, auto f) { print_row(label, f(rep[0]), f(rep[1])); };
  row("requests", [](auto& x) { return std::to_string(x.requests); });
  row("matched %", [](auto& x) { return fmt(x.matched_pct); });
  row("mean pickup ETA (s)", [](auto& x) { return fmt(x.mean_pickup_eta_s); });
  row("p95 pickup ETA (s)", [](auto& x) { return fmt(x.p95_pickup_eta_s); });
  row("mean rider wait (s)", [](auto& x) { return fmt(x.mean_wait_s); });
  row("offers per match", [](auto& x) {
    return fmt(x.matched ? static_cast<double>(x.offers) / static_cast<double>(x.matched) : 0, 2);
  });
  row("completed trips", [](auto& x) { return std::to_string(x.completed); });
  row("expired requests", [](auto& x) { return std::to_string(x.expired); });
  row("surge range", [](auto& x) {
    return fmt(x.surge_min_permille / 1000.0) + "x-" + fmt(x.surge_max_permille / 1000.0) + "x";
  });
  row(("revenue (" + r.fare.currency + ")").c_str(),
      [](auto& x) { return fmt(static_cast<double>(x.revenue_minor) / 100.0, 2); });
  print_row("wall time (ms)", fmt(wall_ms[0], 0), fmt(wall_ms[1], 0));
  const double gain = rep[0].mean_pickup_eta_s > 0
                          ? 100.0 * (1.0 - rep[1].mean_pickup_eta_s / rep[0].mean_pickup_eta_s)
                          : 0.0;
  std::printf("\n  batched mean pickup ETA is %.1f%% %s than sequential\n", gain < 0 ? -gain : gain,
              gain >= 0 ? "lower" : "higher");
}

}  // namespace

int run_city_demo(int argc, char** argv) {
  CLI::App app{"In-process city: sequential vs batched matching on the same seed.",
               "rideshard demo"};
  demo_options o;
  app.add_option("--config", o.config, "node config (its [demo] table gives the defaults)");
  std::vector<std::string> raw(argv + 1, argv + argc);
  // First pass for --config only, so the file's [demo] values become defaults.
  for (std::size_t i = 0; i + 1 < raw.size(); ++i)
    if (raw[i] == "--config") o.config = raw[i + 1];
  if (!read_demo_table(o.config, o)) return 2;
  app.add_option("--region", o.region_name, "region name from the config")->capture_default_str();
  app.add_option("--drivers", o.sim.drivers, "simulated drivers")->capture_default_str();
  app.add_option("--minutes", o.minutes, "simulated minutes")->capture_default_str();
  app.add_option("--start-hour", o.sim.start_hour, "local hour at start (demand curve)")
      ->capture_default_str();
  app.add_option("--peak-rpm", o.sim.peak_requests_per_minute, "requests/min at peak demand")
      ->capture_default_str();
  app.add_option("--accept", o.sim.accept_probability, "probability a driver accepts")
      ->capture_default_str();
  app.add_option("--seed", o.sim.seed, "random seed")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto regions = load_node_regions(o.config);
  if (!regions) {
    std::fprintf(stderr, "rideshard demo: %s\n", regions.err().message.c_str());
    return 2;
  }
  const region* r = &regions->front();
  for (const region& x : *regions)
    if (x.name == o.region_name) r = &x;
  o.sim.duration_ms = static_cast<std::int64_t>(o.minutes) * 60'000;
  city_sim_report rep[2];
  double wall_ms[2];
  for (int i = 0; i < 2; ++i) {
    o.sim.mode = i == 0 ? matching_mode::sequential : matching_mode::batched;
    const auto t0 = std::chrono::steady_clock::now();
    auto res = run_city_sim(*r, o.sim);
    wall_ms[i] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!res) {
      std::fprintf(stderr, "rideshard demo: %s: %s\n", std::string(to_string(res.code())).c_str(),
                   res.err().message.c_str());
      return 1;
    }
    rep[i] = *res;
  }
  print_table(*r, o, rep, wall_ms);
  return 0;
}

}  // namespace rideshard::app
