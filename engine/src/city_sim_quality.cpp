// The dispatch-quality table behind `rideshard quality`: the seeded city at low,
// normal and peak demand, each run with sequential offers and batched assignment.
#include "rideshard/engine/city_sim.hpp"

namespace rideshard {

std::string_view to_string(demand_level l) noexcept {
  switch (l) {
    case demand_level::low:
      return "low";
    case demand_level::normal:
      return "normal";
    case demand_level::peak:
      return "peak";
  }
  return "peak";
}

double demand_share(demand_level l) noexcept {
  switch (l) {
    case demand_level::low:
      return 0.25;
    case demand_level::normal:
      return 0.5;
    case demand_level::peak:
      return 1.0;
  }
  return 1.0;
}

city_sim_config at_demand(city_sim_config cfg, demand_level l) noexcept {
  cfg.peak_requests_per_minute *= demand_share(l);
  return cfg;
}

double quality_row::pickup_eta_gain_pct() const noexcept {
  if (!(sequential.mean_pickup_eta_s > 0)) return 0.0;
  return 100.0 * (1.0 - batched.mean_pickup_eta_s / sequential.mean_pickup_eta_s);
}

result<quality_row> run_quality_row(const region& r, const city_sim_config& cfg, demand_level l) {
  quality_row row;
  row.level = l;
  city_sim_config c = at_demand(cfg, l);
  row.peak_requests_per_minute = c.peak_requests_per_minute;
  c.mode = matching_mode::sequential;
  auto seq = run_city_sim(r, c);
  if (!seq) return seq.err();
  c.mode = matching_mode::batched;
  auto bat = run_city_sim(r, c);
  if (!bat) return bat.err();
  row.sequential = *seq;
  row.batched = *bat;
  return row;
}

result<std::vector<quality_row>> run_quality_table(const region& r, const city_sim_config& cfg) {
  std::vector<quality_row> rows;
  for (demand_level l : {demand_level::low, demand_level::normal, demand_level::peak}) {
    auto row = run_quality_row(r, cfg, l);
    if (!row) return row.err();
    rows.push_back(*row);
  }
  return rows;
}

}  // namespace rideshard
