// Internal actor protocol of the node: atoms, message payloads and the shared
// node context. Payloads that are plain values carry inspect() and are
// registered by add_node_message_types (node/message_types.hpp); the rest
// (connection pointers, shared jobs, steady_clock points) are still whitelisted
// as unsafe, local-only message types.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <caf/all.hpp>
#pragma GCC diagnostic pop

#include "gateway/handlers.hpp"
#include "node/dispatch_node.hpp"
#include "node/fleet_view.hpp"
#include "node/inspect.hpp"
#include "node/node_stats.hpp"
#include "node/region_switches.hpp"
#include "node/shard_groups.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/region.hpp"
#include "rideshard/engine/spatial_index.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/schemas/messages.hpp"

namespace rideshard::node {

using attach_atom = caf::atom_constant<caf::atom("attach")>;
using detach_atom = caf::atom_constant<caf::atom("detach")>;
using client_atom = caf::atom_constant<caf::atom("client")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using update_atom = caf::atom_constant<caf::atom("update")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using http_ride_atom = caf::atom_constant<caf::atom("httpride")>;
using http_cmd_atom = caf::atom_constant<caf::atom("httpcmd")>;
using answer_atom = caf::atom_constant<caf::atom("answer")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
/// (event_atom, batch_ptr): fire-and-forget analytics events (no answer).
using event_atom = caf::atom_constant<caf::atom("event")>;

// ---- actor interfaces (typed_actor): what each actor accepts, checked at compile time ----

struct offer_to;
struct trip_command;
struct offer_timed_out;
struct snapshot_answer;
struct attach_request;
struct client_envelope;
struct offer_delivery;
struct offer_withdrawn;
struct http_trip_command;
struct http_ride;
struct trip_update;
struct trip_failed;
struct quote_answer;
struct position_push;
struct commit_outcome;
struct session_opened;
struct session_closed;
struct session_frame;
struct session_close;
struct registry_route;
struct search_progress;
struct no_driver_found;

/// The trip actor (trip_actor.hpp): the single owner of one trip.
/// offer_to (matcher: offer to this driver), search_progress and
/// no_driver_found (matcher: the search widened / gave up), trip_command
/// (driver, rider, admin), offer_timed_out (its own offer timer), snapshot_atom
/// -> snapshot_answer (queries; answered after start-up and any commit in
/// flight); expire_atom and stop_atom are its own timers.
using trip_handle = caf::typed_actor<
    caf::reacts_to<offer_to>, caf::reacts_to<search_progress>, caf::reacts_to<no_driver_found>,
    caf::reacts_to<trip_command>, caf::reacts_to<offer_timed_out>, caf::reacts_to<expire_atom>,
    caf::replies_to<snapshot_atom>::with<snapshot_answer>, caf::reacts_to<stop_atom>>;

/// A driver actor (driver_actor.hpp): the single owner of one driver's
/// availability. From the facade: attach, detach (session id), client frames,
/// HTTP trip commands; from trips: offer_delivery, offer_withdrawn, trip
/// updates (with the seq of the frame they answer); idle_atom (generation) and
/// stop_atom are its own timers.
using driver_handle = caf::typed_actor<
    caf::reacts_to<attach_atom, attach_request>, caf::reacts_to<detach_atom, std::uint64_t>,
    caf::reacts_to<client_atom, client_envelope>, caf::reacts_to<offer_delivery>,
    caf::reacts_to<http_cmd_atom, http_trip_command>, caf::reacts_to<offer_withdrawn>,
    caf::reacts_to<update_atom, trip_update, std::uint64_t>,
    caf::reacts_to<idle_atom, std::uint64_t>, caf::reacts_to<stop_atom>>;

/// A rider actor (rider_actor.hpp): quotes and the rider's one active trip.
/// From the facade: attach, detach, client frames, HTTP rides and cancels;
/// from its matcher: quote_answer; from its trip: updates, trip_failed (the
/// trip never became durable); from the driver: position_push.
using rider_handle = caf::typed_actor<
    caf::reacts_to<attach_atom, attach_request>, caf::reacts_to<detach_atom, std::uint64_t>,
    caf::reacts_to<client_atom, client_envelope>, caf::reacts_to<http_ride_atom, http_ride>,
    caf::reacts_to<http_cmd_atom, http_trip_command>, caf::reacts_to<quote_answer>,
    caf::reacts_to<update_atom, trip_update, std::uint64_t>, caf::reacts_to<trip_failed>,
    caf::reacts_to<position_push>, caf::reacts_to<idle_atom, std::uint64_t>,
    caf::reacts_to<stop_atom>>;

}  // namespace rideshard::node

