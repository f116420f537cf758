// matcher_dispatch: the sequential offer loop of a shard's pending requests.
// One driver per offer: ours are removed from our index, another shard's are
// reserved through their owning matcher first (see actors/node/README.md,
// "Cross-shard search"). How an offer ends is the trip actor's to say: it owns
// the offer's deadline and sends offer_closed.
#include "node/matcher_dispatch.hpp"

#include <algorithm>
#include <cmath>

#include "node/matcher_search.hpp"
#include "node/shard_search.hpp"
#include "rideshard/engine/ride_estimate.hpp"

namespace rideshard::node {
namespace {

void restart_dispatch(pending_request& p, trip_id trip, const region& reg) {
  auto d = sequential_dispatch::create(trip, p.pickup, reg.sequential);
  if (!d) return;
  for (auto ex : p.excluded) d->exclude(ex);
  p.dispatch.emplace(std::move(*d));
}

// Sends the offer of `trip` to driver `d`. `owner` invalid: d is ours (removed
// from our index now); else reserved at `owner`.
void send_offer(matcher_self self, pending_request& p, driver_id d, const caf::actor& driver_actor,
                double eta_s, lat_lng pos, const matcher_handle& owner) {
  auto& st = self->state;
  p.parked = false;
  p.nobody_since_ms.reset();  // a driver was found: a later dead end counts afresh
  p.offered = d;
  p.offered_pos = pos;
  ++p.attempt;
  if (!owner) st.drivers->remove(d);  // one offer per driver at a time
  st.book.on_offer[d] = held_driver{pos, owner};
  self->send(p.trip_actor, offer_to{d, driver_actor, eta_seconds(eta_s), p.attempt, p.surge});
}

// A parked request whose max radius reaches another shard cell is retried
// every batch_window_ms: a driver freed over there tells only its own matcher.
void arm_retry(matcher_self self, const pending_request& p) {
  auto& st = self->state;
  if (st.book.retry_armed) return;
  bool overflow = false;
  auto cells = cells_within(p.pickup, st.reg->sequential.max_radius_m, st.reg->shard_level,
                            st.reg->bounds, overflow);
  if (!overflow && cells.size() <= 1) return;
  st.book.retry_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(st.reg->batch_window_ms), parked_retry{});
}

std::uint32_t whole_metres(double m) { return static_cast<std::uint32_t>(std::lround(m)); }

// The rider sees the search widen: one search_progress per larger radius.
void tell_progress(matcher_self self, pending_request& p) {
  const auto r = whole_metres(p.dispatch->radius_m());
  if (r <= p.shown_radius_m) return;
  p.shown_radius_m = r;
  self->send(p.trip_actor, search_progress{r});
}

// Offers `trip` to the best candidate of `available` (our index, or the
// scratch of a cross-shard search), or parks it when none is left.
void offer_from(matcher_self self, trip_id trip, const spatial_index& available) {
  auto& st = self->state;
  auto& p = st.book.pending.at(trip);
  for (;;) {  // bounded: every pass excludes one driver from this dispatch
    auto o = p.dispatch->next_offer(available, st.pricing->eta(), st.ctx->now());
    tell_progress(self, p);
    if (!o) {  // nobody within max_radius_m: wait for a driver, no_driver_timeout at most
      p.parked = true;
      if (!p.nobody_since_ms) p.nobody_since_ms = st.ctx->now();
      arm_no_driver_check(self);
      return arm_retry(self, p);
    }
    if (auto ow = st.scratch.owner.find(o->driver); ow != st.scratch.owner.end())
      return reserve_remote(self, p, trip, o->driver, o->eta_s, ow->second);
    const auto* da = st.drivers->actor_of(o->driver);
    if (!da || !st.drivers->available().contains(o->driver)) {
      st.drivers->remove(o->driver);  // indexed without an actor: drop and go on
      (void)p.dispatch->decline(o->driver);
      continue;
    }
    return send_local_offer(self, p, o->driver, *da, o->eta_s);
  }
}

// How many nearest drivers a dispatch needs from each shard so that the union
// holds its global candidates (sequential_dispatch over-fetches 2k + excluded).
std::size_t candidate_want(const matcher_self self, const pending_request& p) {
  const auto& st = self->state;
  std::size_t want =
      2 * st.reg->sequential.k + p.excluded.size() + (p.dispatch ? p.dispatch->offers_made() : 0);
  return std::min<std::size_t>(want, st.drivers->max_k());
}

// The distance of our nearest driver this dispatch may still be offered (or
// the max radius): only shards nearer than that can hold a better candidate
// (ETA grows with distance), so most searches stay inside the shard.
double search_bound(const matcher_self self, const pending_request& p) {
  const auto& st = self->state;
  const double max_r = st.reg->sequential.max_radius_m;
  auto hits = st.drivers->available().nearest(p.pickup, max_r, candidate_want(self, p));
  if (hits)
    for (const auto& n : *hits)
      if (!p.dispatch->is_excluded(n.id) && st.drivers->has_actor(n.id)) return n.distance_m;
  return max_r;
}

void new_request(matcher_self self, trip_id trip, pending_request p) {
  auto& st = self->state;
  p.requested_at_ms = st.ctx->now();
  p.shown_radius_m = whole_metres(st.reg->sequential.initial_radius_m);  // the trip shows it
  st.book.pending[trip] = std::move(p);
  try_offer(self, trip);
  sync_pending(self);
}

}  // namespace

