// region_matcher: the actor of one shard. Routes each message of its typed
// interface to the part that owns it — shard_index (drivers), shard_pricing
// (surge, quotes), the dispatcher (matcher_dispatch / matcher_batch) and the
// queries (matcher_queries) — and applies the shard's buffered positions
// before any handler that reads the drivers.
#include "node/region_matcher.hpp"

#include <algorithm>
#include <chrono>

#include "node/matcher_dispatch.hpp"
#include "node/matcher_queries.hpp"
#include "node/matcher_state.hpp"
#include "node/shard_search.hpp"

namespace rideshard::node {
namespace {

// Applies the buffered location messages of the shard, gives parked requests
// a go at newly available drivers, and lets fed drivers expire that the admin
// feed has not reported for idle_timeout (as an idle driver actor passivates).
void sync_positions(matcher_self self) {
  auto& st = self->state;
  if (st.drivers->flush(false)) retry_parked(self);
  st.drivers->expire_fed(st.ctx->now() - st.ctx->opts.idle_timeout.count());
}

// Without a request waiting for a driver, nothing needs a buffered position
// before the next read (which flushes first): the timed flush only bounds how
// stale the index (and the surge supply it feeds, 30 s buckets) may get.
constexpr std::chrono::milliseconds idle_location_flush{1000};

// Whether a request of this shard waits for a driver (parked, searching, or
// waiting for a batched window): a moving driver may be the one it needs.
bool waits_for_driver(const matcher_state& st) {
  for (const auto& kv : st.book.pending)
    if (!kv.second.offered.valid()) return true;
  return false;
}

// A driver actor's position (or withdrawal of it by a later driver_unavail):
// buffered, applied in one batch by the timed flush or before the next read.
// A driver newly available here kicks a flush at once (parked requests).
void buffer_position(matcher_self self, const driver_avail& a) {
  auto& st = self->state;
  auto ds = st.drivers->deposit(a);
  if (ds.kick) self->send(self, positions_flush{false});
  // The due time is taken before CAF's (same steady clock), so the timer's
  // flush always finds its own due time passed.
  const auto delay = st.flushes->on_deposit(flush_schedule::clock::now(), waits_for_driver(st));
  if (!delay) return;
  if (delay->count() <= 0)
    self->send(self, positions_flush{true});
  else
    self->delayed_send(self, *delay, positions_flush{true});
}

// A handler of `Msg` that reads the drivers: runs after sync_positions, so no
// decision sees a position older than an acknowledged location frame.
template <class Msg, class F>
auto fresh(matcher_self self, F f) {
  return [self, f](Msg& m) {
    sync_positions(self);
    return f(m);
  };
}

matcher_handle::behavior_type region_matcher(matcher_self self, context_ptr ctx,
                                             std::size_t region_index, cell_id cell,
                                             bool surge_frozen) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.reg = &st.ctx->regions.at(region_index);
  st.key = shard_key{region_index, cell};
  st.pricing.emplace(*st.ctx, *st.reg);
  st.pricing->freeze(surge_frozen);
  // Only positions of this shard reach us (the directory routes by cell): size
  // the indices to the cell, with a margin for rounding at its edges.
  st.drivers.emplace(cell_bounds(cell, st.reg->bounds, 1e-3), st.ctx->opts.location_buffer_max,
                     *st.pricing);
  const auto soon = st.ctx->opts.location_flush;  // <= 0: flush right away, always
  st.flushes.emplace(soon, soon.count() <= 0 ? soon : std::max(soon, idle_location_flush));
  return {
      // ---- drivers
      [=](driver_avail& a) { buffer_position(self, a); },
      fresh<driver_unavail>(self,
                            [=](driver_unavail& u) { self->state.drivers->remove(u.driver); }),
      [=](positions_flush& f) {
        if (f.timed) self->state.flushes->on_timed_flush(flush_schedule::clock::now());
        if (self->state.drivers->flush(f.timed)) retry_parked(self);
        sync_pending(self);
      },
      // ---- dispatch
      fresh<dispatch_request>(self, [=](dispatch_request& r) { on_dispatch(self, r); }),
      fresh<redispatch_request>(self, [=](redispatch_request& r) { on_redispatch(self, r); }),
      // A re-announced driver's newer position wins over the put-back.
      fresh<offer_closed>(self, [=](offer_closed& c) { on_offer_closed(self, c); }),
      [=](trip_finished& f) { on_trip_finished(self, f); },
      fresh<parked_retry>(self, [=](parked_retry&) { on_parked_retry(self); }),
      // After sync_positions: a driver newly available wins over giving up.
      fresh<no_driver_check>(self, [=](no_driver_check&) { on_no_driver_check(self); }),
      fresh<batch_window>(self, [=](batch_window&) { on_batch_window(self); }),
      // ---- queries
      fresh<quote_ask>(self, [=](quote_ask& q) { on_quote(self, q); }),
      fresh<nearby_query>(self, [=](nearby_query& q) { return on_nearby(self, q); }),
      fresh<nearby_part>(self, [=](nearby_part& p) { return on_nearby_part(self, p); }),
      fresh<fleet_upsert>(self,
                          [=](fleet_upsert& u) {
                            auto& s = self->state;
                            return s.drivers->feed(u, s.ctx->now(), s.ctx->stats);
                          }),
      // ---- neighbour matchers
      fresh<shard_probe>(self, [=](shard_probe& p) { return self->state.drivers->probe(p); }),
      // A buffered withdrawal must win over the reservation (fresh).
      fresh<reserve_driver>(
          self, [=](reserve_driver& r) { return self->state.drivers->reserve(r.driver); }),
      fresh<release_driver>(self,
                            [=](release_driver& r) {  // a borrowed driver's offer closed
                              self->state.drivers->put_back(r.driver, r.pos);
                              retry_parked(self);
                            }),
      [=](shard_added& a) { self->state.shards[a.key] = std::move(a.matcher); },
      // ---- admin switches
      [=](surge_freeze& f) { self->state.pricing->freeze(f.frozen); },
  };
}

}  // namespace

matcher_handle spawn_region_matcher(caf::actor_system& sys, context_ptr ctx,
                                    std::size_t region_index, cell_id cell, bool surge_frozen) {
  return sys.spawn(region_matcher, std::move(ctx), region_index, cell, surge_frozen);
}

}  // namespace rideshard::node
