// shard_pricing: surge supply and demand of one shard and the quotes priced
// with it; the arithmetic is the engine's (surge_engine, estimate_ride).
#include "node/shard_pricing.hpp"

#include <algorithm>

#include "rideshard/engine/ride_estimate.hpp"

namespace rideshard::node {

shard_pricing::shard_pricing(node_context& ctx, const region& reg)
    : ctx_(ctx),
      reg_(reg),
      surge_(surge_engine::create(reg.surge).value()),
      eta_(straight_line_eta::create(reg.eta).value()) {}

void shard_pricing::supply_changed(driver_id d, std::optional<lat_lng> pos) {
  const auto now = ctx_.now();
  if (auto it = driver_cell_.find(d); it != driver_cell_.end()) {
    auto& n = supply_[it->second];
    n = std::max<std::int64_t>(0, n - 1);
    (void)surge_.record_supply(cell_id{it->second}, n, now);
    driver_cell_.erase(it);
  }
  if (!pos) return;
  if (auto cell = surge_.cell_for(*pos)) {
    auto& n = supply_[cell->value];
    ++n;
    driver_cell_[d] = cell->value;
    (void)surge_.record_supply(*cell, n, now);
  }
}

std::optional<std::int32_t> shard_pricing::multiplier(cell_id cell) {
  auto m = surge_.multiplier_permille(cell, ctx_.now());  // advances the cell even when frozen
  if (!m) return std::nullopt;
  std::int32_t shown = *m;
  if (frozen_) {
    auto it = frozen_->find(cell.value);
    shown = it == frozen_->end() ? no_surge_permille : it->second;
  }
  events_.surge_seen(ctx_, surge_, cell, shown);
  return shown;
}

void shard_pricing::freeze(bool frozen) {
  if (!frozen) return frozen_.reset();
  if (frozen_) return;
  frozen_.emplace();
  if (auto cells = surge_.snapshot(ctx_.now()))
    for (const auto& c : *cells) (*frozen_)[c.cell.value] = c.multiplier_permille;
}

std::int32_t shard_pricing::request_surge(lat_lng pickup) {
  auto cell = surge_.cell_for(pickup);
  if (!cell) return no_surge_permille;
  (void)surge_.record_request(*cell, ctx_.now());
  return multiplier(*cell).value_or(no_surge_permille);
}

schemas::quote shard_pricing::quote(lat_lng pickup, lat_lng dropoff,
                                    std::optional<lat_lng> nearest) {
  std::int32_t surge = no_surge_permille;
  if (auto cell = surge_.cell_for(pickup)) surge = multiplier(*cell).value_or(surge);
  auto e = estimate_ride(reg_.fare, eta_, pickup, dropoff, surge);
  schemas::quote q;
  q.id = quote_id{ctx_.next_id()};
  q.currency = reg_.fare.currency;
  q.surge_per_mille = static_cast<std::uint32_t>(surge);
  q.distance_m = e.distance_m;
  q.duration_s = e.duration_s;
  q.expires_at_ms = ctx_.now() + quote_validity_ms;
  if (const auto& f = e.fare)
    q.fare = {f->base_minor,  f->distance_minor,    f->time_minor + f->minimum_adjustment_minor,
              f->surge_minor, f->booking_fee_minor, f->total_minor};
  if (nearest) q.pickup_eta_s = pickup_eta_s(*nearest, pickup);
  return q;
}

void shard_pricing::quote_sent(const schemas::quote& q, rider_id rider, lat_lng pickup,
                               lat_lng dropoff) {
  if (!ctx_.journal) return;
  if (auto cell = surge_.cell_for(pickup)) events_.quote(ctx_, q, rider, pickup, dropoff, *cell);
}

std::uint32_t shard_pricing::pickup_eta_s(lat_lng from, lat_lng pickup) const {
  return eta_seconds(eta_, from, pickup);
}

}  // namespace rideshard::node
