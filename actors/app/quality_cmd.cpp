// `rideshard quality`: the deterministic in-process city at low, normal and peak
// demand, sequential offers vs batched assignment on the same seed, as a table.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include "rideshard/engine/city_sim.hpp"
#include "rideshard/engine/region.hpp"

namespace rideshard::app {

int run_quality(int argc, char** argv);

namespace {

struct quality_options {
  std::string config = "cluster-config/single-node.toml";
  std::string region_name;
  city_sim_config sim;
  int minutes = 20;
  bool markdown = false;
};

// Fills defaults from the node config's [quality] table (flags given later win).
bool read_quality_table(const std::string& path, quality_options& o) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::fprintf(stderr, "rideshard quality: %s: %s\n", path.c_str(),
                 std::string(e.description()).c_str());
    return false;
  }
  const auto q = doc["quality"];
  o.region_name = q["region"].value_or(std::string{});
  o.sim.drivers =
      static_cast<std::size_t>(q["drivers"].value_or(static_cast<std::int64_t>(o.sim.drivers)));
  o.minutes = q["minutes"].value_or(o.minutes);
  o.sim.start_hour = q["start_hour"].value_or(o.sim.start_hour);
  o.sim.peak_requests_per_minute =
      q["peak_requests_per_minute"].value_or(o.sim.peak_requests_per_minute);
  o.sim.accept_probability = q["accept_probability"].value_or(o.sim.accept_probability);
  o.sim.seed =
      static_cast<std::uint64_t>(q["seed"].value_or(static_cast<std::int64_t>(o.sim.seed)));
  return true;
}

std::string fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

using cell_fn = std::string (*)(const city_sim_report&);

struct metric {
  const char* label;
  cell_fn cell;
};

const std::vector<metric>& metrics() {
  static const std::vector<metric> m = {
      {"requests", [](const city_sim_report& x) { return std::to_string(x.requests); }},
      {"matched %", [](const city_sim_report& x) { return fmt(x.matched_pct); }},
      {"mean pickup ETA (s)", [](const city_sim_report& x) { return fmt(x.mean_pickup_eta_s); }},
      {"p95 pickup ETA (s)", [](const city_sim_report& x) { return fmt(x.p95_pickup_eta_s); }},
      {"mean wait to match (s)", [](const city_sim_report& x) { return fmt(x.mean_match_wait_s); }},
      {"mean wait to pickup (s)", [](const city_sim_report& x) { return fmt(x.mean_wait_s); }},
      {"expired requests", [](const city_sim_report& x) { return std::to_string(x.expired); }},
      {"completed trips", [](const city_sim_report& x) { return std::to_string(x.completed); }},
      {"offers per match",
       [](const city_sim_report& x) {
         return fmt(x.matched ? static_cast<double>(x.offers) / static_cast<double>(x.matched) : 0,
                    2);
       }},
  };
  return m;
}

std::string level_title(const quality_row& row) {
  return std::string(to_string(row.level)) + " (" + fmt(row.peak_requests_per_minute, 0) + "/min)";
}

std::string gain_text(const quality_row& row) {
  const double g = row.pickup_eta_gain_pct();
  return fmt(g < 0 ? -g : g) + (g >= 0 ? "% lower" : "% higher");
}

void print_text(const std::vector<quality_row>& rows) {
  std::printf("  %-24s", "");
  for (const quality_row& row : rows) std::printf(" %21s", level_title(row).c_str());
  std::printf("\n  %-24s", "");
  for (std::size_t i = 0; i < rows.size(); ++i) std::printf(" %10s %10s", "sequential", "batched");
  std::printf("\n");
  for (const metric& m : metrics()) {
    std::printf("  %-24s", m.label);
    for (const quality_row& row : rows)
      std::printf(" %10s %10s", m.cell(row.sequential).c_str(), m.cell(row.batched).c_str());
    std::printf("\n");
  }
  std::printf("\n  batched mean pickup ETA vs sequential:");
  for (const quality_row& row : rows)
    std::printf("  %s %s", std::string(to_string(row.level)).c_str(), gain_text(row).c_str());
  std::printf("\n");
}

