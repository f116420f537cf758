// trip_actor: applies every trip event through the engine's apply(), keeps the
// matcher's dispatch in step, and tells rider and driver what happened.
#include "node/trip_actor.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "node/log_sink.hpp"
#include "node/shard_router.hpp"
#include "rideshard/engine/fare.hpp"

namespace rideshard::node {
namespace {

struct trip_actor_state {
  context_ptr ctx;
  const region* reg = nullptr;
  trip_rules rules;
  rideshard::trip t;
  caf::actor rider_actor;
  caf::actor driver_actor;   ///< assigned driver
  caf::actor offered_actor;  ///< driver holding the open offer
  caf::actor matcher;
  std::optional<schemas::quote> quoted;
  std::int32_t surge = no_surge_permille;
  std::int64_t fare_estimate = 0;
  std::vector<driver_id> backed_out;                 ///< drivers who cancelled: never re-offered
  std::chrono::steady_clock::time_point request_in;  ///< for request->offer latency
  bool offer_answered = false;  ///< a driver saw an offer: later ones are not "first"
  static inline const char* name = "trip_actor";
};
using trip_self = caf::stateful_actor<trip_actor_state>;

schemas::trip_status view(const trip_actor_state& st, bool for_rider) {
  const auto& t = st.t;
  schemas::trip_status s;
  s.trip = t.id;
  s.state = t.state;
  s.driver = t.driver;
  s.rider = t.rider;
  s.pickup = t.pickup;
  s.dropoff = t.dropoff;
  if (for_rider) s.pin = t.pin;
  s.cancelled_by = t.cancelled_by;
  s.cancel_reason = t.cancel_reason;
  s.updated_at_ms = st.ctx->now();
  auto eta = [&](lat_lng a, lat_lng b) {
    return static_cast<std::uint32_t>(
        std::lround(distance_m(a, b) * st.reg->eta.detour_factor / st.reg->eta.speed_mps));
  };
  s.dropoff_eta_s = eta(t.pickup, t.dropoff);
  return s;
}

schemas::fare_breakdown wire_fare(const fare_breakdown& f) {
  return {f.base_minor,  f.distance_minor,    f.time_minor + f.minimum_adjustment_minor,
          f.surge_minor, f.booking_fee_minor, f.total_minor};
}

schemas::receipt make_receipt(const trip_actor_state& st) {
  const auto& t = st.t;
  schemas::receipt r;
  r.trip = t.id;
  r.final_state = t.state;
  r.currency = st.reg->fare.currency;
  r.cancellation_fee_minor = t.cancel_fee_minor;
  if (t.state != trip_state::completed) {
    r.fare.total_minor = t.cancel_fee_minor;
    return r;
  }
  auto dist = std::lround(distance_m(t.pickup, t.dropoff) * st.reg->eta.detour_factor);
  auto dur = std::max<std::int64_t>(0, (t.ended_at_ms - t.started_at_ms) / 1000);
  r.distance_m = static_cast<std::uint32_t>(dist);
  r.duration_s = static_cast<std::uint32_t>(dur);
  if (st.quoted) {
    r.fare = st.quoted->fare;  // upfront pricing: the rider pays the quote
  } else if (auto f =
                 compute_fare(st.reg->fare, dist, std::min(dur, max_fare_duration_s), st.surge)) {
    r.fare = wire_fare(*f);
  }
  return r;
}

// Counts the transition (trips by state) and logs it, one logfmt line.
void moved(trip_self* self, trip_state from, trip_event_kind cause, party by) {
  auto& st = self->state;
  const auto& t = st.t;
  st.ctx->stats.trip_moved(from, t.state);
  auto& log = logger();
  if (!log.should_log(spdlog::level::info)) return;
  const driver_id d = t.state == trip_state::offered ? t.offered_to : t.driver;
  log.info("event=trip_transition trip={} rider={} driver={} from={} to={} cause={} by={}",
           to_string(t.id), to_string(t.rider), d.valid() ? to_string(d) : std::string("-"),
           to_string(from), to_string(t.state), to_string(cause), to_string(by));
}

// Counts how the open offer ended (only called when the trip left `offered`).
void offer_ended(trip_self* self, offer_outcome o) {
  auto& st = self->state;
  st.ctx->stats.offer_closed(o);
  if (o != offer_outcome::busy) st.offer_answered = true;
}

// Sends each party its view; `driver` may be a released driver (then it sees
// the trip as cancelled for it). Seqs answer the frame that caused the change.
void notify(trip_self* self, std::uint64_t rider_seq, const caf::actor& driver,
            std::uint64_t driver_seq, bool driver_released = false) {
  auto& st = self->state;
  std::optional<schemas::receipt> receipt;
  if (is_terminal(st.t.state)) receipt = make_receipt(st);
  self->send(st.rider_actor, update_atom::value,
             trip_update{view(st, true), receipt, self, st.rider_actor}, rider_seq);
  if (!driver) return;
  auto dv = view(st, false);
  if (driver_released) {
    dv.state = trip_state::cancelled;
    receipt.reset();
  }
  self->send(driver, update_atom::value, trip_update{dv, receipt, self, st.rider_actor},
             driver_seq);
}

// Closes the open offer of `d`. A withdrawn offer is shown to the driver as
// `shown` (expired on timeout, cancelled when the rider cancelled) if `tell`.
void close_offer(trip_self* self, driver_id d, bool accepted, bool driver_free,
                 trip_state shown = trip_state::expired, bool tell = true) {
  auto& st = self->state;
  if (st.matcher)
    self->send(st.matcher, closed_atom::value, offer_closed{st.t.id, d, accepted, driver_free});
  if (!accepted && driver_free && st.offered_actor) {
    auto v = view(st, false);
    v.driver = d;
    v.state = shown;
    self->send(st.offered_actor, withdraw_atom::value, st.t.id, std::move(v), tell);
  }
  if (!accepted) st.offered_actor = nullptr;
}

void finish(trip_self* self) {
  auto& st = self->state;
  if (st.matcher) self->send(st.matcher, closed_atom::value, st.t.id);
  // Linger so late frames still get a precise answer, then stop.
  self->delayed_send(self, st.ctx->opts.idle_timeout, stop_atom::value);
}

void on_command(trip_self* self, trip_command& c) {
  auto& st = self->state;
  if (is_terminal(st.t.state) && c.reply.conn)
    return st.ctx->send_error(
        c.reply, errc::illegal_transition,
        to_string(st.t.id) + " is already " + std::string(to_string(st.t.state)));
  const bool busy = c.kind == trip_event_kind::decline && c.by == party::system;
  trip_event ev;
  ev.kind = c.kind;
  ev.at_ms = st.ctx->now();
  ev.driver = c.driver;
  ev.pin = c.pin;
  ev.by = c.by;
  ev.reason = c.reason;
  const auto from = st.t.state;
  const auto offered_to = st.t.offered_to;
  const auto assigned = st.t.driver;
  auto r = apply(st.t, ev, st.rules);
  if (!r) {
    if (c.reply.conn) st.ctx->send_error(c.reply, r.err().code, r.err().message);
    return;
  }
  moved(self, from, c.kind, c.by);
  if (from == trip_state::offered) {
    const bool declined = c.kind == trip_event_kind::decline;
    offer_ended(self, st.t.state == trip_state::accepted ? offer_outcome::accepted
                      : busy                             ? offer_outcome::busy
                      : declined                         ? offer_outcome::declined
                                                         : offer_outcome::withdrawn);
  }
  const auto seq = c.reply.seq;
  const bool by_rider = c.by == party::rider;
  if (from == trip_state::offered && st.t.state != trip_state::accepted) {
    const bool declined = c.kind == trip_event_kind::decline;
    close_offer(self, offered_to, false, !busy, declined ? trip_state::requested : st.t.state,
                !declined);
    if (c.kind == trip_event_kind::decline) {
      if (!busy) st.ctx->send(c.reply.conn, schemas::ack{1}, seq);
      notify(self, 0, {}, 0);
    }
  }
  if (st.t.state == trip_state::accepted && from == trip_state::offered) {
    close_offer(self, offered_to, true, false);
    st.driver_actor = st.offered_actor;
    st.offered_actor = nullptr;
    notify(self, 0, st.driver_actor, seq);
  } else if (r->redispatch && from != trip_state::offered) {  // the driver backed out
    st.backed_out.push_back(assigned);
    auto released = st.driver_actor;
    st.driver_actor = nullptr;
    notify(self, 0, released, seq, true);
    if (st.matcher)
      self->send(st.matcher, dispatch_atom::value, st.t.id, caf::actor{self}, st.t.pickup,
                 st.backed_out);
  } else if (c.kind != trip_event_kind::decline) {
    notify(self, by_rider ? seq : 0, st.driver_actor, by_rider ? 0 : seq);
  }
  if (is_terminal(st.t.state)) finish(self);
}

void on_offer(trip_self* self, offer_to& o) {
  auto& st = self->state;
  trip_event ev;
  ev.kind = trip_event_kind::offer;
  ev.at_ms = st.ctx->now();
  ev.driver = o.driver;
  const auto from = st.t.state;
  if (!apply(st.t, ev, st.rules)) {  // cancelled meanwhile: the driver is free
    if (st.matcher)
      self->send(st.matcher, closed_atom::value, offer_closed{st.t.id, o.driver, false, true});
    return;
  }
  moved(self, from, ev.kind, party::system);
  if (!st.quoted && st.t.offers_made == 1) st.surge = o.surge_permille;
  if (!st.quoted && st.fare_estimate == 0) {
    auto dist = std::lround(distance_m(st.t.pickup, st.t.dropoff) * st.reg->eta.detour_factor);
    auto dur = std::lround(distance_m(st.t.pickup, st.t.dropoff) * st.reg->eta.detour_factor /
                           st.reg->eta.speed_mps);
    if (auto f = compute_fare(st.reg->fare, dist, dur, st.surge)) st.fare_estimate = f->total_minor;
  }
  st.offered_actor = o.driver_actor;
  schemas::offer w{st.t.id,          st.t.pickup,           st.t.dropoff,          o.pickup_eta_s,
                   st.fare_estimate, st.reg->fare.currency, st.t.offer_deadline_ms};
  const auto first = st.offer_answered ? std::chrono::steady_clock::time_point{} : st.request_in;
  self->send(o.driver_actor, offer_atom::value, offer_delivery{std::move(w), self, first});
  notify(self, 0, {}, 0);
}

void on_offer_timeout(trip_self* self, driver_id d) {
  auto& st = self->state;
  if (st.t.state != trip_state::offered || st.t.offered_to != d) return;
  trip_event ev;
  ev.kind = trip_event_kind::offer_timeout;
  // The timer runs on real time, the trip on the injected clock.
  ev.at_ms = std::max(st.ctx->now(), st.t.offer_deadline_ms);
  ev.driver = d;
  if (!apply(st.t, ev, st.rules)) return;
  moved(self, trip_state::offered, ev.kind, party::system);
  offer_ended(self, offer_outcome::timed_out);
  close_offer(self, d, false, true);
  notify(self, 0, {}, 0);
}

caf::behavior trip_actor(trip_self* self, context_ptr ctx, trip_init init) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  auto key = st.ctx->router->shard_of(init.pickup);
  st.reg = &st.ctx->regions.at(key ? key->region : 0);
  st.rules = st.reg->trip;
  st.rules.offer_timeout_ms = st.ctx->offer_timeout(*st.reg).count();
  st.matcher = st.ctx->router->matcher_at(init.pickup);
  st.rider_actor = init.rider_actor;
  st.quoted = init.quoted;
  if (st.quoted) {
    st.surge = static_cast<std::int32_t>(st.quoted->surge_per_mille);
    st.fare_estimate = st.quoted->fare.total_minor;
  }
  auto& t = st.t;
  t.id = init.id;
  t.rider = init.rider;
  t.pickup = init.pickup;
  t.dropoff = init.dropoff;
  t.requested_at_ms = st.ctx->now();
  std::mt19937_64 rng{init.id.value};  // PIN: 4 digits, derived from the id (deterministic)
  t.pin = std::to_string(1000 + rng() % 9000);
  st.request_in = init.request_in;
  st.ctx->stats.trip_started(t.state);
  if (auto& log = logger(); log.should_log(spdlog::level::info))
    log.info("event=trip_transition trip={} rider={} driver=- from=- to={} cause=request by=rider",
             to_string(t.id), to_string(t.rider), to_string(t.state));
  notify(self, init.reply_seq, {}, 0);
  if (st.matcher)
    self->send(st.matcher, dispatch_atom::value, dispatch_request{t.id, t.pickup, self});
  self->delayed_send(self, std::chrono::milliseconds(st.rules.request_ttl_ms), expire_atom::value);
  return {
      [=](offer_atom, offer_to& o) { on_offer(self, o); },
      [=](command_atom, trip_command& c) { on_command(self, c); },
      [=](timeout_atom, driver_id d) { on_offer_timeout(self, d); },
      [=](expire_atom) {
        auto& s = self->state;
        if (s.t.state != trip_state::requested && s.t.state != trip_state::offered) return;
        auto offered_to = s.t.offered_to;
        auto from = s.t.state;
        trip_event ev;
        ev.kind = trip_event_kind::expire;
        ev.at_ms = std::max(s.ctx->now(), s.t.requested_at_ms + s.rules.request_ttl_ms);
        if (!apply(s.t, ev, s.rules)) return;
        moved(self, from, ev.kind, party::system);
        if (from == trip_state::offered) {
          offer_ended(self, offer_outcome::withdrawn);
          close_offer(self, offered_to, false, true);
        }
        notify(self, 0, {}, 0);
        finish(self);
      },
      [=](snapshot_atom) -> snapshot_answer { return {view(self->state, true)}; },
      [=](stop_atom) {
        self->state.ctx->stats.trip_stopped(self->state.t.state);
        self->state.ctx->router->release_trip(self->state.t.id);
        self->quit();
      },
  };
}

}  // namespace

caf::actor spawn_trip_actor(caf::actor_system& sys, context_ptr ctx, trip_init init) {
  return sys.spawn(trip_actor, std::move(ctx), std::move(init));
}

}  // namespace rideshard::node
