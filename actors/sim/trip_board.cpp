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

}  // namespace rideshard::sim