namespace rideshard::persistence {
class write_batch;
}

namespace rideshard::node {

/// A batch travelling to the journal (shared: CAF messages are copy-on-write;
/// local only, see journal.hpp).
using batch_ptr = std::shared_ptr<persistence::write_batch>;

/// A typed actor may send() only to typed handles; the still dynamically typed
/// ones (HTTP waiters, handles carried as caf::actor in messages) are reached
/// anonymously. Nobody answers these messages by sender.
template <class... Ts>
void tell(const caf::actor& to, Ts&&... xs) {
  if (to) caf::anon_send(to, std::forward<Ts>(xs)...);
}

/// The journal (journal.hpp): the node's one writer to the store.
/// (commit_atom, batch) -> commit_outcome once durable; (event_atom, batch):
/// analytics, nobody waits; flush_atom is its own group-commit trigger.
using journal_handle =
    caf::typed_actor<caf::replies_to<commit_atom, batch_ptr>::with<commit_outcome>,
                     caf::reacts_to<event_atom, batch_ptr>, caf::reacts_to<flush_atom>>;

/// The session registry (session_registry.hpp): this node's one writer to
/// client connections on behalf of actors, and the way to the registries of
/// the other cluster nodes (registry_route, from the membership actor): a
/// frame for a session of another node goes to that node's registry.
using session_registry_handle =
    caf::typed_actor<caf::reacts_to<session_opened>, caf::reacts_to<session_closed>,
                     caf::reacts_to<session_frame>, caf::reacts_to<session_close>,
                     caf::reacts_to<registry_route>>;

/// A client session as a value: the node whose gateway holds its socket and
/// the session (connection) id there. Actors address sessions only this way;
/// the node's session registry (session_registry.hpp) owns the connections.
struct session_ref {
  std::uint16_t node = 0;
  std::uint64_t id = 0;  ///< 0: no session (HTTP callers, system events)
  bool valid() const noexcept { return id != 0; }
  explicit operator bool() const noexcept { return valid(); }
  friend bool operator==(session_ref a, session_ref b) { return a.node == b.node && a.id == b.id; }
  friend bool operator!=(session_ref a, session_ref b) { return !(a == b); }
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_ref& x) {
  return f(caf::meta::type_name("session_ref"), x.node, x.id);
}

/// Where to answer a client frame: its session and seq (0 for pushes).
struct reply_to {
  session_ref session;
  std::uint64_t seq = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply_to& x) {
  return f(caf::meta::type_name("reply_to"), x.session, x.seq);
}

/// Actor -> session registry: one frame for `session`. The registry of the
/// session's node stamps the frame seq and server time and writes it; any
/// other registry passes it on to that node's registry (over BASP), so the
/// frames one actor sends to a session arrive in order.
struct session_frame {
  session_ref session;
  schemas::server_body body;
  std::uint64_t reply_seq = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_frame& x) {
  auto body = alt(x.body);
  return f(caf::meta::type_name("session_frame"), x.session, body, x.reply_seq);
}

/// Actor -> session registry: close the session's connection with `reason`
/// (a newer connection of the same subject replaced it); routed like
/// session_frame.
struct session_close {
  session_ref session;
  std::string reason;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_close& x) {
  return f(caf::meta::type_name("session_close"), x.session, x.reason);
}

/// Membership -> session registry: the registry of cluster node `node` (an
/// invalid handle: the node is down, its sessions unreachable until it is up
/// again; frames for them are dropped and counted).
struct registry_route {
  std::uint16_t node = 0;
  session_registry_handle registry;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registry_route& x) {
  return f(caf::meta::type_name("registry_route"), x.node, x.registry);
}

/// Everything every actor of the node shares; immutable after start except
/// the id generator (own mutex) and the frame sequence (atomic).
struct node_context {
  explicit node_context(gateway::metrics* m = nullptr) : stats(m) {}
  std::vector<region> regions;
  dispatch_options opts;
  /// This node's shard directory (shard_directory.hpp; directory_of() gives
  /// its typed handle): actors look up shards and entities by message.
  caf::actor directory;
  /// The journal actor (node/journal.hpp); invalid on an in-memory node.
  journal_handle journal;
  /// This node's session registry (node/session_registry.hpp): the only
  /// writer to client connections on behalf of actors.
  session_registry_handle sessions;
  /// Clustered: this node's location relay (location_relay.hpp, a
  /// location_relay_handle): driver actors send their updates for another
  /// node's matcher through it, batched per node. Invalid when not clustered.
  caf::actor locations;
  node_stats stats;
  /// The console's picture of drivers, trips and surge (written here, read by
  /// dispatch_node::fleet()); never read by an actor.
  std::unique_ptr<fleet_view> fleet = std::make_unique<fleet_view>();
  /// The admin's region switches (region_switches.hpp), one per region; read
  /// by the facade and by the shard directory when it spawns a matcher.
  std::unique_ptr<region_switchboard> switches;
  /// Cluster mode with shard ownership: the shard groups this node serves
  /// (written by the directory only). Not clustered: 0 groups, all served.
  std::unique_ptr<shard_group_board> groups = std::make_unique<shard_group_board>(0);
  /// "d-7" / "r-42" of an authenticated session id ("-" if none), for logs.
  std::function<std::string(std::uint64_t session_id)> subject_of;

