// analytics_events: driver location samples, quotes and surge changes for the
// outbox (fire-and-forget through the journal).
#include "node/analytics_events.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "node/journal.hpp"
#include "node/log_sink.hpp"
#include "node/shard_directory.hpp"

namespace rideshard::node {
namespace {

// Hands one encoded event to the journal; an encoding error is logged and
// counted (the event is skipped, nothing else is affected).
template <class Add>
void publish(const node_context& ctx, const char* what, Add add) {
  auto b = std::make_shared<persistence::write_batch>();
  if (auto ok = add(*b); !ok) {
    logger().warn("event=analytics_event_unencodable kind={} code={} msg=\"{}\"", what,
                  to_string(ok.err().code), ok.err().message);
    return;
  }
  caf::anon_send(ctx.journal, event_atom::value, std::move(b));
}

std::uint32_t clamp_u32(std::int64_t v) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(v, 0, 0xffffffffLL));
}

}  // namespace

std::uint64_t next_event_sequence(std::uint64_t prev, std::int64_t now_ms) {
  const auto floor = now_ms > 0 ? static_cast<std::uint64_t>(now_ms) * 1000 : 0;
  return std::max(prev + 1, floor);
}

bool location_sampler::offer(const node_context& ctx, driver_id driver,
                             const schemas::location_sample& s, bool available) {
  const auto every = ctx.opts.location_sample_ms;
  if (!ctx.journal || every <= 0) return false;
  const auto now = ctx.now();
  if (any_ && now - last_ms_ < every) return false;
  any_ = true;
  last_ms_ = now;
  sequence_ = next_event_sequence(sequence_, now);
  schemas::driver_location_event ev;
  ev.event_id = to_string(driver) + "-" + std::to_string(sequence_);
  ev.occurred_at_ms = s.timestamp_ms;
  ev.driver = driver;
  ev.position = s.pos;
  ev.heading_deg = s.heading_deg;
  ev.speed_mps = s.speed_mps;
  if (auto shard = shard_of(ctx.regions, s.pos)) ev.cell = shard->cell.value;
  ev.available = available;
  ev.sequence = sequence_;
  publish(ctx, "driver_location",
          [&](persistence::write_batch& b) { return b.add_driver_location_event(ev); });
  return true;
}

void matcher_events::quote(const node_context& ctx, const schemas::quote& q, rider_id rider,
                           lat_lng pickup, lat_lng dropoff, cell_id cell) {
  if (!ctx.journal) return;
  const auto now = ctx.now();
  auto& seq = quote_sequence_[cell.value];
  seq = next_event_sequence(seq, now);
  schemas::quote_event ev;
  ev.event_id = to_string(q.id);
  ev.occurred_at_ms = now;
  ev.quote = q.id;
  ev.rider = rider;
  ev.pickup = pickup;
  ev.dropoff = dropoff;
  ev.total_minor = q.fare.total_minor;
  ev.currency = q.currency;
  ev.surge_per_mille = q.surge_per_mille;
  ev.pickup_eta_s = q.pickup_eta_s;
  ev.cell = cell.value;
  ev.sequence = seq;
  publish(ctx, "quote", [&](persistence::write_batch& b) { return b.add_quote_event(ev); });
}

void matcher_events::surge_seen(const node_context& ctx, surge_engine& engine, cell_id cell,
                                std::int32_t multiplier) {
  ctx.fleet->surge(cell, multiplier, ctx.now());  // the console's heat map
  if (!ctx.journal) return;
  auto it = surge_.find(cell.value);
  if (it == surge_.end()) {
    if (multiplier == 1000) return;  // unchanged from the implicit 1.0x
    it = surge_.emplace(cell.value, surge_cell{}).first;
  }
  auto& c = it->second;
  if (c.published == multiplier) return;
  const auto now = ctx.now();
  c.published = multiplier;
  c.sequence = next_event_sequence(c.sequence, now);
  schemas::surge_event ev;
  ev.event_id = schemas::cell_key(cell.value) + "-" + std::to_string(c.sequence);
  ev.occurred_at_ms = now;
  ev.cell = cell.value;
  ev.surge_per_mille = clamp_u32(multiplier);
  ev.window_ms = clamp_u32(engine.config().window_ms);
  // Demand and supply of the cell as the engine sees them (a changed
  // multiplier happens at most once per bucket per cell: the scan is rare).
  if (auto snap = engine.snapshot(now)) {
    for (const auto& cs : *snap) {
      if (cs.cell != cell) continue;
      ev.open_requests = clamp_u32(cs.requests_in_window);
      ev.available_drivers = clamp_u32(cs.available_drivers);
      break;
    }
  }
  ev.sequence = c.sequence;
  publish(ctx, "surge", [&](persistence::write_batch& b) { return b.add_surge_event(ev); });
}

}  // namespace rideshard::node