// One line per demand level and mode, metrics across (fits a README page).
void print_markdown(const std::vector<quality_row>& rows) {
  std::printf("| demand | matching |");
  for (const metric& m : metrics()) std::printf(" %s |", m.label);
  std::printf(" batched vs sequential mean pickup ETA |\n|---|---|");
  for (std::size_t i = 0; i < metrics().size(); ++i) std::printf("---:|");
  std::printf("---|\n");
  for (const quality_row& row : rows) {
    for (const city_sim_report* rep : {&row.sequential, &row.batched}) {
      const bool batched = rep == &row.batched;
      std::printf("| %s | %s |", level_title(row).c_str(), batched ? "batched" : "sequential");
      for (const metric& m : metrics()) std::printf(" %s |", m.cell(*rep).c_str());
      std::printf(" %s |\n", batched ? gain_text(row).c_str() : "");
    }
  }
}

}  // namespace

int run_quality(int argc, char** argv) {
  CLI::App app{
      "Dispatch quality: the in-process city at low, normal and peak demand, "
      "sequential vs batched matching on the same seed.",
      "rideshard quality"};
  quality_options o;
  app.add_option("--config", o.config, "node config (its [quality] table gives the defaults)");
  std::vector<std::string> raw(argv + 1, argv + argc);
  // First pass for --config only, so the file's [quality] values become defaults.
  bool help = false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == "--config" && i + 1 < raw.size()) o.config = raw[i + 1];
    help = help || raw[i] == "-h" || raw[i] == "--help";
  }
  if (!help && !read_quality_table(o.config, o)) return 2;
  app.add_option("--region", o.region_name, "region name from the config")->capture_default_str();
  app.add_option("--drivers", o.sim.drivers, "simulated drivers")->capture_default_str();
  app.add_option("--minutes", o.minutes, "simulated minutes")->capture_default_str();
  app.add_option("--start-hour", o.sim.start_hour, "local hour at start (demand curve)")
      ->capture_default_str();
  app.add_option("--peak-rpm", o.sim.peak_requests_per_minute,
                 "requests/min at peak demand (low = 25%, normal = 50% of it)")
      ->capture_default_str();
  app.add_option("--accept", o.sim.accept_probability, "probability a driver accepts")
      ->capture_default_str();
  app.add_option("--seed", o.sim.seed, "random seed")->capture_default_str();
  app.add_flag("--markdown", o.markdown, "print the table as Markdown (for the README)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto regions = load_node_regions(o.config);
  if (!regions || regions->empty()) {
    std::fprintf(stderr, "rideshard quality: %s\n",
                 regions ? "no region in the config" : regions.err().message.c_str());
    return 2;
  }
  const region* r = &regions->front();
  for (const region& x : *regions)
    if (x.name == o.region_name) r = &x;
  if (!o.region_name.empty() && r->name != o.region_name) {
    std::fprintf(stderr, "rideshard quality: no region '%s'\n", o.region_name.c_str());
    return 2;
  }
  o.sim.duration_ms = static_cast<std::int64_t>(o.minutes) * 60'000;
  std::printf(
      "rideshard quality — %s, %zu drivers, %d simulated minutes from %02d:00, seed %llu;\n"
      "low/normal/peak = 25/50/100%% of %.0f requests/min; waits are means over matched "
      "requests\n\n",
      r->name.c_str(), o.sim.drivers, o.minutes, o.sim.start_hour,
      static_cast<unsigned long long>(o.sim.seed), o.sim.peak_requests_per_minute);
  std::fflush(stdout);
  std::vector<quality_row> rows;
  for (demand_level l : {demand_level::low, demand_level::normal, demand_level::peak}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto row = run_quality_row(*r, o.sim, l);
    if (!row) {
      std::fprintf(stderr, "rideshard quality: %s: %s\n",
                   std::string(to_string(row.code())).c_str(), row.err().message.c_str());
      return 1;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "rideshard quality: %s demand simulated in %.1f s (both modes)\n",
                 std::string(to_string(l)).c_str(), s);
    rows.push_back(*row);
  }
  if (o.markdown)
    print_markdown(rows);
  else
    print_text(rows);
  return 0;
}

}  // namespace rideshard::app
