// trip_actor: applies every trip event through the engine's apply(), keeps the
// matcher's dispatch in step, and tells rider and driver what happened.
#include "node/trip_actor.hpp"

#include <algorithm>
#include <cmath>

#include "auth/pickup_pin.hpp"
#include "node/journal.hpp"
#include "node/log_sink.hpp"
#include "node/shard_directory.hpp"
#include "rideshard/engine/fare.hpp"
#include "rideshard/engine/trip_money.hpp"
#include "rideshard/schemas/events.hpp"

namespace rideshard::node {
namespace {

struct trip_actor_state {
  context_ptr ctx;
  const region* reg = nullptr;
  trip_rules rules;
  rideshard::trip t;
  rider_handle rider_actor;
  driver_handle driver_actor;   ///< assigned driver
  driver_handle offered_actor;  ///< driver holding the open offer
  matcher_handle matcher;
  std::optional<schemas::quote> quoted;
  std::int64_t fare_estimate = 0;
  std::vector<driver_id> backed_out;  ///< drivers who cancelled: never re-offered
  std::int64_t request_in_us = 0;     ///< wall_clock_us(), for request->offer latency
  bool offer_answered = false;        ///< a driver saw an offer: later ones are not "first"
  std::uint32_t search_radius_m = 0;  ///< the matcher's search radius (shown while requested)
  static inline const char* name = "trip_actor";
};
using trip_self = caf::stateful_actor<trip_actor_state, trip_handle::base>;

// The radius a sequential search starts with (batched windows have none).
std::uint32_t first_radius(const trip_actor_state& st) {
  if (st.reg->mode != dispatch_mode::sequential) return 0;
  return static_cast<std::uint32_t>(std::lround(st.reg->sequential.initial_radius_m));
}

schemas::trip_status view(const trip_actor_state& st, bool for_rider) {
  const auto& t = st.t;
  auto s = status_of(t);
  if (!for_rider) s.pin.clear();  // the PIN is the rider's proof at pickup
  if (t.state == trip_state::requested) s.search_radius_m = st.search_radius_m;
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
  } else if (auto f = compute_fare(st.reg->fare, dist, std::min(dur, max_fare_duration_s),
                                   st.t.surge_permille)) {
    r.fare = wire_fare(*f);
  }
  return r;
}

// The fare of the trip's route at the region's ETA speed, before the ride (the
// offer's estimate, a recovered quote's breakdown, an unquoted ride's hold).
result<fare_breakdown> route_fare(const region& reg, const rideshard::trip& t,
                                  std::int32_t surge_permille) {
  auto dist = std::lround(distance_m(t.pickup, t.dropoff) * reg.eta.detour_factor);
  auto dur =
      std::lround(distance_m(t.pickup, t.dropoff) * reg.eta.detour_factor / reg.eta.speed_mps);
  return compute_fare(reg.fare, dist, dur, surge_permille);
}

// Counts the transition (trips by state) and logs it, one logfmt line.
void moved(trip_self* self, trip_state from, trip_event_kind cause, party by) {
  auto& st = self->state;
  const auto& t = st.t;
  st.ctx->stats.trip_moved(from, t.state);
  st.ctx->fleet->trip(t);
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
void notify(trip_self* self, std::uint64_t rider_seq, const driver_handle& driver,
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
// `shown` (expired on timeout, cancelled when the rider cancelled) if `show`.
void close_offer(trip_self* self, driver_id d, bool accepted, bool driver_free,
                 trip_state shown = trip_state::expired, bool show = true) {
  auto& st = self->state;
  if (st.matcher) self->send(st.matcher, offer_closed{st.t.id, d, accepted, driver_free});
  if (!accepted && driver_free && st.offered_actor) {
    auto v = view(st, false);
    v.driver = d;
    v.state = shown;
    self->send(st.offered_actor, offer_withdrawn{st.t.id, std::move(v), show});
  }
  if (!accepted) st.offered_actor = nullptr;
}

void finish(trip_self* self) {
  auto& st = self->state;
  if (st.matcher) self->send(st.matcher, trip_finished{st.t.id});
  // Linger so late frames still get a precise answer, then stop.
  self->delayed_send(self, st.ctx->opts.idle_timeout, stop_atom::value);
}

// Makes the transition just applied to st.t durable (snapshot, journal entry and
// its Kafka event in one synced batch), then runs `then`. While the commit is in
// flight the actor handles no other message (await), so nobody can act on a
// state that is not on disk; only an offer goes out before (on_offer: it is
// no acknowledgement). On failure st.t goes back to `before` and `failed`
// runs. In-memory nodes (no store) run `then` at once. Cluster mode: the
// journal answers only after the shard group's Kafka transaction.
template <class Then, class Failed>
void durably(trip_self* self, const rideshard::trip& before, schemas::trip_event_type type,
             trip_state from, Then then, Failed failed) {
  auto& st = self->state;
  if (!st.ctx->journal) return then();
  auto b = std::make_shared<persistence::write_batch>();
  b->put_trip(st.t);
  if (st.t.sequence > 0) b->append_trip_journal(st.t);
  auto ev = schemas::make_trip_event(st.t, type, from, st.ctx->now());
  ev.currency = st.reg->fare.currency;
  if (st.t.state == trip_state::completed) ev.fare_minor = make_receipt(st).fare.total_minor;
  if (auto ok = b->add_trip_event(ev); !ok) {
    st.t = before;
    return failed(commit_outcome{ok.err().code, ok.err().message});
  }
  // The ride's money rides in the same batch: hold at request, capture at
  // completion, void or cancel fee at the end (engine/trip_money.hpp).
  auto money = trip_transfers(before, st.t, ev.fare_minor, ev.occurred_at_ms, st.ctx->opts.money);
  if (!money) {
    st.t = before;
    return failed(commit_outcome{money.err().code, money.err().message});
  }
  if (!money->empty()) b->add_transfers(std::move(*money));
  self->request(st.ctx->journal, caf::infinite, commit_atom::value, std::move(b))
      .await(
          [=](commit_outcome& o) {
            if (o.code == errc::ok) return then();
            self->state.t = before;
            failed(o);
            // Cluster mode: another node owns this trip's shard group now (its
            // new owner fenced ours). Nothing was acknowledged; this actor must
            // not act on the trip again (no offer, no retry): it stops.
            if (o.code == errc::fenced) {
              logger().warn("event=trip_fenced trip={} msg=\"{}\"", to_string(self->state.t.id),
                            o.message);
              self->quit(caf::exit_reason::user_shutdown);
            }
          },
          [=](caf::error& e) {
            self->state.t = before;
            failed(commit_outcome{errc::storage_error, caf::to_string(e)});
          });
}

void log_not_durable(trip_self* self, const commit_outcome& o) {
  logger().error("event=commit_failed trip={} code={} msg=\"{}\"", to_string(self->state.t.id),
                 to_string(o.code), o.message);
  self->state.ctx->stats.error(o.code);
}

// The rest of a client command once its transition is durable.
void after_command(trip_self* self, const trip_command& c, trip_state from, driver_id offered_to,
                   driver_id assigned, bool busy, const trip_transition& r) {
  auto& st = self->state;
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
      if (!busy) st.ctx->send(c.reply.session, schemas::ack{1}, seq);
      notify(self, 0, {}, 0);
    }
  }
  if (st.t.state == trip_state::accepted && from == trip_state::offered) {
    close_offer(self, offered_to, true, false);
    st.driver_actor = st.offered_actor;
    st.offered_actor = nullptr;
    notify(self, 0, st.driver_actor, seq);
  } else if (r.redispatch && from != trip_state::offered) {  // the driver backed out
    st.backed_out.push_back(assigned);
    st.search_radius_m = first_radius(st);  // the search starts over
    auto released = st.driver_actor;
    st.driver_actor = nullptr;
    notify(self, 0, released, seq, true);
    if (st.matcher)
      self->send(st.matcher,
                 redispatch_request{st.t.id, st.t.pickup, trip_handle{self}, st.backed_out});
  } else if (c.kind != trip_event_kind::decline) {
    notify(self, by_rider ? seq : 0, st.driver_actor, by_rider ? 0 : seq);
  }
  if (is_terminal(st.t.state)) finish(self);
}

// A wrong PIN counts against the current one; the last allowed try spends it and
// the rider gets a new PIN, stored first so a restart cannot bring the old one back.
void on_wrong_pin(trip_self* self, const trip_command& c) {
  auto& st = self->state;
  const auto spent = st.t.pin;
  auto e = count_wrong_pin(st.t, st.rules);
  if (c.answer_to)
    answer_error(c.answer_to, e.code, e.message);
  else if (c.reply.session)
    st.ctx->send_error(c.reply, e.code, e.message);
  if (e.code != errc::pin_locked) return;
  do st.t.pin = auth::new_pickup_pin();
  while (st.t.pin == spent);
  if (!st.ctx->journal) return notify(self, 0, {}, 0);
  auto b = std::make_shared<persistence::write_batch>();
  b->put_trip(st.t);  // same sequence: a new PIN is no transition and no event
  self->request(st.ctx->journal, caf::infinite, commit_atom::value, std::move(b))
      .await(
          [=](commit_outcome& o) {
            if (o.code != errc::ok) log_not_durable(self, o);
            notify(self, 0, {}, 0);
          },
          [=](caf::error& e) {
            log_not_durable(self, commit_outcome{errc::storage_error, caf::to_string(e)});
            notify(self, 0, {}, 0);
          });
}

void on_command(trip_self* self, trip_command& c) {
  auto& st = self->state;
  if (is_terminal(st.t.state) && (c.reply.session || c.answer_to)) {
    auto why = to_string(st.t.id) + " is already " + std::string(to_string(st.t.state));
    if (c.answer_to) return answer_error(c.answer_to, errc::illegal_transition, std::move(why));
    return st.ctx->send_error(c.reply, errc::illegal_transition, std::move(why));
  }
  const bool busy = c.kind == trip_event_kind::decline && c.by == party::system;
  trip_event ev;
  ev.kind = c.kind;
  ev.at_ms = st.ctx->now();
  ev.driver = c.driver;
  ev.pin = c.pin;
  ev.by = c.by;
  ev.reason = c.reason;
  const auto before = st.t;
  const auto from = st.t.state;
  const auto offered_to = st.t.offered_to;
  const auto assigned = st.t.driver;
  auto r = apply(st.t, ev, st.rules);
  if (!r && r.err().code == errc::wrong_pin) return on_wrong_pin(self, c);
  if (!r) {
    if (c.answer_to) return answer_error(c.answer_to, r.err().code, r.err().message);
    if (c.reply.session) st.ctx->send_error(c.reply, r.err().code, r.err().message);
    return;
  }
  durably(
      self, before, schemas::event_type_of(c.kind), from,
      [=] {
        after_command(self, c, from, offered_to, assigned, busy, *r);
        // A synchronous (HTTP) caller hears only now: the transition is durable.
        if (c.answer_to)
          tell(c.answer_to, answer_atom::value, trip_answer{errc::ok, {}, view(self->state, true)});
      },
      [=](const commit_outcome& o) {
        log_not_durable(self, o);
        answer_error(c.answer_to, o.code, o.message);
        if (c.reply.session) self->state.ctx->send_error(c.reply, o.code, o.message);
        if (busy && self->state.matcher)  // nobody else will put the offer back
          self->send(self->state.matcher, offer_closed{self->state.t.id, offered_to, false, false});
      });
}

// An offer is not an acknowledgement: the driver gets it at once (not in
// cluster mode: there it waits for the commit, see below), and the
// `offered` batch is committed after it (durably() awaits it, so no answer of
// the driver, nor anything else, is handled before the offer is on disk or
// void). The rider hears `offered` and the offer's timer starts only once it
// is durable. If the batch is refused the offer was never made: the trip is
// `requested` again, the driver hears the offer is gone and the matcher gets
// the driver back. If the node dies first, recovery finds the trip
// `requested` (an `offered` one it times out as well) and offers it again.
void on_offer(trip_self* self, offer_to& o) {
  auto& st = self->state;
  trip_event ev;
  ev.kind = trip_event_kind::offer;
  ev.at_ms = st.ctx->now();
  ev.driver = o.driver;
  const auto before = st.t;
  const auto from = st.t.state;
  if (!apply(st.t, ev, st.rules)) {  // cancelled meanwhile: the driver is free
    if (st.matcher) self->send(st.matcher, offer_closed{st.t.id, o.driver, false, true});
    return;
  }
  if (!st.quoted && st.t.offers_made == 1) st.t.surge_permille = o.surge_permille;
  const auto estimate_before = st.fare_estimate;
  if (!st.quoted && st.fare_estimate == 0) {
    if (auto f = route_fare(*st.reg, st.t, st.t.surge_permille)) st.fare_estimate = f->total_minor;
  }
  st.offered_actor = caf::actor_cast<driver_handle>(o.driver_actor);
  schemas::offer w{st.t.id,          st.t.pickup,           st.t.dropoff,          o.pickup_eta_s,
                   st.fare_estimate, st.reg->fare.currency, st.t.offer_deadline_ms};
  const std::int64_t first = st.offer_answered ? 0 : st.request_in_us;
  // Cluster mode (shard ownership): the offer waits for its commit. A node
  // frozen past its session timeout must not get an offer out when it wakes
  // (issue 9): its commit is fenced, and a driver must not see, let alone
  // drive to, a ride the group's new owner may have ended or given to another.
  const bool offer_first = !st.ctx->groups->clustered();
  if (offer_first) self->send(st.offered_actor, offer_delivery{w, self, first});
  const auto offer = st.t.offers_made;
  durably(
      self, before, schemas::trip_event_type::offered, from,
      [=] {
        if (!offer_first) self->send(self->state.offered_actor, offer_delivery{w, self, first});
        // This actor owns the offer's deadline (offer_deadline_ms) and its
        // timer; the matcher only hears how the offer closed. Real time, as
        // offer_timeout says.
        self->delayed_send(self, self->state.ctx->offer_timeout(*self->state.reg),
                           offer_timed_out{o.driver, offer});
        moved(self, from, ev.kind, party::system);
        notify(self, 0, {}, 0);
      },
      [=](const commit_outcome& oc) {
        log_not_durable(self, oc);
        // durably() put the trip back to `requested`: withdraw the offer the
        // driver already has (it sees it expire; in cluster mode it never got
        // it) and free the driver; the matcher offers the trip to someone else.
        self->state.fare_estimate = estimate_before;
        close_offer(self, o.driver, false, true, trip_state::expired, offer_first);
      });
}

// Applies a system event (offer timeout, expiry) durably; retried in a second
// when the store refuses it.
template <class Then>
void system_event(trip_self* self, trip_event ev, Then then) {
  auto& st = self->state;
  const auto before = st.t;
  const auto from = st.t.state;
  if (!apply(st.t, ev, st.rules)) return;
  durably(
      self, before, schemas::event_type_of(ev.kind), from, [=] { then(from); },
      [=](const commit_outcome& o) {
        log_not_durable(self, o);
        if (ev.kind == trip_event_kind::expire)
          self->delayed_send(self, std::chrono::seconds(1), expire_atom::value);
        else if (ev.kind == trip_event_kind::cancel)  // no_driver_available
          self->delayed_send(self, std::chrono::seconds(1),
                             no_driver_found{self->state.search_radius_m});
        else
          self->delayed_send(self, std::chrono::seconds(1), offer_timed_out{ev.driver});
      });
}

void on_offer_timeout(trip_self* self, driver_id d, std::uint32_t offer) {
  auto& st = self->state;
  if (st.t.state != trip_state::offered || st.t.offered_to != d) return;
  if (offer != 0 && offer != st.t.offers_made) return;  // an earlier offer's timer
  trip_event ev;
  ev.kind = trip_event_kind::offer_timeout;
  // The timer runs on real time, the trip on the injected clock.
  ev.at_ms = std::max(st.ctx->now(), st.t.offer_deadline_ms);
  ev.driver = d;
  system_event(self, ev, [=](trip_state) {
    moved(self, trip_state::offered, trip_event_kind::offer_timeout, party::system);
    offer_ended(self, offer_outcome::timed_out);
    close_offer(self, d, false, true);
    notify(self, 0, {}, 0);
  });
}

void on_expire(trip_self* self) {
  auto& s = self->state;
  if (s.t.state != trip_state::requested && s.t.state != trip_state::offered) return;
  auto offered_to = s.t.offered_to;
  trip_event ev;
  ev.kind = trip_event_kind::expire;
  ev.at_ms = std::max(s.ctx->now(), s.t.requested_at_ms + s.rules.request_ttl_ms);
  system_event(self, ev, [=](trip_state from) {
    moved(self, from, trip_event_kind::expire, party::system);
    if (from == trip_state::offered) {
      offer_ended(self, offer_outcome::withdrawn);
      close_offer(self, offered_to, false, true);
    }
    notify(self, 0, {}, 0);
    finish(self);
  });
}

// The matcher's search widened: the rider sees the radius (a trip_status push).
void on_search_progress(trip_self* self, std::uint32_t radius_m) {
  auto& st = self->state;
  st.search_radius_m = radius_m;
  if (st.t.state == trip_state::requested) notify(self, 0, {}, 0);
}

// The matcher found no driver within its largest radius for no_driver_timeout
// and forgot the request: it ends now, durably, like a free cancel (the hold
// is voided), cancelled by the system with reason no_driver_available —
// instead of expiring at the end of its TTL.
void on_no_driver(trip_self* self, std::uint32_t radius_m) {
  auto& st = self->state;
  if (st.t.state != trip_state::requested) return;  // offered meanwhile, or over
  st.search_radius_m = radius_m;
  trip_event ev;
  ev.kind = trip_event_kind::cancel;
  ev.by = party::system;
  ev.reason = std::string(to_string(errc::no_driver_available));
  ev.at_ms = st.ctx->now();
  system_event(self, ev, [=](trip_state from) {
    moved(self, from, trip_event_kind::cancel, party::system);
    self->state.ctx->stats.no_driver_cancel();
    notify(self, 0, {}, 0);
    finish(self);
  });
}

// Arms the request TTL from requested_at (a recovered trip has less left).
void arm_expiry(trip_self* self) {
  auto& st = self->state;
  auto left = st.t.requested_at_ms + st.rules.request_ttl_ms - st.ctx->now();
  self->delayed_send(self, std::chrono::milliseconds(std::max<std::int64_t>(left, 0)),
                     expire_atom::value);
}

void ask_matcher(trip_self* self) {
  auto& st = self->state;
  if (st.matcher) self->send(st.matcher, dispatch_request{st.t.id, st.t.pickup, self});
}

// A new trip: durable `requested` first, then the rider hears and dispatch starts.
void start_new(trip_self* self, const trip_init& init) {
  auto& st = self->state;
  auto& t = st.t;
  t.id = init.id;
  t.rider = init.rider;
  t.pickup = init.pickup;
  t.dropoff = init.dropoff;
  t.requested_at_ms = st.ctx->now();
  t.pin = auth::new_pickup_pin();  // CSPRNG: nothing the driver sees predicts it
  if (st.quoted) {
    t.surge_permille = static_cast<std::int32_t>(st.quoted->surge_per_mille);
    t.quoted_fare_minor = st.quoted->fare.total_minor;
    st.fare_estimate = st.quoted->fare.total_minor;
  } else {  // no quote: hold the fare estimate (no surge yet), capture the receipt's fare
    if (auto f = route_fare(*st.reg, t, t.surge_permille)) t.hold_minor = f->total_minor;
  }
  const auto reply_seq = init.reply_seq;
  durably(
      self, t, schemas::trip_event_type::requested, trip_state::requested,
      [=] {
        auto& s = self->state;
        s.ctx->stats.trip_started(s.t.state);
        s.ctx->fleet->trip(s.t);
        if (auto& log = logger(); log.should_log(spdlog::level::info))
          log.info(
              "event=trip_transition trip={} rider={} driver=- from=- to={} cause=request "
              "by=rider",
              to_string(s.t.id), to_string(s.t.rider), to_string(s.t.state));
        notify(self, reply_seq, {}, 0);
        ask_matcher(self);
        arm_expiry(self);
      },
      [=](const commit_outcome& o) {  // the trip never existed
        log_not_durable(self, o);
        auto& s = self->state;
        self->send(s.rider_actor, trip_failed{s.t.id, o.code, o.message, reply_seq});
        self->send(directory_of(*s.ctx), forget_atom::value, s.t.id);
        self->quit();
      });
}

// A trip read back from the store after a restart: picks up where it was.
void start_recovered(trip_self* self, const rideshard::trip& t, const driver_handle& driver) {
  auto& st = self->state;
  st.t = t;
  if (t.quoted_fare_minor > 0) {  // upfront price: rebuild the quote's breakdown
    schemas::quote q;
    if (auto f = route_fare(*st.reg, t, t.surge_permille)) q.fare = wire_fare(*f);
    q.fare.total_minor = t.quoted_fare_minor;
    q.surge_per_mille = static_cast<std::uint32_t>(t.surge_permille);
    st.quoted = q;
    st.fare_estimate = t.quoted_fare_minor;
  }
  st.ctx->stats.trip_started(t.state);
  st.ctx->fleet->trip(t);
  st.offer_answered = true;  // not a first offer: no request->offer sample
  switch (t.state) {
    case trip_state::offered: {  // the driver never saw an answerable offer: re-dispatch
      trip_event ev;
      ev.kind = trip_event_kind::offer_timeout;
      ev.at_ms = std::max(st.ctx->now(), t.offer_deadline_ms);
      ev.driver = t.offered_to;
      system_event(self, ev, [=](trip_state from) {
        moved(self, from, trip_event_kind::offer_timeout, party::system);
        notify(self, 0, {}, 0);  // the rider holds the trip again (resume, cancel)
        ask_matcher(self);
        arm_expiry(self);
      });
      break;
    }
    case trip_state::requested:
      notify(self, 0, {}, 0);  // the rider holds the trip again (resume, cancel)
      ask_matcher(self);
      arm_expiry(self);
      break;
    default:  // accepted, arrived, in progress: driver and rider hold it again
      st.driver_actor = driver;
      notify(self, 0, st.driver_actor, 0);
      break;
  }
}

trip_handle::behavior_type trip_actor(trip_self* self, context_ptr ctx, trip_init init) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  const auto pickup = init.recovered ? init.recovered->pickup : init.pickup;
  auto key = shard_of(st.ctx->regions, pickup);
  st.reg = &st.ctx->regions.at(key ? key->region : 0);
  st.rules = st.reg->trip;
  st.rules.offer_timeout_ms = st.ctx->offer_timeout(*st.reg).count();
  st.matcher = init.matcher;
  st.rider_actor = init.rider_actor;
  st.quoted = init.quoted;
  st.request_in_us = init.request_in_us;
  st.search_radius_m = first_radius(st);
  if (init.recovered)
    start_recovered(self, *init.recovered, init.driver);
  else
    start_new(self, init);
  return {
      [=](offer_to& o) { on_offer(self, o); },
      [=](search_progress& p) { on_search_progress(self, p.radius_m); },
      [=](no_driver_found& n) { on_no_driver(self, n.radius_m); },
      [=](trip_command& c) { on_command(self, c); },
      [=](offer_timed_out& t) { on_offer_timeout(self, t.driver, t.offer); },
      [=](expire_atom) { on_expire(self); },
      [=](snapshot_atom) -> snapshot_answer { return {view(self->state, true)}; },
      [=](stop_atom) {
        self->state.ctx->stats.trip_stopped(self->state.t.state);
        self->state.ctx->fleet->trip_gone(self->state.t.id);
        self->send(directory_of(*self->state.ctx), forget_atom::value, self->state.t.id);
        self->quit();
      },
  };
}

}  // namespace

trip_handle spawn_trip_actor(caf::actor_system& sys, context_ptr ctx, trip_init init) {
  return sys.spawn(trip_actor, std::move(ctx), std::move(init));
}

}  // namespace rideshard::node
