// driver_actor: availability, last position, the open offer and the current
// trip of one driver. Validates every location sample before using it.
#include "node/driver_actor.hpp"

#include <cmath>

#include "node/analytics_events.hpp"
#include "node/location_relay.hpp"
#include "node/shard_directory.hpp"

namespace rideshard::node {
namespace {

struct driver_state {
  context_ptr ctx;
  driver_id id;
  session_ref session;  ///< the app's session, if connected
  bool online = false;
  std::optional<schemas::location_sample> last;
  location_sampler sampler;   ///< rideshard.driver-locations.v1 (durable node)
  matcher_handle indexed_in;  ///< matcher holding us as available, if any
  /// The shard we last looked up at the directory (one entry: drivers rarely
  /// cross a shard edge), so a location frame needs no round trip.
  std::optional<shard_key> cached_key;
  matcher_handle cached_shard;
  std::uint64_t cached_epoch = 0;  ///< ctx->groups->epoch() when cached_shard was asked for
  // The open offer (at most one).
  trip_id offer_trip;
  trip_handle offer_actor;
  // The current trip (at most one).
  std::optional<schemas::trip_status> trip;
  trip_handle trip_actor;
  rider_handle rider_actor;
  std::uint64_t idle_gen = 0;
  bool stopping = false;
  static inline const char* name = "driver_actor";
};
using driver_self = caf::stateful_actor<driver_state, driver_handle::base>;

bool busy(const driver_state& st) { return st.offer_trip.valid() || st.trip.has_value(); }

// An update for matcher m: straight to it on this node; through the node's
// location relay (batched per node) when m is another node's (cluster mode),
// withdrawals included, so they stay behind the positions sent before them.
void to_matcher(driver_self* self, const matcher_handle& m, driver_avail a) {
  auto& st = self->state;
  if (st.ctx->locations && m->node() != self->node())
    return self->send(caf::actor_cast<location_relay_handle>(st.ctx->locations),
                      location_out{0, m, std::move(a)});
  if (a.withdrawn) return self->send(m, driver_unavail{a.driver});
  self->send(m, std::move(a));
}

// Withdraws us from the matcher holding us as available. Same path as our
// positions: it arrives after every position we sent, so a withdrawal wins.
void unindex(driver_self* self) {
  auto& st = self->state;
  if (st.indexed_in) {
    driver_avail gone{st.id, {}, {}, false};
    gone.withdrawn = true;
    to_matcher(self, st.indexed_in, std::move(gone));
  }
  st.indexed_in = nullptr;
}

// Shows our position and state on the admin console's map.
void show(driver_self* self) {
  auto& st = self->state;
  if (!st.last) return;
  auto look = driver_look::offline;
  if (st.trip)
    look = st.trip->state == trip_state::in_progress ? driver_look::on_trip : driver_look::en_route;
  else if (st.offer_trip.valid())
    look = driver_look::offered;
  else if (st.online && st.session)
    look = driver_look::available;
  st.ctx->fleet->driver(st.id, st.last->pos, look, st.ctx->now());
}

void deposit(driver_self* self, const matcher_handle& m);

// Runs then(shard) with the shard of pos: from the one-entry cache, else asked
// of the directory. The request is awaited (no other message runs meanwhile),
// so a frame's deposit still precedes its ack and later frames.
template <class Then>
void with_shard(driver_self* self, lat_lng pos, Then then) {
  auto& st = self->state;
  auto key = shard_of(st.ctx->regions, pos);
  if (!key) return then(matcher_handle{});
  // Cluster mode: a stop of a shard group here (new epoch) may have stopped the cached matcher.
  if (st.cached_key && *st.cached_key == *key && st.cached_epoch == st.ctx->groups->epoch())
    return then(st.cached_shard);
  const auto epoch = st.ctx->groups->epoch();
  self->request(directory_of(*st.ctx), caf::infinite, shard_atom::value, *key)
      .await(
          [=](matcher_handle& h) {
            auto& s = self->state;
            if (h) s.cached_key = *key;  // invalid: shutting down, ask again
            s.cached_epoch = epoch;
            s.cached_shard = h;
            then(h);
          },
          [=](caf::error&) { then(matcher_handle{}); });
}

// Tells the matcher of our current shard that we are available (or not): the
// position goes into the shard's buffer (last write wins), which the matcher
// applies in one batch on its timer or before its next index read. `then`
// runs once that is done.
template <class Then>
void announce(driver_self* self, Then then) {
  auto& st = self->state;
  show(self);
  if (!st.online || busy(st) || !st.last) {
    unindex(self);
    return then();
  }
  with_shard(self, st.last->pos, [=](const matcher_handle& m) {
    deposit(self, m);
    then();
  });
}

void announce(driver_self* self) {
  announce(self, [] {});
}

// The position part of announce, once the shard is known.
// One message per call (per accepted frame, not per sample); the matcher
// buffers them and applies one batch per flush.
void deposit(driver_self* self, const matcher_handle& m) {
  auto& st = self->state;
  if (st.indexed_in && st.indexed_in != m) unindex(self);
  const bool fresh = !st.indexed_in;  // newly available here: parked requests may wait
  st.indexed_in = m;
  if (!m) return;
  to_matcher(self, m, driver_avail{st.id, st.last->pos, caf::actor_cast<caf::actor>(self), fresh});
}

void arm_idle(driver_self* self) {
  auto gen = ++self->state.idle_gen;
  self->delayed_send(self, self->state.ctx->opts.idle_timeout, idle_atom::value, gen);
}

// Validates samples in order; returns how many were accepted and the first error.
std::uint32_t take_samples(driver_self* self, const schemas::location_batch& b, error& first) {
  auto& st = self->state;
  std::uint32_t accepted = 0;
  bool jumped = false;  // one fraud signal per frame, however many samples jumped
  const auto now = st.ctx->now();
  for (const auto& s : b.samples) {
    errc code = errc::ok;
    std::string why;
    if (!validate(s.pos)) {
      code = errc::invalid_coordinate, why = "coordinates out of range";
    } else if (s.timestamp_ms > now + st.ctx->opts.max_future_skew_ms) {
      code = errc::future_timestamp, why = "sample is ahead of the server clock";
    } else if (st.last && s.timestamp_ms <= st.last->timestamp_ms) {
      code = errc::stale_timestamp, why = "sample is not newer than the last accepted one";
    } else if (st.last) {
      double dt = static_cast<double>(s.timestamp_ms - st.last->timestamp_ms) / 1000.0;
      double speed = distance_m(st.last->pos, s.pos) / dt;
      if (speed > st.ctx->opts.max_speed_mps) {
        code = errc::impossible_jump;
        why = "implied speed " + std::to_string(std::lround(speed)) + " m/s";
        jumped = true;
      }
    }
    if (code != errc::ok) {
      if (first.code == errc::ok) first = error{code, why};
      continue;
    }
    st.last = s;
    ++accepted;
  }
  if (jumped && st.ctx->opts.on_impossible_jump) st.ctx->opts.on_impossible_jump(st.id);
  return accepted;
}

void after_location(driver_self* self, const reply_to& rt, std::uint32_t accepted);

void on_location(driver_self* self, const reply_to& rt, const schemas::location_batch& b) {
  auto& st = self->state;
  error first{errc::ok, {}};
  auto accepted = take_samples(self, b, first);
  // One answer per frame: the ack when any sample was taken (its count says how
  // many; the dropped ones are still counted by code), else the first refusal.
  if (accepted == 0) return st.ctx->send_error(rt, first.code, first.message);
  if (first.code != errc::ok) st.ctx->stats.error(first.code);
  st.sampler.offer(*st.ctx, st.id, *st.last, st.online && !busy(st));  // before the ack
  // Deposited before the ack: once the app sees it, every query sees the position.
  // One buffer entry per frame (not per sample), one batch per flush.
  announce(self, [=] { after_location(self, rt, accepted); });
}

// The ack of a location frame and, during a trip, the position for the rider.
void after_location(driver_self* self, const reply_to& rt, std::uint32_t accepted) {
  auto& st = self->state;
  st.ctx->send(rt.session, schemas::ack{accepted}, rt.seq);
  if (st.trip && st.rider_actor &&
      (st.trip->state == trip_state::accepted || st.trip->state == trip_state::driver_arrived ||
       st.trip->state == trip_state::in_progress)) {
    schemas::driver_position p{st.trip->trip, st.id, *st.last, 0};
    auto dest = st.trip->state == trip_state::in_progress ? st.trip->dropoff : st.trip->pickup;
    p.eta_s = static_cast<std::uint32_t>(std::lround(distance_m(st.last->pos, dest) * 1.35 / 8.3));
    self->send(st.rider_actor, position_push{p});
  }
}

// Not our offer or trip: unknown_trip if it does not exist, else forbidden.
// An HTTP caller (`waiter`) gets the refusal instead of the connection.
void not_ours(driver_self* self, const reply_to& rt, trip_id t, errc if_exists,
              const caf::actor& waiter) {
  auto refuse = [=](bool exists) {
    auto code = exists ? if_exists : errc::unknown_trip;
    auto why = to_string(t) + (exists ? " is not offered or assigned to you" : " does not exist");
    if (waiter) return answer_error(waiter, code, std::move(why));
    self->state.ctx->send_error(rt, code, std::move(why));
  };
  // Awaited, so answers keep the order of the frames.
  self->request(directory_of(*self->state.ctx), caf::infinite, lookup_atom::value, t)
      .await([=](trip_handle& h) { refuse(static_cast<bool>(h)); },
             [=](caf::error&) { refuse(false); });
}

void to_trip(driver_self* self, const reply_to& rt, trip_id t, trip_event_kind kind,
             std::string pin = {}, std::string reason = {}, const caf::actor& waiter = {}) {
  auto& st = self->state;
  trip_command c;
  c.kind = kind;
  c.by = party::driver;
  c.driver = st.id;
  c.pin = std::move(pin);
  c.reason = std::move(reason);
  c.reply = rt;
  c.answer_to = waiter;
  bool offer = st.offer_trip == t && st.offer_actor;
  bool mine = st.trip && st.trip->trip == t && st.trip_actor;
  // Cluster mode: the trip's shard group left this node (another node serves
  // it, or its writes were fenced) and the actor we hold is its actor here,
  // stopped or stopping: a typed refusal instead of going nowhere. (A trip
  // actor on another node, the group's owner, is asked as usual.)
  const trip_handle& held = offer ? st.offer_actor : st.trip_actor;
  if ((offer || mine) && !st.ctx->groups->serves_trip(t.value) && held->node() == self->node()) {
    const int g = shard_group_of(t.value, st.ctx->groups->groups());
    if (!waiter) return st.ctx->refuse_unowned(rt, g, "the trip");
    st.ctx->stats.unowned();
    return answer_error(waiter, errc::unavailable,
                        "the trip belongs to shard group " + std::to_string(g) +
                            ", which this node no longer serves");
  }
  if (kind == trip_event_kind::accept || kind == trip_event_kind::decline) {
    if (offer) return (void)self->send(st.offer_actor, std::move(c));
    return not_ours(self, rt, t, errc::not_offered_to_driver, waiter);
  }
  if (mine) return (void)self->send(st.trip_actor, std::move(c));
  not_ours(self, rt, t, errc::forbidden, waiter);
}

void on_client(driver_self* self, client_envelope& env) {
  auto& st = self->state;
  reply_to rt{env.session, env.msg.seq};
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, schemas::go_online>) {
          st.online = true;
          // Announced before the ack: once the app sees it, a quote or a request
          // finds this driver (a local matcher has the deposit in its mailbox).
          announce(self, [=] { self->state.ctx->send(rt.session, schemas::ack{1}, rt.seq); });
        } else if constexpr (std::is_same_v<T, schemas::go_offline>) {
          st.online = false;
          unindex(self);
          show(self);
          st.ctx->send(rt.session, schemas::ack{1}, rt.seq);
        } else if constexpr (std::is_same_v<T, schemas::location_batch>) {
          on_location(self, rt, m);
        } else if constexpr (std::is_same_v<T, schemas::accept_offer>) {
          to_trip(self, rt, m.trip, trip_event_kind::accept);
        } else if constexpr (std::is_same_v<T, schemas::decline_offer>) {
          to_trip(self, rt, m.trip, trip_event_kind::decline, {}, m.reason);
        } else if constexpr (std::is_same_v<T, schemas::arrived>) {
          to_trip(self, rt, m.trip, trip_event_kind::arrive);
        } else if constexpr (std::is_same_v<T, schemas::start_trip>) {
          to_trip(self, rt, m.trip, trip_event_kind::start, m.pin);
        } else if constexpr (std::is_same_v<T, schemas::complete_trip>) {
          to_trip(self, rt, m.trip, trip_event_kind::complete);
        } else if constexpr (std::is_same_v<T, schemas::cancel_trip>) {
          to_trip(self, rt, m.trip, trip_event_kind::cancel, {}, m.reason);
        } else {
          st.ctx->send_error(rt, errc::forbidden, "not a driver message");
        }
      },
      env.msg.body);
}

