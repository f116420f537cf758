// region_matcher: sequential dispatch per request, or batched windows solved
// with batch_assign (one driver at a time either way, offer timeouts as delayed
// messages), quotes with surge, nearby queries and the admin fleet feed.
#include "node/region_matcher.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "node/fleet_feed.hpp"
#include "node/fleet_index.hpp"
#include "node/shard_router.hpp"
#include "rideshard/engine/fare.hpp"
#include "rideshard/engine/matching.hpp"
#include "rideshard/engine/surge.hpp"

namespace rideshard::node {
namespace {

struct pending_request {
  std::optional<sequential_dispatch> dispatch;
  caf::actor trip_actor;
  lat_lng pickup;
  driver_id offered;    ///< driver holding the open offer, if any
  lat_lng offered_pos;  ///< its indexed position, to put it back
  std::uint32_t attempt = 0;
  std::int32_t surge = no_surge_permille;
  bool parked = false;                     ///< no driver found; retried when supply changes
  std::int64_t requested_at_ms = 0;        ///< batched mode: waiting time counts
  std::unordered_set<driver_id> excluded;  ///< declined or timed out: never again
};

struct matcher_state {
  context_ptr ctx;
  const region* reg = nullptr;
  std::optional<spatial_index> index;
  std::optional<surge_engine> surge;
  std::optional<straight_line_eta> eta;
  std::optional<fleet_index> fleet;  ///< fed drivers: nearby only, never dispatched
  std::vector<neighbor> hits;        ///< scratch for nearby queries
  std::unordered_map<driver_id, caf::actor> driver_actors;
  std::unordered_map<std::uint64_t, std::int64_t> supply;  ///< surge cell -> drivers
  std::unordered_map<driver_id, std::uint64_t> driver_cell;
  std::unordered_map<trip_id, pending_request> pending;
  std::unordered_map<driver_id, lat_lng> on_offer;  ///< removed for an offer: where to put back
  std::size_t reported_pending = 0;                 ///< pending.size() last added to the gauge
  bool window_armed = false;                        ///< batched mode: a window_atom is due
  static inline const char* name = "region_matcher";
};
using matcher_actor = caf::stateful_actor<matcher_state>;

// Keeps the node-wide matcher_pending gauge in step with this matcher's map.
void sync_pending(matcher_actor* self) {
  auto& st = self->state;
  const auto now = st.pending.size();
  st.ctx->stats.pending_requests(static_cast<std::int64_t>(now) -
                                 static_cast<std::int64_t>(st.reported_pending));
  st.reported_pending = now;
}

void count_supply(matcher_actor* self, driver_id d, std::optional<lat_lng> pos) {
  auto& st = self->state;
  auto now = st.ctx->now();
  if (auto it = st.driver_cell.find(d); it != st.driver_cell.end()) {
    auto& n = st.supply[it->second];
    n = std::max<std::int64_t>(0, n - 1);
    (void)st.surge->record_supply(cell_id{it->second}, n, now);
    st.driver_cell.erase(it);
  }
  if (!pos) return;
  if (auto cell = st.surge->cell_for(*pos)) {
    auto& n = st.supply[cell->value];
    ++n;
    st.driver_cell[d] = cell->value;
    (void)st.surge->record_supply(*cell, n, now);
  }
}

void remove_driver(matcher_actor* self, driver_id d) {
  auto& st = self->state;
  if (st.index->contains(d)) (void)st.index->remove(d);
  count_supply(self, d, std::nullopt);
}

void restart_dispatch(pending_request& p, trip_id trip, const region& reg) {
  auto cfg = reg.sequential;
  auto d = sequential_dispatch::create(trip, p.pickup, cfg);
  if (!d) return;
  for (auto ex : p.excluded) d->exclude(ex);
  p.dispatch.emplace(std::move(*d));
}

bool batched(const matcher_actor* self) { return self->state.reg->mode == dispatch_mode::batched; }

// Batched mode: solve the waiting requests after batch_window_ms (once per window).
void arm_window(matcher_actor* self) {
  auto& st = self->state;
  if (st.window_armed) return;
  st.window_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(st.reg->batch_window_ms), window_atom::value);
}

// Sends the offer of `trip` to driver `d` (indexed, with an actor) and starts its timeout.
void send_offer(matcher_actor* self, pending_request& p, trip_id trip, driver_id d,
                const caf::actor& driver_actor, double eta_s) {
  auto& st = self->state;
  p.parked = false;
  p.offered = d;
  p.offered_pos = st.index->position(d).value_or(p.pickup);
  ++p.attempt;
  remove_driver(self, d);  // one offer per driver at a time
  st.on_offer[d] = p.offered_pos;
  offer_to msg{d, driver_actor, static_cast<std::uint32_t>(std::lround(eta_s)), p.attempt, p.surge};
  self->send(p.trip_actor, offer_atom::value, std::move(msg));
  self->delayed_send(self, st.ctx->offer_timeout(*st.reg), timeout_atom::value, trip, p.attempt);
}

// Offers `trip` to the next sequential candidate, or parks it when none is left.
void sequential_offer(matcher_actor* self, trip_id trip) {
  auto& st = self->state;
  auto it = st.pending.find(trip);
  if (it == st.pending.end() || it->second.offered.valid()) return;
  auto& p = it->second;
  if (p.parked || !p.dispatch || p.dispatch->state() == sequential_dispatch::phase::exhausted)
    restart_dispatch(p, trip, *st.reg);
  if (!p.dispatch) return;
  for (;;) {
    auto o = p.dispatch->next_offer(*st.index, *st.eta, st.ctx->now());
    if (!o) {
      p.parked = true;
      return;
    }
    auto da = st.driver_actors.find(o->driver);
    if (da == st.driver_actors.end()) {  // indexed without an actor: drop and go on
      remove_driver(self, o->driver);
      (void)p.dispatch->decline(o->driver);
      continue;
    }
    return send_offer(self, p, trip, o->driver, da->second, o->eta_s);
  }
}

// Sequential mode: the next offer now; batched mode: wait for the next window.
void try_offer(matcher_actor* self, trip_id trip) {
  if (batched(self)) return arm_window(self);
  sequential_offer(self, trip);
}

// Batched mode: assigns every waiting request (no open offer) at once with
// batch_assign and offers each match; the rest wait for the next window.
void solve_window(matcher_actor* self) {
  auto& st = self->state;
  const auto now = st.ctx->now();
  std::vector<batch_request> reqs;
  for (auto& [trip, p] : st.pending)
    if (!p.offered.valid())
      reqs.push_back(
          {trip, p.pickup, std::clamp<std::int64_t>(now - p.requested_at_ms, 0, 3'600'000)});
  if (reqs.empty()) return;
  // Oldest first (ids grow with time), so the cap keeps the longest waiting.
  std::sort(reqs.begin(), reqs.end(),
            [](const batch_request& a, const batch_request& b) { return a.trip < b.trip; });
  if (reqs.size() > st.reg->batch.max_requests) reqs.resize(st.reg->batch.max_requests);
  auto solved = batch_assign(reqs, *st.index, *st.eta, st.reg->batch);
  if (!solved) return;
  std::vector<trip_id> fallback;
  for (const auto& m : solved->matches) {
    auto& p = st.pending.at(m.trip);
    auto da = st.driver_actors.find(m.driver);
    // batch_assign knows no per-request exclusions: a driver this request
    // already declined or timed out on is not asked again; the request takes
    // the best other driver left (sequential ranking) after the matches.
    if (da == st.driver_actors.end() || p.excluded.count(m.driver) != 0) {
      fallback.push_back(m.trip);
      continue;
    }
    send_offer(self, p, m.trip, m.driver, da->second, m.eta_s);
  }
  for (auto t : fallback) sequential_offer(self, t);
}

void retry_parked(matcher_actor* self) {
  if (batched(self)) {
    for (auto& kv : self->state.pending)
      if (!kv.second.offered.valid()) return arm_window(self);
    return;
  }
  std::vector<trip_id> parked;
  for (auto& kv : self->state.pending)
    if (kv.second.parked) parked.push_back(kv.first);
  std::sort(parked.begin(), parked.end());  // oldest ids (requests) first
  for (auto t : parked) try_offer(self, t);
}

schemas::quote make_quote(matcher_actor* self, lat_lng pickup, lat_lng dropoff) {
  auto& st = self->state;
  auto now = st.ctx->now();
  std::int32_t surge = no_surge_permille;
  if (auto cell = st.surge->cell_for(pickup))
    if (auto m = st.surge->multiplier_permille(*cell, now)) surge = *m;
  auto dist = distance_m(pickup, dropoff) * st.reg->eta.detour_factor;
  auto dur = st.eta->estimate_s(pickup, dropoff);
  schemas::quote q;
  q.id = quote_id{st.ctx->next_id()};
  q.currency = st.reg->fare.currency;
  q.surge_per_mille = static_cast<std::uint32_t>(surge);
  q.distance_m = static_cast<std::uint32_t>(std::lround(dist));
  q.duration_s = static_cast<std::uint32_t>(std::lround(dur));
  q.expires_at_ms = now + 5 * 60 * 1000;
  if (auto f = compute_fare(st.reg->fare, q.distance_m, q.duration_s, surge)) {
    q.fare = {f->base_minor,  f->distance_minor,    f->time_minor + f->minimum_adjustment_minor,
              f->surge_minor, f->booking_fee_minor, f->total_minor};
  }
  auto near = st.index->nearest(pickup, st.reg->sequential.max_radius_m, 1);
  if (near && !near->empty())
    q.pickup_eta_s =
        static_cast<std::uint32_t>(std::lround(st.eta->estimate_s(near->front().pos, pickup)));
  return q;
}

caf::behavior region_matcher(matcher_actor* self, context_ptr ctx, std::size_t region_index,
                             cell_id) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.reg = &st.ctx->regions.at(region_index);
  spatial_index_config icfg;
  icfg.bounds = st.reg->bounds;
  st.index.emplace(spatial_index::create(icfg).value());
  st.surge.emplace(surge_engine::create(st.reg->surge).value());
  st.eta.emplace(straight_line_eta::create(st.reg->eta).value());
  st.fleet.emplace(st.reg->bounds);
  return {
      [=](avail_atom, driver_avail& a) {
        auto& s = self->state;
        if (!s.index->upsert(a.driver, a.pos)) return;
        s.driver_actors[a.driver] = a.actor;
        s.fleet->forget(a.driver);  // its app owns it now
        count_supply(self, a.driver, a.pos);
        retry_parked(self);
      },
      [=](unavail_atom, driver_id d) { remove_driver(self, d); },
      [=](window_atom) {
        self->state.window_armed = false;
        solve_window(self);
        sync_pending(self);
      },
      [=](dispatch_atom, dispatch_request& r) {
        auto& s = self->state;
        pending_request p;
        if (auto cell = s.surge->cell_for(r.pickup)) {
          (void)s.surge->record_request(*cell, s.ctx->now());
          if (auto m = s.surge->multiplier_permille(*cell, s.ctx->now())) p.surge = *m;
        }
        p.trip_actor = r.trip_actor;
        p.pickup = r.pickup;
        p.requested_at_ms = s.ctx->now();
        s.pending[r.trip] = std::move(p);
        try_offer(self, r.trip);
        sync_pending(self);
      },
      [=](timeout_atom, trip_id t, std::uint32_t attempt) {
        auto& s = self->state;
        auto it = s.pending.find(t);
        if (it == s.pending.end() || it->second.attempt != attempt || !it->second.offered.valid())
          return;
        self->send(it->second.trip_actor, timeout_atom::value, it->second.offered);
      },
      [=](closed_atom, offer_closed& c) {
        auto& s = self->state;
        auto it = s.pending.find(c.trip);
        lat_lng back_pos{};
        bool have_pos = false;
        if (auto o = s.on_offer.find(c.driver); o != s.on_offer.end()) {
          back_pos = o->second;
          have_pos = true;
          s.on_offer.erase(o);
        }
        if (it != s.pending.end() && it->second.offered == c.driver) {
          it->second.offered = {};
          if (c.accepted) {
            s.pending.erase(it);
          } else {
            it->second.excluded.insert(c.driver);
            if (it->second.dispatch) (void)it->second.dispatch->decline(c.driver);
          }
        }
        // Decline / timeout: the driver is available again.
        if (!c.accepted && c.driver_free && have_pos && s.driver_actors.count(c.driver)) {
          if (s.index->upsert(c.driver, back_pos)) count_supply(self, c.driver, back_pos);
        }
        if (!c.accepted) {
          if (it != s.pending.end()) try_offer(self, c.trip);
          retry_parked(self);
        }
        sync_pending(self);
      },
      [=](closed_atom, trip_id t) {
        self->state.pending.erase(t);
        sync_pending(self);
      },
      [=](dispatch_atom, trip_id t, caf::actor trip_actor, lat_lng pickup,
          std::vector<driver_id> excluded) {  // re-dispatch after a driver backed out
        auto& s = self->state;
        pending_request p;
        p.trip_actor = std::move(trip_actor);
        p.pickup = pickup;
        p.requested_at_ms = s.ctx->now();
        p.excluded.insert(excluded.begin(), excluded.end());
        s.pending[t] = std::move(p);
        try_offer(self, t);
        sync_pending(self);
      },
      [=](quote_atom, quote_ask& q) {
        quote_answer a{make_quote(self, q.req.pickup, q.req.dropoff), q.req.pickup, q.req.dropoff,
                       q.reply};
        self->send(q.rider_actor, quote_atom::value, std::move(a));
      },
      [=](nearby_atom, nearby_query& q) -> nearby_answer {
        auto& s = self->state;
        nearby_answer a;
        if (auto ok = s.fleet->nearest(*s.index, q.center, q.radius_m, q.k, a.hits); !ok)
          return nearby_answer{{}, ok.code()};
        return a;
      },
      [=](fleet_atom, fleet_upsert& u) {
        auto& s = self->state;
        for (auto d : u.forget) s.fleet->forget(d);  // moved to another shard
        auto live = [&s](driver_id d) { return s.driver_actors.count(d) != 0; };
        u.job->part_done(s.fleet->apply(u.samples, live, *u.job));
      },
      [=](nearby_batch_atom, nearby_part& p) {
        auto& s = self->state;
        auto& results = p.job->results();
        for (std::size_t i = 0; i < p.queries.size(); ++i) {
          const auto& q = p.queries[i];
          auto& r = results[p.slots[i]];
          if (auto ok = s.fleet->nearest(*s.index, q.center, q.radius_m, q.k, s.hits); !ok) {
            r.code = ok.code();
            continue;
          }
          r.drivers.reserve(s.hits.size());
          r.distances_m.reserve(s.hits.size());
          for (const auto& h : s.hits) {
            r.drivers.push_back(h.id);
            r.distances_m.push_back(static_cast<float>(h.distance_m));
          }
        }
        p.job->part_done();
      },
  };
}

}  // namespace

caf::actor spawn_region_matcher(caf::actor_system& sys, context_ptr ctx, std::size_t region_index,
                                cell_id cell) {
  return sys.spawn(region_matcher, std::move(ctx), region_index, cell);
}

}  // namespace rideshard::node