  std::int64_t now() const { return opts.now_ms(); }
  std::uint64_t next_id();
  /// A new trip's id in shard group `group` (the group of its pickup shard, so
  /// the trip lives where its matcher lives); next_id() when not clustered.
  std::uint64_t next_trip_id(int group);
  /// Actors: refuses a request for shard group `group`, which is not served
  /// here now (the trip's actor here stopped with its group): error_reply
  /// unavailable naming the group, counted in rideshard_cluster_unowned_total
  /// and errors_total.
  void refuse_unowned(const reply_to& to, int group, const char* what);
  /// Actors: sends body to session `to` (if any) through the session registry.
  void send(session_ref to, schemas::server_body body, std::uint64_t reply_seq = 0);
  /// Actors: closes session `to` (if any) with `reason`, through the registry.
  void close(session_ref to, std::string reason);
  /// Actors: sends an error_reply to `to`, counts it by code and logs it (warn).
  void send_error(const reply_to& to, errc code, std::string message);
  /// Gateway threads and the session registry only: writes body to `conn`
  /// now, stamped with server time and a frame seq.
  void write(const gateway::connection_ptr& conn, schemas::server_body body,
             std::uint64_t reply_seq = 0);
  /// Gateway threads only: write() of an error_reply, counted and logged.
  void write_error(const gateway::connection_ptr& conn, std::uint64_t seq, errc code,
                   std::string message);
  /// The session of a connection on this node.
  session_ref session_of(const gateway::connection_ptr& conn) const {
    return {opts.node_id, conn ? conn->id() : 0};
  }
  std::chrono::milliseconds offer_timeout(const region& r) const;