void on_offer(driver_self* self, offer_delivery& d) {
  auto& st = self->state;
  if (!st.online || busy(st) || !st.session) {  // the owner of availability says no
    trip_command c;
    c.kind = trip_event_kind::decline;
    c.by = party::system;
    c.driver = st.id;
    c.reason = "busy";
    self->send(d.trip_actor, std::move(c));
    return;
  }
  // The matcher removed us when it made the offer; a position we sent before
  // it arrived must not put us back: withdraw it (it arrives after them).
  unindex(self);
  st.offer_trip = d.wire.trip;
  st.offer_actor = d.trip_actor;
  st.ctx->stats.offer_made(
      d.request_in_us);  // before the frame: a client that sees it sees the count
  show(self);
  st.ctx->send(st.session, d.wire);
}

void on_update(driver_self* self, trip_update& u, std::uint64_t seq) {
  auto& st = self->state;
  const auto& s = u.status;
  if (st.offer_trip == s.trip) {
    st.offer_trip = {};
    st.offer_actor = nullptr;
  }
  bool ours = s.driver == st.id && !is_terminal(s.state) && s.state != trip_state::requested &&
              s.state != trip_state::offered;
  if (ours) {
    st.trip = s;
    st.trip_actor = u.trip_actor;
    st.rider_actor = u.rider_actor;
  } else if (st.trip && st.trip->trip == s.trip) {
    st.trip.reset();
    st.trip_actor = nullptr;
    st.rider_actor = nullptr;
  }
  st.ctx->send(st.session, s, seq);
  if (u.receipt) st.ctx->send(st.session, *u.receipt);
  announce(self);
}