bool batched(const matcher_self self) { return self->state.reg->mode == dispatch_mode::batched; }

// While requests wait with nobody within max_radius_m, no_driver_check looks
// every no_driver_check (real time) whether one waited no_driver_timeout.
void arm_no_driver_check(matcher_self self) {
  auto& st = self->state;
  if (st.book.check_armed || st.ctx->opts.no_driver_timeout.count() <= 0) return;
  st.book.check_armed = true;
  self->delayed_send(self, st.ctx->opts.no_driver_check, no_driver_check{});
}

bool someone_within(const pending_request& p, const spatial_index& available, double radius_m) {
  auto hits = available.nearest(p.pickup, radius_m, p.excluded.size() + 1);
  if (!hits) return false;
  return std::any_of(hits->begin(), hits->end(),
                     [&](const auto& n) { return p.excluded.count(n.id) == 0; });
}

void sync_pending(matcher_self self) {
  auto& st = self->state;
  const auto now = st.book.pending.size();
  st.ctx->stats.pending_requests(static_cast<std::int64_t>(now) -
                                 static_cast<std::int64_t>(st.book.reported_pending));
  st.book.reported_pending = now;
}

void send_local_offer(matcher_self self, pending_request& p, driver_id d,
                      const caf::actor& driver_actor, double eta_s) {
  auto pos = self->state.drivers->available().position(d).value_or(p.pickup);
  send_offer(self, p, d, driver_actor, eta_s, pos, matcher_handle{});
}

// Only the owner removes a driver from an index, one message at a time, so two
// matchers racing for the same driver cannot both win; the loser tries its
// next candidate.
void reserve_remote(matcher_self self, pending_request& p, trip_id trip, driver_id d, double eta_s,
                    matcher_handle owner) {
  auto& st = self->state;
  p.offered = d;
  p.reserving = true;
  const auto ticket = p.ticket = ++st.book.next_ticket;
  auto on_answer = [self, trip, d, eta_s, owner, ticket](const reserve_answer& a) {
    auto& s = self->state;
    auto it = s.book.pending.find(trip);
    if (it == s.book.pending.end() || it->second.ticket != ticket || !it->second.reserving) {
      if (a.ok) self->send(owner, release_driver{d, a.pos});  // nobody needs it now
      return;
    }
    auto& q = it->second;
    q.reserving = false;
    if (a.ok) return send_offer(self, q, d, a.driver_actor, eta_s, a.pos, owner);
    q.offered = {};  // taken meanwhile: the next candidate
    if (q.dispatch && q.dispatch->state() == sequential_dispatch::phase::offering)
      (void)q.dispatch->decline(d);
    try_offer(self, trip);
    sync_pending(self);
  };
  self->request(owner, probe_timeout(self), reserve_driver{d})
      .then([on_answer](reserve_answer& a) { on_answer(a); },
            [on_answer](caf::error&) { on_answer(reserve_answer{}); });
}

void sequential_offer(matcher_self self, trip_id trip) {
  auto& st = self->state;
  auto it = st.book.pending.find(trip);
  if (it == st.book.pending.end() || it->second.offered.valid() || it->second.searching) return;
  auto& p = it->second;
  if (p.parked || !p.dispatch || p.dispatch->state() == sequential_dispatch::phase::exhausted)
    restart_dispatch(p, trip, *st.reg);
  if (!p.dispatch) return;
  const double bound = search_bound(self, p);
  auto targets = neighbours(st.shards, st.ctx->regions, st.key, p.pickup, bound);
  if (targets.empty()) return offer_from(self, trip, st.drivers->available());
  p.searching = true;
  const auto ticket = p.ticket = ++st.book.next_ticket;
  const auto want = candidate_want(self, p);
  std::vector<shard_probe> probes(targets.size(),
                                  shard_probe{{probe_query{p.pickup, bound, want, false}}});
  probe_neighbours(
      self, std::move(targets), std::move(probes), [self, trip, ticket, want](probe_round& r) {
        auto& s = self->state;
        auto it = s.book.pending.find(trip);
        if (it == s.book.pending.end() || it->second.ticket != ticket) return;
        auto& q = it->second;
        q.searching = false;
        // Ours first, fresh (the probe took a while), then the neighbours'.
        auto local = s.drivers->available().nearest(q.pickup, s.reg->sequential.max_radius_m, want);
        if (local) add_scratch(self, *local, matcher_handle{});
        for (std::size_t i = 0; i < r.targets.size(); ++i)
          if (!r.answers[i].empty()) add_scratch(self, r.answers[i][0], r.targets[i]);
        offer_from(self, trip, scratch(self));
        clear_scratch(self);
        sync_pending(self);
      });
}

