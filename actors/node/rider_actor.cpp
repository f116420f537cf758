// rider_actor: quotes, the rider's one active trip, and relaying trip updates
// and the assigned driver's positions to the rider's connection.
#include "node/rider_actor.hpp"

#include <map>
#include <utility>

#include "node/shard_directory.hpp"

namespace rideshard::node {
namespace {

struct rider_state {
  context_ptr ctx;
  rider_id id;
  session_ref session;                       ///< the app's session, if connected
  std::map<quote_id, quote_answer> quotes;   ///< unexpired quotes (pruned on use)
  std::optional<schemas::trip_status> trip;  ///< the active trip, if any
  trip_id creating;                          ///< trip requested, first update pending
  caf::actor creating_waiter;                ///< HTTP caller waiting for `creating`
  trip_handle trip_actor;
  std::uint64_t idle_gen = 0;
  bool stopping = false;
  static inline const char* name = "rider_actor";
};
using rider_self = caf::stateful_actor<rider_state, rider_handle::base>;

bool has_trip(const rider_state& st) { return st.trip.has_value() || st.creating.valid(); }

void arm_idle(rider_self* self) {
  auto gen = ++self->state.idle_gen;
  self->delayed_send(self, self->state.ctx->opts.idle_timeout, idle_atom::value, gen);
}

// Why a request for shard group `group` failed at the directory: no node
// served it within [cluster] handoff_wait, or its owner did not answer.
std::string no_owner(int group) {
  return "the pickup belongs to shard group " + std::to_string(group) +
         ", which no node serves right now (a handoff is in progress, or its owner did not "
         "answer): retry";
}

void prune_quotes(rider_state& st) {
  auto now = st.ctx->now();
  for (auto it = st.quotes.begin(); it != st.quotes.end();)
    it = it->second.wire.expires_at_ms < now ? st.quotes.erase(it) : std::next(it);
}

void on_quote(rider_self* self, const reply_to& rt, const schemas::quote_request& q) {
  auto& st = self->state;
  if (!validate(q.pickup) || !validate(q.dropoff))
    return st.ctx->send_error(rt, errc::invalid_coordinate, "pickup or dropoff out of range");
  auto key = shard_of(st.ctx->regions, q.pickup);
  if (!key || !shard_of(st.ctx->regions, q.dropoff))
    return st.ctx->send_error(rt, errc::out_of_region, "pickup or dropoff outside every region");
  // Cluster mode: the directory asks the owner of the pickup's shard group
  // (the matcher may be another node's; its answer comes back here).
  const int group = shard_group_of(*key, st.ctx->groups->groups());
  self->request(directory_of(*st.ctx), caf::infinite, shard_atom::value, *key)
      .then(
          [=](matcher_handle& m) {
            if (!m) return self->state.ctx->send_error(rt, errc::unavailable, "shutting down");
            self->send(m, quote_ask{q, rt, caf::actor_cast<caf::actor>(self), self->state.id});
          },
          [=](caf::error&) {
            self->state.ctx->send_error(rt, errc::unavailable, no_owner(group));
          });
}

// A refusal goes to the HTTP caller when there is one, else to the frame's connection.
void refuse(rider_self* self, const reply_to& rt, const caf::actor& waiter, errc code,
            std::string why) {
  if (waiter) return answer_error(waiter, code, std::move(why));
  self->state.ctx->send_error(rt, code, std::move(why));
}

// `waiter` (HTTP) hears the trip once `requested` is durable (first update_atom).
void on_ride(rider_self* self, const reply_to& rt, const schemas::ride_request& r,
             std::int64_t request_in_us, const caf::actor& waiter = {}) {
  auto& st = self->state;
  if (has_trip(st))
    return refuse(self, rt, waiter, errc::illegal_transition,
                  "the rider already has an active trip");
  if (!validate(r.pickup) || !validate(r.dropoff))
    return refuse(self, rt, waiter, errc::invalid_coordinate, "pickup or dropoff out of range");
  const auto key = shard_of(st.ctx->regions, r.pickup);
  if (!key || !shard_of(st.ctx->regions, r.dropoff))
    return refuse(self, rt, waiter, errc::out_of_region, "pickup or dropoff outside every region");
  // Cluster mode: the trip takes its pickup shard's group (trip and matcher
  // share an owner); the directory spawns it on the group's owner, maybe
  // another node (the trip's updates come back to this actor).
  const int group = shard_group_of(*key, st.ctx->groups->groups());
  std::optional<schemas::quote> quoted;
  if (r.quote) {
    prune_quotes(st);
    auto it = st.quotes.find(*r.quote);
    if (it == st.quotes.end())
      return refuse(self, rt, waiter, errc::invalid_argument, "unknown or expired quote");
    quoted = it->second.wire;
    st.quotes.erase(it);
  }
  trip_id t{st.ctx->next_trip_id(group)};
  st.creating = t;
  st.creating_waiter = waiter;
  trip_init init;
  init.id = t;
  init.rider = st.id;
  init.rider_actor = self;
  init.pickup = r.pickup;
  init.dropoff = r.dropoff;
  init.quoted = std::move(quoted);
  init.reply_seq = rt.seq;
  init.request_in_us = request_in_us;
  // Awaited: the trip's first update cannot overtake its handle.
  auto failed = [=](std::string why) {
    auto& s = self->state;
    if (s.creating != t) return;
    s.creating = {};
    refuse(self, rt, std::exchange(s.creating_waiter, nullptr), errc::unavailable, std::move(why));
  };
  self->request(directory_of(*st.ctx), caf::infinite, create_atom::value, std::move(init))
      .await(
          [=](trip_handle& h) {
            if (!h) return failed("shutting down");
            self->state.trip_actor = std::move(h);
          },
          [=](caf::error&) { failed(no_owner(group)); });
}

// Riders may only cancel, and only their own active trip.
void on_cancel(rider_self* self, const reply_to& rt, trip_id trip, std::string reason,
               const caf::actor& waiter = {}) {
  auto& st = self->state;
  bool mine = (st.trip && st.trip->trip == trip) || st.creating == trip;
  // Cluster mode: the trip's shard group left this node and the actor we hold
  // is its actor here (see the driver's to_trip); another node's is asked.
  if (mine && st.trip_actor && !st.ctx->groups->serves_trip(trip.value) &&
      st.trip_actor->node() == self->node()) {
    const int g = shard_group_of(trip.value, st.ctx->groups->groups());
    if (!waiter) return st.ctx->refuse_unowned(rt, g, "the trip");
    st.ctx->stats.unowned();
    return answer_error(waiter, errc::unavailable,
                        "the trip belongs to shard group " + std::to_string(g) +
                            ", which this node no longer serves");
  }
  if (mine && st.trip_actor) {
    trip_command cmd;
    cmd.kind = trip_event_kind::cancel;
    cmd.by = party::rider;
    cmd.rider = st.id;
    cmd.reason = std::move(reason);
    cmd.reply = rt;
    cmd.answer_to = waiter;
    return (void)self->send(st.trip_actor, std::move(cmd));
  }
  // Awaited, so answers keep the order of the frames.
  self->request(directory_of(*st.ctx), caf::infinite, lookup_atom::value, trip)
      .await(
          [=](trip_handle& h) {
            if (!h)
              return refuse(self, rt, waiter, errc::unknown_trip,
                            to_string(trip) + " does not exist");
            refuse(self, rt, waiter, errc::forbidden, to_string(trip) + " is not your active trip");
          },
          [=](caf::error&) {
            refuse(self, rt, waiter, errc::unknown_trip, to_string(trip) + " does not exist");
          });
}

void on_client(rider_self* self, client_envelope& env) {
  auto& st = self->state;
  reply_to rt{env.session, env.msg.seq};
  if (auto* q = std::get_if<schemas::quote_request>(&env.msg.body)) return on_quote(self, rt, *q);
  if (auto* r = std::get_if<schemas::ride_request>(&env.msg.body))
    return on_ride(self, rt, *r, env.received_at_us);
  if (auto* c = std::get_if<schemas::cancel_trip>(&env.msg.body))
    return on_cancel(self, rt, c->trip, c->reason);
  st.ctx->send_error(rt, errc::forbidden, "not a rider message");
}

rider_handle::behavior_type rider_actor(rider_self* self, context_ptr ctx, rider_id id) {
  self->state.ctx = std::move(ctx);
  self->state.id = id;
  arm_idle(self);
  return {
      [=](attach_atom, attach_request& a) {
        auto& st = self->state;
        if (st.session && st.session != a.session)
          st.ctx->close(st.session, "replaced by a new connection");
        st.session = a.session;
        schemas::welcome w{a.who.subject, schemas::role::rider, a.resume && st.trip.has_value(),
                           st.trip};
        st.ctx->send(st.session, std::move(w), a.seq);
      },
      [=](detach_atom, std::uint64_t conn_id) {
        auto& st = self->state;
        if (st.session && st.session.id == conn_id) st.session = {};
        arm_idle(self);
      },
      [=](client_atom, client_envelope& env) { on_client(self, env); },
      [=](http_ride_atom, http_ride& r) {
        on_ride(self, {}, r.req, r.received_at_us, r.answer_to);
      },
      [=](http_cmd_atom, http_trip_command& c) {
        if (c.kind != trip_event_kind::cancel)
          return answer_error(c.answer_to, errc::forbidden, "riders may only cancel a trip");
        on_cancel(self, {}, c.trip, std::move(c.reason), c.answer_to);
      },
      [=](quote_answer& a) {
        auto& st = self->state;
        prune_quotes(st);
        st.ctx->send(a.reply.session, a.wire, a.reply.seq);
        st.quotes[a.wire.id] = std::move(a);
      },
      [=](update_atom, trip_update& u, std::uint64_t reply_seq) {
        auto& st = self->state;
        if (st.creating == u.status.trip) {
          st.creating = {};
          // `requested` is durable now (or the trip already moved on): answer the HTTP caller.
          if (st.creating_waiter)
            tell(st.creating_waiter, answer_atom::value, trip_answer{errc::ok, {}, u.status});
          st.creating_waiter = nullptr;
        }
        if (is_terminal(u.status.state)) {
          if (st.trip && st.trip->trip == u.status.trip) st.trip.reset();
          if (!st.trip) st.trip_actor = nullptr;
        } else {
          st.trip = u.status;
          st.trip_actor = u.trip_actor;
        }
        st.ctx->send(st.session, u.status, reply_seq);
        if (u.receipt) st.ctx->send(st.session, *u.receipt);
      },
      [=](trip_failed& f) {
        auto& st = self->state;  // the trip could not be made durable: it never existed
        caf::actor waiter;
        if (st.creating == f.trip) {
          st.creating = {};
          st.trip_actor = nullptr;
          waiter = std::exchange(st.creating_waiter, nullptr);
        }
        if (waiter) return answer_error(waiter, f.code, std::move(f.message));
        st.ctx->send_error({st.session, f.seq}, f.code, std::move(f.message));
      },
      [=](position_push& p) {
        auto& st = self->state;
        if (!st.trip || st.trip->trip != p.wire.trip) return;
        st.trip->driver_position = p.wire.position.pos;
        st.ctx->send(st.session, p.wire);
      },
      [=](idle_atom, std::uint64_t gen) {
        auto& st = self->state;
        if (gen != st.idle_gen || st.stopping) return;
        if (st.session || has_trip(st)) return arm_idle(self);
        // Leave the directory first: once it answers, nothing it forwards reaches us.
        self->request(directory_of(*st.ctx), caf::infinite, forget_atom::value, st.id,
                      rider_handle{self})
            .await(
                [=](bool released) {
                  if (!released) return;
                  self->state.stopping = true;
                  self->send(self, stop_atom::value);
                },
                [](caf::error&) {});
      },
      [=](stop_atom) {
        auto& st = self->state;
        if (st.ctx->opts.on_passivated) st.ctx->opts.on_passivated(to_string(st.id));
        self->quit();
      },
  };
}

}  // namespace

rider_handle spawn_rider_actor(caf::actor_system& sys, context_ptr ctx, rider_id id) {
  return sys.spawn(rider_actor, std::move(ctx), id);
}

}  // namespace rideshard::node