driver_handle::behavior_type driver_actor(driver_self* self, context_ptr ctx, driver_id id) {
  self->state.ctx = std::move(ctx);
  self->state.id = id;
  arm_idle(self);
  return {
      [=](attach_atom, attach_request& a) {
        auto& st = self->state;
        if (st.session && st.session != a.session)
          st.ctx->close(st.session, "replaced by a new connection");
        st.session = a.session;
        schemas::welcome w{a.who.subject, schemas::role::driver, a.resume && st.trip.has_value(),
                           st.trip};
        st.ctx->send(st.session, std::move(w), a.seq);
      },
      [=](detach_atom, std::uint64_t conn_id) {
        auto& st = self->state;
        if (!st.session || st.session.id != conn_id) return;
        st.session = {};
        if (!st.trip) {  // nobody to show offers to: stop matching this driver
          st.online = false;
          unindex(self);
          st.ctx->fleet->driver_gone(st.id);  // the console maps connected drivers
        }
        arm_idle(self);
      },
      [=](client_atom, client_envelope& env) { on_client(self, env); },
      [=](offer_delivery& d) { on_offer(self, d); },
      [=](http_cmd_atom, http_trip_command& c) {  // PUT /api/trips/{id}/status
        to_trip(self, {}, c.trip, c.kind, std::move(c.pin), std::move(c.reason), c.answer_to);
      },
      [=](offer_withdrawn& w) {
        auto& st = self->state;
        if (st.offer_trip != w.trip) return;
        st.offer_trip = {};
        st.offer_actor = nullptr;
        if (w.show) st.ctx->send(st.session, std::move(w.shown));
        announce(self);
      },
      [=](update_atom, trip_update& u, std::uint64_t seq) { on_update(self, u, seq); },
      [=](idle_atom, std::uint64_t gen) {
        auto& st = self->state;
        if (gen != st.idle_gen || st.stopping) return;
        if (st.session || busy(st)) return arm_idle(self);
        // Passivate: nothing to persist yet (soft state), the next message revives.
        // Leave the directory first: once it answers, nothing it forwards reaches us.
        self->request(directory_of(*st.ctx), caf::infinite, forget_atom::value, st.id,
                      driver_handle{self})
            .await(
                [=](bool released) {
                  if (!released) return;
                  self->state.stopping = true;
                  unindex(self);
                  self->send(self, stop_atom::value);
                },
                [](caf::error&) {});
      },
      [=](stop_atom) {
        auto& st = self->state;
        if (st.ctx->opts.on_passivated) st.ctx->opts.on_passivated(to_string(st.id));
        st.ctx->fleet->driver_gone(st.id);
        self->quit();
      },
  };
}

}  // namespace

driver_handle spawn_driver_actor(caf::actor_system& sys, context_ptr ctx, driver_id id) {
  return sys.spawn(driver_actor, std::move(ctx), id);
}

}  // namespace rideshard::node