 private:
  void refused(std::uint64_t session, std::uint64_t seq, errc code, const std::string& message);
  std::mutex id_mu_;
  std::unique_ptr<id_generator> ids_;
  std::atomic<std::uint64_t> frame_seq_{0};
};
using context_ptr = std::shared_ptr<node_context>;

/// A client frame from the facade to an entity actor.
struct client_envelope {
  session_ref session;
  schemas::client_message msg;
  std::int64_t received_at_us = 0;  ///< wall_clock_us() when the facade got it
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_envelope& x) {
  return f(caf::meta::type_name("client_envelope"), x.session, x.msg, x.received_at_us);
}

/// A (re)attached connection: hello accepted by the facade.
struct attach_request {
  session_ref session;
  std::uint64_t seq = 0;
  bool resume = false;
  identity who;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, identity& x) {
  return f(caf::meta::type_name("identity"), x.subject, x.role);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attach_request& x) {
  return f(caf::meta::type_name("attach_request"), x.session, x.seq, x.resume, x.who);
}

/// Driver position for the matcher of its shard (only while available).
/// One message per accepted location frame (its latest sample), go-online or
/// offer over; the matcher buffers them and applies them in batches.
struct driver_avail {
  driver_id driver;
  lat_lng pos;
  caf::actor actor;
  bool fresh = false;  ///< newly available in this shard: parked requests may wait for it
  /// Through a location relay only: the driver is no longer available (the
  /// receiving relay hands the matcher a driver_unavail, in order with the
  /// driver's positions).
  bool withdrawn = false;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, driver_avail& x) {
  return f(caf::meta::type_name("driver_avail"), x.driver, x.pos, x.actor, x.fresh, x.withdrawn);
}

/// Trip -> matcher of its pickup shard: a new ride request.
struct dispatch_request {
  trip_id trip;
  lat_lng pickup;
  trip_handle trip_actor;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dispatch_request& x) {
  return f(caf::meta::type_name("dispatch_request"), x.trip, x.pickup, x.trip_actor);
}

/// Trip -> matcher: dispatch again after the assigned driver backed out; the
/// drivers in `excluded` are never offered this trip again.
struct redispatch_request {
  trip_id trip;
  lat_lng pickup;
  trip_handle trip_actor;
  std::vector<driver_id> excluded;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redispatch_request& x) {
  return f(caf::meta::type_name("redispatch_request"), x.trip, x.pickup, x.trip_actor, x.excluded);
}

/// Matcher -> trip: offer the trip to this driver now.
struct offer_to {
  driver_id driver;
  caf::actor driver_actor;
  std::uint32_t pickup_eta_s = 0;
  std::uint32_t attempt = 0;
  std::int32_t surge_permille = 1000;  ///< surge at the pickup when dispatched
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer_to& x) {
  return f(caf::meta::type_name("offer_to"), x.driver, x.driver_actor, x.pickup_eta_s, x.attempt,
           x.surge_permille);
}

/// Matcher -> trip: the search for a driver widened to `radius_m` (the rider
/// sees it as search_radius_m of a `requested` trip_status).
struct search_progress {
  std::uint32_t radius_m = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, search_progress& x) {
  return f(caf::meta::type_name("search_progress"), x.radius_m);
}

/// Matcher -> trip: no driver within the largest radius (`radius_m`) for
/// dispatch_options::no_driver_timeout; the matcher forgot the request. The
/// trip ends: cancelled by the system, reason no_driver_available. Also the
/// trip's own retry when that cancel could not be committed.
struct no_driver_found {
  std::uint32_t radius_m = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, no_driver_found& x) {
  return f(caf::meta::type_name("no_driver_found"), x.radius_m);
}

/// Trip -> itself: the offer timer ran out (the trip owns the offer's deadline,
/// offer_deadline_ms; the matcher keeps no timer). Also the retry of a
/// timeout whose commit failed.
struct offer_timed_out {
  driver_id driver;
  /// The trip's offers_made when the offer was made: a timer of an earlier
  /// offer to the same driver (a re-dispatch) is ignored. 0: the open offer.
  std::uint32_t offer = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer_timed_out& x) {
  return f(caf::meta::type_name("offer_timed_out"), x.driver, x.offer);
}

/// Trip -> driver: the wire offer plus whom to answer.
struct offer_delivery {
  schemas::offer wire;
  trip_handle trip_actor;
  /// Arrival of the ride request (wall_clock_us()), set until the trip's first
  /// offer is shown: the driver actor observes request->offer latency when it
  /// sends the frame. 0: not a first offer.
  std::int64_t request_in_us = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer_delivery& x) {
  return f(caf::meta::type_name("offer_delivery"), x.wire, x.trip_actor, x.request_in_us);
}

/// Trip -> matcher: the open offer of `trip` to `driver` is closed.
struct offer_closed {
  trip_id trip;
  driver_id driver;
  bool accepted = false;
  bool driver_free = true;  ///< put the driver back into the index
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer_closed& x) {
  return f(caf::meta::type_name("offer_closed"), x.trip, x.driver, x.accepted, x.driver_free);
}

/// Trip -> matcher: the trip reached a terminal state (forget its request).
struct trip_finished {
  trip_id trip;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip_finished& x) {
  return f(caf::meta::type_name("trip_finished"), x.trip);
}

/// Trip -> rider and driver: the trip changed (each gets its own view).
struct trip_update {
  schemas::trip_status status;
  std::optional<schemas::receipt> receipt;
  trip_handle trip_actor;
  rider_handle rider_actor;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip_update& x) {
  auto receipt = opt(x.receipt);
  return f(caf::meta::type_name("trip_update"), x.status, receipt, x.trip_actor, x.rider_actor);
}

/// Entity -> trip: a client command on the trip.
struct trip_command {
  trip_event_kind kind = trip_event_kind::accept;
  party by = party::system;
  driver_id driver;
  rider_id rider;
  std::string pin;
  std::string reason;
  reply_to reply;
  /// A synchronous (HTTP) caller: gets one (answer_atom, trip_answer) once the
  /// transition is durable, or the refusal; invalid for WebSocket frames.
  caf::actor answer_to;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip_command& x) {
  return f(caf::meta::type_name("trip_command"), x.kind, x.by, x.driver, x.rider, x.pin, x.reason,
           x.reply, x.answer_to);
}

/// Trip -> driver: the open offer of `trip` is withdrawn; `shown` is the trip
/// as the driver sees it (expired, cancelled), sent to its app if `show`.
struct offer_withdrawn {
  trip_id trip;
  schemas::trip_status shown;
  bool show = true;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer_withdrawn& x) {
  return f(caf::meta::type_name("offer_withdrawn"), x.trip, x.shown, x.show);
}

/// Trip -> rider: `requested` could not be made durable, so the trip never
/// existed; `seq` is the ride_request frame to answer.
struct trip_failed {
  trip_id trip;
  errc code = errc::ok;
  std::string message;
  std::uint64_t seq = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip_failed& x) {
  return f(caf::meta::type_name("trip_failed"), x.trip, x.code, x.message, x.seq);
}

/// Driver -> rider: live position during pickup and the trip.
struct position_push {
  schemas::driver_position wire;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, position_push& x) {
  return f(caf::meta::type_name("position_push"), x.wire);
}

/// Rider -> matcher: price this ride (answered with a quote_answer message).
struct quote_ask {
  schemas::quote_request req;
  reply_to reply;
  caf::actor rider_actor;  ///< the matcher answers it with anon_send
  rider_id rider;          ///< for the quote event
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote_ask& x) {
  return f(caf::meta::type_name("quote_ask"), x.req, x.reply, x.rider_actor, x.rider);
}
/// Matcher -> rider: the quote for a quote_ask.
struct quote_answer {
  schemas::quote wire;
  lat_lng pickup;
  lat_lng dropoff;
  reply_to reply;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote_answer& x) {
  return f(caf::meta::type_name("quote_answer"), x.wire, x.pickup, x.dropoff, x.reply);
}

struct nearby_query {
  lat_lng center;
  double radius_m = 0;
  std::size_t k = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_query& x) {
  return f(caf::meta::type_name("nearby_query"), x.center, x.radius_m, x.k);
}
struct nearby_answer {
  std::vector<neighbor> hits;
  errc code = errc::ok;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_answer& x) {
  return f(caf::meta::type_name("nearby_answer"), x.hits, x.code);
}
struct snapshot_answer {
  schemas::trip_status status;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_answer& x) {
  return f(caf::meta::type_name("snapshot_answer"), x.status);
}

/// The fields of a trip_status that come straight from the trip (pin included;
/// no ETAs, no live position, updated_at_ms unset): callers add the rest.
schemas::trip_status status_of(const rideshard::trip& t);

/// Stable "d-7" / "r-42" parsing; 0 when malformed.
std::uint64_t parse_subject(const std::string& subject, char kind);

}  // namespace rideshard::node

