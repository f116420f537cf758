// trip_board: correlates the rider's request time with the driver's offer.
#include "sim/trip_board.hpp"

namespace rideshard::sim {

void trip_board::record(const entry& e, sim_stats& stats) {
  if (!e.sent || !e.offered) return;
  const auto us = std::chrono::duration<double, std::micro>(*e.offered - *e.sent).count();
  stats.offer_latency_us(us < 0 ? 0 : us);
}

void trip_board::requested(trip_id t, time_point sent, sim_stats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  entry& e = trips_[t];
  if (e.sent) return;
  e.sent = sent;
  record(e, stats);
}

void trip_board::offered(trip_id t, time_point at, sim_stats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  entry& e = trips_[t];
  if (e.offered) return;
  e.offered = at;
  // Wall clock, not `at`: the log is compared with a kill time taken by a script.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  first_offers_.push_back({std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), t});
  record(e, stats);
}

void trip_board::set_pin(trip_id t, std::string pin) {
  std::lock_guard<std::mutex> lock(mu_);
  trips_[t].pin = std::move(pin);
}

std::optional<std::string> trip_board::pin(trip_id t) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = trips_.find(t);
  if (it == trips_.end() || it->second.pin.empty()) return std::nullopt;
  return it->second.pin;
}

void trip_board::erase(trip_id t) {
  std::lock_guard<std::mutex> lock(mu_);
  trips_.erase(t);
}

void trip_board::acknowledged(trip_id t, trip_state state, driver_id driver) {
  std::lock_guard<std::mutex> lock(mu_);
  acked_trip& a = acked_[t];
  a.trip = t;
  a.states |= static_cast<std::uint8_t>(1U << static_cast<unsigned>(state));
  if (driver.valid()) a.driver = driver;
}

std::vector<trip_board::acked_trip> trip_board::acknowledged() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<acked_trip> out;
  out.reserve(acked_.size());
  for (const auto& [id, a] : acked_) out.push_back(a);
  return out;
}

std::vector<trip_board::first_offer> trip_board::first_offers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_offers_;
}

}  // namespace rideshard::sim
