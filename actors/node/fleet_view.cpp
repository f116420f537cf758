// fleet_view: the console's picture of the fleet (see fleet_view.hpp).
#include "node/fleet_view.hpp"

namespace rideshard::node {

void fleet_view::driver(driver_id id, lat_lng pos, driver_look look, std::int64_t now_ms) {
  auto& s = drivers_[id.value % stripes];
  std::lock_guard<std::mutex> lock(s.mu);
  s.map[id.value] = fleet_driver{id, pos, look, now_ms};
}

void fleet_view::driver_gone(driver_id id) {
  auto& s = drivers_[id.value % stripes];
  std::lock_guard<std::mutex> lock(s.mu);
  s.map.erase(id.value);
}

void fleet_view::trip(const rideshard::trip& t) {
  auto& s = trips_[t.id.value % stripes];
  std::lock_guard<std::mutex> lock(s.mu);
  if (is_terminal(t.state)) {
    s.map.erase(t.id.value);
    return;
  }
  s.map[t.id.value] =
      fleet_trip{t.id, t.rider, t.driver, t.state, t.pickup, t.dropoff, t.requested_at_ms};
}

void fleet_view::trip_gone(trip_id id) {
  auto& s = trips_[id.value % stripes];
  std::lock_guard<std::mutex> lock(s.mu);
  s.map.erase(id.value);
}

void fleet_view::surge(cell_id cell, std::int32_t permille, std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock(surge_mu_);
  if (permille == 1000) {
    surge_.erase(cell.value);
    return;
  }
  surge_[cell.value] = fleet_surge{cell, permille, now_ms};
}

fleet_snapshot fleet_view::snapshot() const {
  fleet_snapshot out;
  for (const auto& s : drivers_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [id, d] : s.map) out.drivers.push_back(d);
  }
  for (const auto& s : trips_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [id, t] : s.map) out.trips.push_back(t);
  }
  std::lock_guard<std::mutex> lock(surge_mu_);
  for (const auto& [cell, c] : surge_) out.surge.push_back(c);
  return out;
}

}  // namespace rideshard::node