// ---- fleet feed and batched nearby queries (/v1/admin), see fleet_feed.hpp ----

namespace rideshard::node {

/// Gatherer -> matcher: checked fleet samples whose positions lie in its shard;
/// answered with fleet_applied.
struct fleet_upsert {
  std::vector<rideshard::driver_position> samples;
  std::vector<driver_id> forget;  ///< fed drivers that moved to another shard
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fleet_upsert& x) {
  return f(caf::meta::type_name("fleet_upsert"), x.samples, x.forget);
}

/// Refused fleet samples: how many, and the first one's code and reason.
struct fleet_rejects {
  std::uint32_t count = 0;
  errc first_code = errc::ok;
  std::string first_why;
  void add(errc code, std::string why) {
    if (count++ == 0) {
      first_code = code;
      first_why = std::move(why);
    }
  }
  void merge(const fleet_rejects& o) {
    if (o.count == 0) return;
    if (count == 0) {
      first_code = o.first_code;
      first_why = o.first_why;
    }
    count += o.count;
  }
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fleet_rejects& x) {
  return f(caf::meta::type_name("fleet_rejects"), x.count, x.first_code, x.first_why);
}

/// Matcher -> gatherer: what a fleet_upsert did.
struct fleet_applied {
  std::uint32_t accepted = 0;
  fleet_rejects rejected;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fleet_applied& x) {
  return f(caf::meta::type_name("fleet_applied"), x.accepted, x.rejected);
}

/// Gatherer -> matcher: the queries of one nearby_batch centred in its shard;
/// answered with a nearby_part_answer.
struct nearby_part {
  std::vector<schemas::nearby_query> queries;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_part& x) {
  return f(caf::meta::type_name("nearby_part"), x.queries);
}
/// results[i] answers queries[i] of the nearby_part.
struct nearby_part_answer {
  std::vector<schemas::nearby_result> results;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_part_answer& x) {
  return f(caf::meta::type_name("nearby_part_answer"), x.results);
}

}  // namespace rideshard::node