void try_offer(matcher_self self, trip_id trip) {
  if (batched(self)) return arm_window(self);
  sequential_offer(self, trip);
}

void retry_parked(matcher_self self) {
  auto& book = self->state.book;
  if (batched(self)) {
    for (auto& kv : book.pending)
      if (!kv.second.offered.valid()) return arm_window(self);
    return;
  }
  std::vector<trip_id> parked;
  for (auto& kv : book.pending)
    if (kv.second.parked) parked.push_back(kv.first);
  std::sort(parked.begin(), parked.end());  // oldest ids (requests) first
  for (auto t : parked) try_offer(self, t);
}

void on_dispatch(matcher_self self, const dispatch_request& r) {
  pending_request p;
  p.surge = self->state.pricing->request_surge(r.pickup);
  p.trip_actor = r.trip_actor;
  p.pickup = r.pickup;
  new_request(self, r.trip, std::move(p));
}

void on_redispatch(matcher_self self, redispatch_request& r) {  // the assigned driver backed out
  pending_request p;
  p.trip_actor = std::move(r.trip_actor);
  p.pickup = r.pickup;
  p.excluded.insert(r.excluded.begin(), r.excluded.end());
  new_request(self, r.trip, std::move(p));
}

void on_offer_closed(matcher_self self, const offer_closed& c) {
  auto& st = self->state;
  auto& book = st.book;
  auto it = book.pending.find(c.trip);
  std::optional<held_driver> held;
  if (auto o = book.on_offer.find(c.driver); o != book.on_offer.end()) {
    held = std::move(o->second);
    book.on_offer.erase(o);
  }
  if (it != book.pending.end() && it->second.offered == c.driver) {
    it->second.offered = {};
    if (c.accepted) {
      book.pending.erase(it);
      it = book.pending.end();
    } else {
      it->second.excluded.insert(c.driver);
      if (it->second.dispatch) (void)it->second.dispatch->decline(c.driver);
    }
  }
  // Decline / timeout: the driver is available again, in its owner's index.
  if (!c.accepted && c.driver_free && held) {
    if (held->owner)
      self->send(held->owner, release_driver{c.driver, held->pos});
    else
      st.drivers->put_back(c.driver, held->pos);
  }
  if (!c.accepted) {
    if (it != book.pending.end()) try_offer(self, c.trip);
    retry_parked(self);
  }
  sync_pending(self);
}

void on_trip_finished(matcher_self self, const trip_finished& f) {
  self->state.book.pending.erase(f.trip);
  sync_pending(self);
}

void on_parked_retry(matcher_self self) {
  self->state.book.retry_armed = false;
  retry_parked(self);
  sync_pending(self);
}

// Gives up on requests that found nobody within max_radius_m (batched mode:
// batch.max_radius_m) for no_driver_timeout (a driver freed meanwhile was
// offered the ride first: the handler runs after sync_positions and every
// retry). The trip ends the request; we forget it now.
void on_no_driver_check(matcher_self self) {
  auto& st = self->state;
  auto& book = st.book;
  book.check_armed = false;
  const auto now = st.ctx->now();
  const auto timeout = st.ctx->opts.no_driver_timeout.count();
  bool counting = false;
  for (auto it = book.pending.begin(); it != book.pending.end();) {
    auto& p = it->second;
    if ((!p.parked && !batched(self)) || !p.nobody_since_ms || p.offered.valid() || p.searching) {
      ++it;
      continue;
    }
    // Batched mode: a driver who became available here since the last window
    // is the next window's to offer (sync_positions armed it).
    if (batched(self) && someone_within(p, st.drivers->available(), st.reg->batch.max_radius_m)) {
      p.nobody_since_ms.reset();
      ++it;
      continue;
    }
    if (now - *p.nobody_since_ms < timeout) {
      counting = true;
      ++it;
      continue;
    }
    self->send(p.trip_actor, no_driver_found{p.shown_radius_m});
    it = book.pending.erase(it);
  }
  if (counting) arm_no_driver_check(self);
  sync_pending(self);
}

void on_batch_window(matcher_self self) {
  self->state.book.window_armed = false;
  solve_window(self);
  sync_pending(self);
}

}  // namespace rideshard::node
