// region_matcher: sequential dispatch per request, or batched windows solved
// with batch_assign (one driver at a time either way, offer timeouts as delayed
// messages), quotes with surge, nearby queries and the admin fleet feed.
// Candidate search crosses shard edges: neighbour matchers are probed (async,
// with a timeout) and a remote driver is reserved through its owning matcher.
#include "node/region_matcher.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "node/analytics_events.hpp"
#include "node/fleet_feed.hpp"
#include "node/fleet_index.hpp"
#include "node/position_buffer.hpp"
#include "node/shard_router.hpp"
#include "node/shard_search.hpp"
#include "rideshard/engine/fare.hpp"
#include "rideshard/engine/matching.hpp"
#include "rideshard/engine/surge.hpp"

namespace rideshard::node {
namespace {

struct pending_request {
  std::optional<sequential_dispatch> dispatch;
  trip_handle trip_actor;
  lat_lng pickup;
  driver_id offered;    ///< driver holding the open offer, if any
  lat_lng offered_pos;  ///< its indexed position, to put it back
  std::uint32_t attempt = 0;
  std::int32_t surge = no_surge_permille;
  bool parked = false;                     ///< no driver found; retried when supply changes
  std::int64_t requested_at_ms = 0;        ///< batched mode: waiting time counts
  std::unordered_set<driver_id> excluded;  ///< declined or timed out: never again
  bool searching = false;                  ///< probing neighbour shards for candidates
  bool reserving = false;                  ///< `offered` is a remote driver being reserved
  std::uint64_t ticket = 0;                ///< the search / reservation in flight
};

/// A driver out of the index for an open offer: where to put it back, and its
/// owning matcher when it belongs to another shard (invalid: ours).
struct held_driver {
  lat_lng pos;
  caf::actor owner;
};

struct matcher_state {
  context_ptr ctx;
  const region* reg = nullptr;
  std::optional<spatial_index> index;
  std::optional<surge_engine> surge;
  matcher_events events;  ///< quote and surge events for the outbox (durable node)
  std::optional<straight_line_eta> eta;
  std::optional<fleet_index> fleet;  ///< fed drivers: nearby only, never dispatched
  std::vector<neighbor> hits;        ///< scratch for nearby queries
  std::unordered_map<driver_id, caf::actor> driver_actors;
  std::unordered_map<std::uint64_t, std::int64_t> supply;  ///< surge cell -> drivers
  std::unordered_map<driver_id, std::uint64_t> driver_cell;
  std::unordered_map<trip_id, pending_request> pending;
  std::unordered_map<driver_id, held_driver> on_offer;  ///< removed for an offer
  std::size_t reported_pending = 0;                     ///< pending.size() last added to the gauge
  bool window_armed = false;                            ///< batched mode: a window_atom is due
  bool window_searching = false;  ///< batched mode: a window waits for neighbour probes
  bool window_rearm = false;      ///< a window was asked for during that wait
  bool retry_armed = false;       ///< a retry_atom is due (parked requests near an edge)
  shard_key key;                  ///< our shard
  std::uint64_t next_ticket = 0;
  /// Cross-shard searches: local + remote candidates of one decision; emptied after.
  std::optional<spatial_index> scratch;
  std::vector<driver_id> scratch_ids;
  std::unordered_map<driver_id, caf::actor> scratch_owner;  ///< remote candidates only
  /// Location batching: the shard's buffer (drivers deposit, we drain) and scratch.
  std::shared_ptr<position_buffer> positions;
  std::vector<position_update> drained;
  std::vector<driver_position> batch;
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

// Puts a driver back into our index after a declined / timed-out offer, unless
// it re-announced itself meanwhile (its newer position wins).
void put_back(matcher_actor* self, driver_id d, lat_lng pos) {
  auto& st = self->state;
  if (!st.driver_actors.count(d) || st.index->contains(d)) return;
  if (st.index->upsert(d, pos)) count_supply(self, d, pos);
}

// ---- location batching ---------------------------------------------------------

void retry_parked(matcher_actor* self);

// A driver is (still) available at pos with its actor: as the avail message did.
void took_position(matcher_actor* self, driver_id d, lat_lng pos, const caf::actor& actor) {
  auto& s = self->state;
  s.driver_actors[d] = actor;
  s.fleet->forget(d);  // its app owns it now
  count_supply(self, d, pos);
}

// Applies the shard's buffered location updates: withdrawals remove, positions
// go into the index in ONE upsert_batch (last write per driver already won in
// the buffer). Returns whether any driver is available after it.
bool flush_positions(matcher_actor* self, bool timed) {
  auto& st = self->state;
  if (!st.positions || (!timed && st.positions->empty())) return false;
  st.positions->drain(st.drained, timed);
  if (st.drained.empty()) return false;
  st.batch.clear();
  const auto& bounds = st.index->config().bounds;
  for (auto& u : st.drained) {
    if (!u.actor) {
      remove_driver(self, u.driver);
    } else if (u.driver.valid() && validate(u.pos) && bounds.contains(u.pos)) {
      st.batch.push_back(driver_position{u.driver, u.pos});
    } else {
      u.actor = nullptr;  // rejected, as a single upsert would be
    }
  }
  bool added = false;
  if (!st.batch.empty()) {
    if (!st.index->upsert_batch(st.batch)) {  // unexpected: fall back to single upserts
      for (auto& u : st.drained)
        if (u.actor && !st.index->upsert(u.driver, u.pos)) u.actor = nullptr;
    }
    for (auto& u : st.drained) {
      if (!u.actor) continue;
      took_position(self, u.driver, u.pos, u.actor);
      added = true;
    }
  }
  st.drained.clear();  // drop the actor handles now
  return added;
}

// Before anything that reads the index: apply what drivers deposited, and give
// parked requests a go at newly available drivers (as the avail messages did).
void sync_positions(matcher_actor* self) {
  if (flush_positions(self, false)) retry_parked(self);
}

// ---- cross-shard search ------------------------------------------------------

std::chrono::milliseconds probe_timeout(const matcher_actor* self) {
  auto t = self->state.ctx->opts.query_timeout / 2;
  return std::clamp(t, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
}

// Answers of one fan-out: answers[i][q] is target i's list for its query q
// (empty when the target failed or timed out: it then offers nothing).
struct probe_round {
  std::vector<caf::actor> targets;
  std::vector<std::vector<std::vector<neighbor>>> answers;
  std::size_t left = 0;
};
using probe_done = std::function<void(probe_round&)>;

// Sends probes[i] to targets[i]; `done` runs once, in this actor, after every
// target answered or timed out. Never blocks the actor.
void probe_neighbours(matcher_actor* self, std::vector<caf::actor> targets,
                      std::vector<shard_probe> probes, probe_done done) {
  auto round = std::make_shared<probe_round>();
  round->left = targets.size();
  round->answers.resize(targets.size());
  round->targets = std::move(targets);
  auto finish = [round, done] {
    if (--round->left == 0) done(*round);
  };
  for (std::size_t i = 0; i < round->targets.size(); ++i)
    self->request(round->targets[i], probe_timeout(self), probe_atom::value, std::move(probes[i]))
        .then(
            [round, i, finish](shard_probe_answer& a) {
              round->answers[i] = std::move(a.hits);
              finish();
            },
            [finish](caf::error&) { finish(); });
}

// How many nearest drivers a dispatch needs from each shard so that the union
// holds its global candidates (sequential_dispatch over-fetches 2k + excluded).
std::size_t candidate_want(const matcher_actor* self, const pending_request& p) {
  const auto& st = self->state;
  std::size_t want =
      2 * st.reg->sequential.k + p.excluded.size() + (p.dispatch ? p.dispatch->offers_made() : 0);
  return std::min<std::size_t>(want, st.index->config().max_k);
}

void clear_scratch(matcher_actor* self) {
  auto& st = self->state;
  for (auto d : st.scratch_ids) (void)st.scratch->remove(d);
  st.scratch_ids.clear();
  st.scratch_owner.clear();
}

spatial_index& scratch(matcher_actor* self) {
  auto& st = self->state;
  if (!st.scratch) {  // coarse buckets: it only ever holds a few candidates per request
    spatial_index_config cfg;
    cfg.bounds = st.reg->bounds;
    cfg.bucket_size_m = 1000;
    st.scratch.emplace(spatial_index::create(cfg).value());
  }
  return *st.scratch;
}

// Adds candidates to the scratch index; `owner` invalid: ours.
void add_scratch(matcher_actor* self, const std::vector<neighbor>& hits, const caf::actor& owner) {
  auto& st = self->state;
  (void)scratch(self);
  for (const auto& h : hits) {
    if (st.scratch->contains(h.id)) continue;  // ours (added first) or a nearer shard's
    if (owner && st.index->contains(h.id)) continue;
    if (!owner && !st.driver_actors.count(h.id)) continue;
    if (!st.scratch->upsert(h.id, h.pos)) continue;
    st.scratch_ids.push_back(h.id);
    if (owner) st.scratch_owner[h.id] = owner;
  }
}

// Sends the offer of `trip` to driver `d` and starts its timeout. `owner`
// invalid: d is ours (removed from our index now); else reserved at `owner`.
void send_offer(matcher_actor* self, pending_request& p, trip_id trip, driver_id d,
                const caf::actor& driver_actor, double eta_s, lat_lng pos,
                const caf::actor& owner) {
  auto& st = self->state;
  p.parked = false;
  p.offered = d;
  p.offered_pos = pos;
  ++p.attempt;
  if (!owner) remove_driver(self, d);  // one offer per driver at a time
  st.on_offer[d] = held_driver{pos, owner};
  offer_to msg{d, driver_actor, static_cast<std::uint32_t>(std::lround(eta_s)), p.attempt, p.surge};
  self->send(p.trip_actor, std::move(msg));
  self->delayed_send(self, st.ctx->offer_timeout(*st.reg), offer_timer{trip, p.attempt});
}

void send_local_offer(matcher_actor* self, pending_request& p, trip_id trip, driver_id d,
                      const caf::actor& driver_actor, double eta_s) {
  auto pos = self->state.index->position(d).value_or(p.pickup);
  send_offer(self, p, trip, d, driver_actor, eta_s, pos, caf::actor{});
}

void try_offer(matcher_actor* self, trip_id trip);
void arm_window(matcher_actor* self);

// Asks `owner` to hand over its driver `d` for `trip`. Only the owner removes
// a driver from an index, one message at a time, so two matchers racing for
// the same driver cannot both win; the loser tries its next candidate.
void reserve_remote(matcher_actor* self, pending_request& p, trip_id trip, driver_id d,
                    double eta_s, caf::actor owner) {
  auto& st = self->state;
  p.offered = d;
  p.reserving = true;
  const auto ticket = p.ticket = ++st.next_ticket;
  auto on_answer = [self, trip, d, eta_s, owner, ticket](const reserve_answer& a) {
    auto& s = self->state;
    auto it = s.pending.find(trip);
    if (it == s.pending.end() || it->second.ticket != ticket || !it->second.reserving) {
      if (a.ok) self->send(owner, release_atom::value, d, a.pos);  // nobody needs it now
      return;
    }
    auto& q = it->second;
    q.reserving = false;
    if (a.ok) return send_offer(self, q, trip, d, a.driver_actor, eta_s, a.pos, owner);
    q.offered = {};  // taken meanwhile: the next candidate
    if (q.dispatch && q.dispatch->state() == sequential_dispatch::phase::offering)
      (void)q.dispatch->decline(d);
    try_offer(self, trip);
    sync_pending(self);
  };
  self->request(owner, probe_timeout(self), reserve_atom::value, d)
      .then([on_answer](reserve_answer& a) { on_answer(a); },
            [on_answer](caf::error&) { on_answer(reserve_answer{}); });
}

// A parked request whose max radius reaches another shard cell is retried
// every batch_window_ms: a driver freed over there tells only its own matcher.
void arm_retry(matcher_actor* self, const pending_request& p) {
  auto& st = self->state;
  if (st.retry_armed) return;
  bool overflow = false;
  auto cells = cells_within(p.pickup, st.reg->sequential.max_radius_m, st.reg->shard_level,
                            st.reg->bounds, overflow);
  if (!overflow && cells.size() <= 1) return;
  st.retry_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(st.reg->batch_window_ms), retry_atom::value);
}

// Offers `trip` to the best candidate of `available` (our index, or the
// scratch of a cross-shard search), or parks it when none is left.
void offer_from(matcher_actor* self, trip_id trip, const spatial_index& available) {
  auto& st = self->state;
  auto& p = st.pending.at(trip);
  for (;;) {  // bounded: every pass excludes one driver from this dispatch
    auto o = p.dispatch->next_offer(available, *st.eta, st.ctx->now());
    if (!o) {
      p.parked = true;
      return arm_retry(self, p);
    }
    if (auto ow = st.scratch_owner.find(o->driver); ow != st.scratch_owner.end())
      return reserve_remote(self, p, trip, o->driver, o->eta_s, ow->second);
    auto da = st.driver_actors.find(o->driver);
    if (da == st.driver_actors.end() || !st.index->contains(o->driver)) {
      remove_driver(self, o->driver);  // indexed without an actor: drop and go on
      (void)p.dispatch->decline(o->driver);
      continue;
    }
    return send_local_offer(self, p, trip, o->driver, da->second, o->eta_s);
  }
}

// The distance of our nearest driver this dispatch may still be offered (or
// the max radius): only shards nearer than that can hold a better candidate
// (ETA grows with distance), so most searches stay inside the shard.
double search_bound(const matcher_actor* self, const pending_request& p) {
  const auto& st = self->state;
  const double max_r = st.reg->sequential.max_radius_m;
  auto hits = st.index->nearest(p.pickup, max_r, candidate_want(self, p));
  if (hits)
    for (const auto& n : *hits)
      if (!p.dispatch->is_excluded(n.id) && st.driver_actors.count(n.id)) return n.distance_m;
  return max_r;
}

// Offers `trip` to the next sequential candidate, or parks it when none is left.
void sequential_offer(matcher_actor* self, trip_id trip) {
  auto& st = self->state;
  auto it = st.pending.find(trip);
  if (it == st.pending.end() || it->second.offered.valid() || it->second.searching) return;
  auto& p = it->second;
  if (p.parked || !p.dispatch || p.dispatch->state() == sequential_dispatch::phase::exhausted)
    restart_dispatch(p, trip, *st.reg);
  if (!p.dispatch) return;
  const double bound = search_bound(self, p);
  auto targets = st.ctx->router->neighbours(st.key, p.pickup, bound);
  if (targets.empty()) return offer_from(self, trip, *st.index);
  p.searching = true;
  const auto ticket = p.ticket = ++st.next_ticket;
  const auto want = candidate_want(self, p);
  std::vector<shard_probe> probes(targets.size(),
                                  shard_probe{{probe_query{p.pickup, bound, want, false}}});
  probe_neighbours(self, std::move(targets), std::move(probes),
                   [self, trip, ticket, want](probe_round& r) {
                     auto& s = self->state;
                     auto it = s.pending.find(trip);
                     if (it == s.pending.end() || it->second.ticket != ticket) return;
                     auto& q = it->second;
                     q.searching = false;
                     // Ours first, fresh (the probe took a while), then the neighbours'.
                     auto local = s.index->nearest(q.pickup, s.reg->sequential.max_radius_m, want);
                     if (local) add_scratch(self, *local, caf::actor{});
                     for (std::size_t i = 0; i < r.targets.size(); ++i)
                       if (!r.answers[i].empty()) add_scratch(self, r.answers[i][0], r.targets[i]);
                     offer_from(self, trip, scratch(self));
                     clear_scratch(self);
                     sync_pending(self);
                   });
}

// Sequential mode: the next offer now; batched mode: wait for the next window.
void try_offer(matcher_actor* self, trip_id trip) {
  if (batched(self)) return arm_window(self);
  sequential_offer(self, trip);
}

// Batched mode: solve the waiting requests after batch_window_ms (once per window).
void arm_window(matcher_actor* self) {
  auto& st = self->state;
  if (st.window_searching) {
    st.window_rearm = true;
    return;
  }
  if (st.window_armed) return;
  st.window_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(st.reg->batch_window_ms), window_atom::value);
}

// The waiting requests (no open offer, no search), oldest first, capped.
std::vector<batch_request> window_requests(matcher_actor* self) {
  auto& st = self->state;
  const auto now = st.ctx->now();
  std::vector<batch_request> reqs;
  for (auto& [trip, p] : st.pending)
    if (!p.offered.valid() && !p.searching)
      reqs.push_back(
          {trip, p.pickup, std::clamp<std::int64_t>(now - p.requested_at_ms, 0, 3'600'000)});
  // Oldest first (ids grow with time), so the cap keeps the longest waiting.
  std::sort(reqs.begin(), reqs.end(),
            [](const batch_request& a, const batch_request& b) { return a.trip < b.trip; });
  if (reqs.size() > st.reg->batch.max_requests) reqs.resize(st.reg->batch.max_requests);
  return reqs;
}

// Assigns `reqs` over `available` with batch_assign and offers each match
// (remote drivers are reserved first); the rest wait for the next window.
void assign_window(matcher_actor* self, const std::vector<batch_request>& reqs,
                   const spatial_index& available) {
  auto& st = self->state;
  auto solved = batch_assign(reqs, available, *st.eta, st.reg->batch);
  if (!solved) return;
  std::vector<trip_id> fallback;
  for (const auto& m : solved->matches) {
    auto& p = st.pending.at(m.trip);
    // batch_assign knows no per-request exclusions: a driver this request
    // already declined or timed out on is not asked again; the request takes
    // the best other driver left (sequential ranking) after the matches.
    if (p.excluded.count(m.driver) != 0) {
      fallback.push_back(m.trip);
      continue;
    }
    if (auto ow = st.scratch_owner.find(m.driver); ow != st.scratch_owner.end()) {
      reserve_remote(self, p, m.trip, m.driver, m.eta_s, ow->second);
      continue;
    }
    auto da = st.driver_actors.find(m.driver);
    if (da == st.driver_actors.end()) {
      fallback.push_back(m.trip);
      continue;
    }
    send_local_offer(self, p, m.trip, m.driver, da->second, m.eta_s);
  }
  clear_scratch(self);  // the fallback searches on its own
  for (auto t : fallback) sequential_offer(self, t);
}

// Batched mode: one window. Requests near a shard edge first probe the
// neighbour shards their candidate radius reaches (one message per neighbour).
void solve_window(matcher_actor* self) {
  auto& st = self->state;
  auto reqs = window_requests(self);
  if (reqs.empty()) return;
  const auto& cfg = st.reg->batch;
  std::vector<caf::actor> targets;
  std::vector<shard_probe> probes;
  for (const auto& r : reqs) {
    for (auto& t : st.ctx->router->neighbours(st.key, r.pickup, cfg.max_radius_m)) {
      auto at = std::find(targets.begin(), targets.end(), t) - targets.begin();
      if (static_cast<std::size_t>(at) == targets.size()) {
        targets.push_back(t);
        probes.emplace_back();
      }
      probes[static_cast<std::size_t>(at)].queries.push_back(
          {r.pickup, cfg.max_radius_m, cfg.k, false});
    }
  }
  if (targets.empty()) return assign_window(self, reqs, *st.index);
  st.window_searching = true;
  probe_neighbours(self, std::move(targets), std::move(probes), [self](probe_round& r) {
    auto& s = self->state;
    s.window_searching = false;
    auto now_reqs = window_requests(self);  // some may have been cancelled meanwhile
    if (!now_reqs.empty()) {
      const auto& c = s.reg->batch;
      for (const auto& q : now_reqs)
        if (auto local = s.index->nearest(q.pickup, c.max_radius_m, c.k))
          add_scratch(self, *local, caf::actor{});
      for (std::size_t i = 0; i < r.targets.size(); ++i)
        for (const auto& hits : r.answers[i]) add_scratch(self, hits, r.targets[i]);
      assign_window(self, now_reqs, scratch(self));
      clear_scratch(self);
    }
    if (std::exchange(s.window_rearm, false)) arm_window(self);
    sync_pending(self);
  });
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
    if (auto m = st.surge->multiplier_permille(*cell, now)) {
      surge = *m;
      st.events.surge_seen(*st.ctx, *st.surge, *cell, surge);
    }
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

// The quote to its rider, and (durable node) its quote event, final ETA included.
void send_quote(matcher_actor* self, const caf::actor& to, rider_id rider, quote_answer&& a) {
  auto& st = self->state;
  if (st.ctx->journal)
    if (auto cell = st.surge->cell_for(a.pickup))
      st.events.quote(*st.ctx, a.wire, rider, a.pickup, a.dropoff, *cell);
  self->send(to, std::move(a));
}

// Our part of a nearby query (live + fed drivers) and the radius the
// neighbours still matter within: our k-th hit bounds it when we have k.
result<double> local_nearby(matcher_actor* self, lat_lng center, double radius_m, std::size_t k,
                            std::vector<neighbor>& out) {
  auto& st = self->state;
  if (auto ok = st.fleet->nearest(*st.index, center, radius_m, k, out); !ok) return ok.err();
  return out.size() >= k && k > 0 ? out.back().distance_m : radius_m;
}

// nearby_batch: answers the part's queries; those near a shard edge merge the
// neighbours' lists before the answer goes out (one probe per neighbour).
caf::result<nearby_part_answer> nearby_batch(matcher_actor* self, nearby_part& part) {
  auto& st = self->state;
  nearby_part_answer answer;
  answer.results.resize(part.queries.size());
  std::vector<std::vector<neighbor>> hits(part.queries.size());
  std::vector<caf::actor> targets;
  std::vector<shard_probe> probes;
  std::vector<std::vector<std::size_t>> asked;  // per target: query index of each probe query
  for (std::size_t i = 0; i < part.queries.size(); ++i) {
    const auto& q = part.queries[i];
    auto bound = local_nearby(self, q.center, q.radius_m, q.k, hits[i]);
    if (!bound) {
      answer.results[i].code = bound.code();
      continue;
    }
    for (auto& t : st.ctx->router->neighbours(st.key, q.center, *bound)) {
      auto at =
          static_cast<std::size_t>(std::find(targets.begin(), targets.end(), t) - targets.begin());
      if (at == targets.size()) {
        targets.push_back(t);
        probes.emplace_back();
        asked.emplace_back();
      }
      probes[at].queries.push_back({q.center, *bound, q.k, true});
      asked[at].push_back(i);
    }
  }
  auto fill = [](nearby_part_answer& a, std::vector<std::vector<neighbor>>& all) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      auto& r = a.results[i];
      if (r.code != errc::ok) continue;
      r.drivers.reserve(all[i].size());
      r.distances_m.reserve(all[i].size());
      for (const auto& h : all[i]) {
        r.drivers.push_back(h.id);
        r.distances_m.push_back(static_cast<float>(h.distance_m));
      }
    }
  };
  if (targets.empty()) {
    fill(answer, hits);
    return answer;
  }
  auto rp = self->make_response_promise<nearby_part_answer>();
  probe_neighbours(self, std::move(targets), std::move(probes),
                   [rp, answer = std::move(answer), hits = std::move(hits), asked,
                    queries = part.queries, fill](probe_round& r) mutable {
                     for (std::size_t t = 0; t < r.answers.size(); ++t)
                       for (std::size_t j = 0; j < r.answers[t].size() && j < asked[t].size(); ++j)
                         merge_nearest(hits[asked[t][j]], r.answers[t][j], queries[asked[t][j]].k);
                     fill(answer, hits);
                     rp.deliver(std::move(answer));
                   });
  return rp;
}

caf::behavior region_matcher(matcher_actor* self, context_ptr ctx, std::size_t region_index,
                             cell_id cell, std::shared_ptr<position_buffer> positions) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.positions = std::move(positions);
  st.reg = &st.ctx->regions.at(region_index);
  st.key = shard_key{region_index, cell};
  spatial_index_config icfg;
  // Only positions of this shard reach us (the router routes by cell): size
  // the index to the cell, with a margin for rounding at its edges.
  icfg.bounds = cell_bounds(cell, st.reg->bounds, 1e-3);
  st.index.emplace(spatial_index::create(icfg).value());
  st.surge.emplace(surge_engine::create(st.reg->surge).value());
  st.eta.emplace(straight_line_eta::create(st.reg->eta).value());
  st.fleet.emplace(icfg.bounds);
  return {
      [=](avail_atom, driver_avail& a) {  // unbuffered (driver actors use the buffer)
        auto& s = self->state;
        (void)flush_positions(self, false);  // older buffered updates first
        if (!s.index->upsert(a.driver, a.pos)) return;
        took_position(self, a.driver, a.pos, a.actor);
        retry_parked(self);
      },
      [=](unavail_atom, driver_id d) {
        sync_positions(self);
        remove_driver(self, d);
      },
      [=](posflush_atom, bool timed) {
        if (flush_positions(self, timed)) retry_parked(self);
        sync_pending(self);
      },
      [=](retry_atom) {
        sync_positions(self);
        self->state.retry_armed = false;
        retry_parked(self);
        sync_pending(self);
      },
      [=](window_atom) {
        sync_positions(self);
        self->state.window_armed = false;
        solve_window(self);
        sync_pending(self);
      },
      [=](dispatch_request& r) {
        auto& s = self->state;
        sync_positions(self);
        pending_request p;
        if (auto cell = s.surge->cell_for(r.pickup)) {
          (void)s.surge->record_request(*cell, s.ctx->now());
          if (auto m = s.surge->multiplier_permille(*cell, s.ctx->now())) {
            p.surge = *m;
            s.events.surge_seen(*s.ctx, *s.surge, *cell, *m);
          }
        }
        p.trip_actor = r.trip_actor;
        p.pickup = r.pickup;
        p.requested_at_ms = s.ctx->now();
        s.pending[r.trip] = std::move(p);
        try_offer(self, r.trip);
        sync_pending(self);
      },
      [=](offer_timer& t) {
        auto& s = self->state;
        auto it = s.pending.find(t.trip);
        if (it == s.pending.end() || it->second.attempt != t.attempt ||
            !it->second.offered.valid() || it->second.reserving)
          return;
        self->send(it->second.trip_actor, offer_timed_out{it->second.offered});
      },
      [=](offer_closed& c) {
        auto& s = self->state;
        sync_positions(self);  // a re-announced driver's newer position wins over put_back
        auto it = s.pending.find(c.trip);
        std::optional<held_driver> held;
        if (auto o = s.on_offer.find(c.driver); o != s.on_offer.end()) {
          held = std::move(o->second);
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
        // Decline / timeout: the driver is available again, in its owner's index.
        if (!c.accepted && c.driver_free && held) {
          if (held->owner)
            self->send(held->owner, release_atom::value, c.driver, held->pos);
          else
            put_back(self, c.driver, held->pos);
        }
        if (!c.accepted) {
          if (it != s.pending.end()) try_offer(self, c.trip);
          retry_parked(self);
        }
        sync_pending(self);
      },
      [=](trip_finished& f) {
        self->state.pending.erase(f.trip);
        sync_pending(self);
      },
      [=](redispatch_request& r) {  // the assigned driver backed out
        auto& s = self->state;
        sync_positions(self);
        pending_request p;
        p.trip_actor = std::move(r.trip_actor);
        p.pickup = r.pickup;
        p.requested_at_ms = s.ctx->now();
        p.excluded.insert(r.excluded.begin(), r.excluded.end());
        s.pending[r.trip] = std::move(p);
        try_offer(self, r.trip);
        sync_pending(self);
      },
      [=](quote_ask& q) {
        auto& s = self->state;
        sync_positions(self);
        quote_answer a{make_quote(self, q.req.pickup, q.req.dropoff), q.req.pickup, q.req.dropoff,
                       q.reply};
        // The pickup ETA is the nearest driver's, whichever shard it is in.
        const double max_r = s.reg->sequential.max_radius_m;
        auto near = s.index->nearest(q.req.pickup, max_r, 1);
        const bool have = near && !near->empty();
        auto targets =
            s.ctx->router->neighbours(s.key, q.req.pickup, have ? near->front().distance_m : max_r);
        if (targets.empty()) return send_quote(self, q.rider_actor, q.rider, std::move(a));
        std::vector<shard_probe> probes(targets.size(),
                                        shard_probe{{probe_query{q.req.pickup, max_r, 1, false}}});
        probe_neighbours(self, std::move(targets), std::move(probes),
                         [self, a = std::move(a), have, to = q.rider_actor,
                          rider = q.rider](probe_round& r) mutable {
                           bool found = have;
                           for (auto& ans : r.answers) {
                             if (ans.empty() || ans[0].empty()) continue;
                             auto eta = static_cast<std::uint32_t>(std::lround(
                                 self->state.eta->estimate_s(ans[0].front().pos, a.pickup)));
                             if (!found || eta < a.wire.pickup_eta_s) a.wire.pickup_eta_s = eta;
                             found = true;
                           }
                           send_quote(self, to, rider, std::move(a));
                         });
      },
      [=](nearby_atom, nearby_query& q) -> caf::result<nearby_answer> {
        auto& s = self->state;
        sync_positions(self);
        nearby_answer a;
        auto bound = local_nearby(self, q.center, q.radius_m, q.k, a.hits);
        if (!bound) return nearby_answer{{}, bound.code()};
        auto targets = s.ctx->router->neighbours(s.key, q.center, *bound);
        if (targets.empty()) return a;
        auto rp = self->make_response_promise<nearby_answer>();
        std::vector<shard_probe> probes(targets.size(),
                                        shard_probe{{probe_query{q.center, *bound, q.k, true}}});
        probe_neighbours(self, std::move(targets), std::move(probes),
                         [rp, a = std::move(a), k = q.k](probe_round& r) mutable {
                           for (auto& ans : r.answers)
                             if (!ans.empty()) merge_nearest(a.hits, ans[0], k);
                           rp.deliver(std::move(a));
                         });
        return rp;
      },
      [=](probe_atom, shard_probe& p) -> shard_probe_answer {
        auto& s = self->state;
        sync_positions(self);
        shard_probe_answer a;
        a.hits.resize(p.queries.size());
        for (std::size_t i = 0; i < p.queries.size(); ++i) {
          const auto& q = p.queries[i];
          auto& out = a.hits[i];
          const auto k = std::min(q.k, s.index->config().max_k);
          if (k == 0) continue;
          if (q.with_fleet) {
            if (!s.fleet->nearest(*s.index, q.center, q.radius_m, k, out)) out.clear();
            continue;
          }
          if (!s.index->nearest(q.center, q.radius_m, k, out)) out.clear();
          // Only drivers we can hand out (indexed with an actor).
          out.erase(
              std::remove_if(out.begin(), out.end(),
                             [&s](const neighbor& n) { return !s.driver_actors.count(n.id); }),
              out.end());
        }
        return a;
      },
      [=](reserve_atom, driver_id d) -> reserve_answer {
        // Another shard's request wants our driver: hand it over iff still available.
        auto& s = self->state;
        sync_positions(self);  // a buffered withdrawal must win over the reservation
        reserve_answer a;
        auto pos = s.index->position(d);
        auto da = s.driver_actors.find(d);
        if (!pos || da == s.driver_actors.end()) return a;
        remove_driver(self, d);
        a.ok = true;
        a.pos = *pos;
        a.driver_actor = da->second;
        return a;
      },
      [=](release_atom, driver_id d, lat_lng pos) {  // a borrowed driver's offer closed
        sync_positions(self);
        put_back(self, d, pos);
        retry_parked(self);
      },
      [=](fleet_upsert& u) -> fleet_applied {
        auto& s = self->state;
        sync_positions(self);
        for (auto d : u.forget) s.fleet->forget(d);  // moved to another shard
        auto live = [&s](driver_id d) { return s.driver_actors.count(d) != 0; };
        fleet_applied a;
        auto reject = [&](errc code, std::string why) {
          s.ctx->stats.error(code);
          a.rejected.add(code, std::move(why));
        };
        a.accepted = s.fleet->apply(u.samples, live, reject);
        return a;
      },
      [=](nearby_part& p) -> caf::result<nearby_part_answer> {
        sync_positions(self);
        return nearby_batch(self, p);
      },
  };
}

}  // namespace

caf::actor spawn_region_matcher(caf::actor_system& sys, context_ptr ctx, std::size_t region_index,
                                cell_id cell, std::shared_ptr<position_buffer> positions) {
  return sys.spawn(region_matcher, std::move(ctx), region_index, cell, std::move(positions));
}

}  // namespace rideshard::node