// ---- synchronous trip requests (HTTP API), see dispatch_node.hpp ----

namespace rideshard::node {

/// The one answer a waiting HTTP caller gets: the trip after a durable
/// transition (code ok; the rider's view, pin included) or the refusal.
struct trip_answer {
  errc code = errc::ok;
  std::string message;
  schemas::trip_status status;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip_answer& x) {
  return f(caf::meta::type_name("trip_answer"), x.code, x.message, x.status);
}

/// Facade -> rider actor: a ride request from POST /api/trips.
struct http_ride {
  schemas::ride_request req;
  caf::actor answer_to;             ///< receives (answer_atom, trip_answer)
  std::int64_t received_at_us = 0;  ///< wall_clock_us() when the facade got it
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_ride& x) {
  return f(caf::meta::type_name("http_ride"), x.req, x.answer_to, x.received_at_us);
}

/// Facade -> driver or rider actor: a trip command from PUT /api/trips/{id}/status.
struct http_trip_command {
  trip_id trip;
  trip_event_kind kind = trip_event_kind::cancel;
  std::string pin;
  std::string reason;
  caf::actor answer_to;  ///< receives (answer_atom, trip_answer)
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_trip_command& x) {
  return f(caf::meta::type_name("http_trip_command"), x.trip, x.kind, x.pin, x.reason, x.answer_to);
}

/// Sends a refusal to a waiting caller. Not counted here: the HTTP layer counts
/// every refusal it answers (errors_total{code}).
inline void answer_error(const caf::actor& to, errc code, std::string message) {
  if (to) caf::anon_send(to, answer_atom::value, trip_answer{code, std::move(message), {}});
}

}  // namespace rideshard::node

// ---- cross-shard candidate search, see matcher_search.hpp / shard_search.hpp ----

namespace rideshard::node {

/// Matcher -> neighbour matcher: its k nearest drivers within radius_m of center.
struct probe_query {
  lat_lng center;
  double radius_m = 0;
  std::size_t k = 0;
  bool with_fleet = false;  ///< nearby queries: include fed drivers (never dispatched)
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_query& x) {
  return f(caf::meta::type_name("probe_query"), x.center, x.radius_m, x.k, x.with_fleet);
}
struct shard_probe {
  std::vector<probe_query> queries;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_probe& x) {
  return f(caf::meta::type_name("shard_probe"), x.queries);
}
/// hits[i] answers queries[i], nearest first (ties by id).
struct shard_probe_answer {
  std::vector<std::vector<neighbor>> hits;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_probe_answer& x) {
  return f(caf::meta::type_name("shard_probe_answer"), x.hits);
}

/// Owner matcher -> asking matcher: whether `driver` was still available and is
/// now out of the owner's index (held for the asker's offer).
struct reserve_answer {
  bool ok = false;
  lat_lng pos;  ///< its indexed position, to put it back (release_driver)
  caf::actor driver_actor;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reserve_answer& x) {
  return f(caf::meta::type_name("reserve_answer"), x.ok, x.pos, x.driver_actor);
}

}  // namespace rideshard::node
