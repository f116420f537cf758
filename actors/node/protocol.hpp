// Internal actor protocol of the node: atoms, message payloads and the shared
// node context. Single-node only so far: payloads are whitelisted as unsafe
// (local) message types; crossing nodes needs inspect() + add_message_type.
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
#include "node/node_stats.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/region.hpp"
#include "rideshard/engine/spatial_index.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/schemas/messages.hpp"

namespace rideshard::node {

class shard_router;

using attach_atom = caf::atom_constant<caf::atom("attach")>;
using detach_atom = caf::atom_constant<caf::atom("detach")>;
using client_atom = caf::atom_constant<caf::atom("client")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using avail_atom = caf::atom_constant<caf::atom("avail")>;
using unavail_atom = caf::atom_constant<caf::atom("unavail")>;
using quote_atom = caf::atom_constant<caf::atom("quote")>;
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using offer_atom = caf::atom_constant<caf::atom("offer")>;
using withdraw_atom = caf::atom_constant<caf::atom("withdraw")>;
using update_atom = caf::atom_constant<caf::atom("update")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using position_atom = caf::atom_constant<caf::atom("position")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using nearby_atom = caf::atom_constant<caf::atom("nearby")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;

/// Where to answer a client frame: its connection and seq (0 for pushes).
struct reply_to {
  gateway::connection_ptr conn;
  std::uint64_t seq = 0;
};

/// Everything every actor of the node shares; immutable after start except
/// the id generator (own mutex) and the frame sequence (atomic).
struct node_context {
  explicit node_context(gateway::metrics* m = nullptr) : stats(m) {}
  std::vector<region> regions;
  dispatch_options opts;
  shard_router* router = nullptr;  ///< outlives every actor (stopped first)
  node_stats stats;
  /// "d-7" / "r-42" of an authenticated connection id ("-" if none), for logs.
  std::function<std::string(std::uint64_t conn_id)> subject_of;

  std::int64_t now() const { return opts.now_ms(); }
  std::uint64_t next_id();
  /// Sends body to conn (if any), stamped with server time and a frame seq.
  void send(const gateway::connection_ptr& conn, schemas::server_body body,
            std::uint64_t reply_seq = 0);
  /// Sends an error_reply, counts it by code and logs it (warn).
  void send_error(const reply_to& to, errc code, std::string message);
  std::chrono::milliseconds offer_timeout(const region& r) const;

 private:
  std::mutex id_mu_;
  std::unique_ptr<id_generator> ids_;
  std::atomic<std::uint64_t> frame_seq_{0};
};
using context_ptr = std::shared_ptr<node_context>;

/// A client frame from the facade to an entity actor.
struct client_envelope {
  gateway::connection_ptr conn;
  schemas::client_message msg;
  std::chrono::steady_clock::time_point received_at;  ///< when the facade got it
};

/// A (re)attached connection: hello accepted by the facade.
struct attach_request {
  gateway::connection_ptr conn;
  std::uint64_t seq = 0;
  bool resume = false;
  identity who;
};

/// Driver position for the matcher of its shard (only while available).
struct driver_avail {
  driver_id driver;
  lat_lng pos;
  caf::actor actor;
};

/// A new ride request for the matcher of its pickup shard.
struct dispatch_request {
  trip_id trip;
  lat_lng pickup;
  caf::actor trip_actor;
};

/// Matcher -> trip: offer the trip to this driver now.
struct offer_to {
  driver_id driver;
  caf::actor driver_actor;
  std::uint32_t pickup_eta_s = 0;
  std::uint32_t attempt = 0;
  std::int32_t surge_permille = 1000;  ///< surge at the pickup when dispatched
};

/// Trip -> driver: the wire offer plus whom to answer.
struct offer_delivery {
  schemas::offer wire;
  caf::actor trip_actor;
  /// Arrival of the ride request, set until the trip's first offer is shown:
  /// the driver actor observes request->offer latency when it sends the frame.
  std::chrono::steady_clock::time_point request_in{};
};

/// Trip -> matcher: the open offer of `trip` to `driver` is closed.
struct offer_closed {
  trip_id trip;
  driver_id driver;
  bool accepted = false;
  bool driver_free = true;  ///< put the driver back into the index
};

/// Trip -> rider and driver: the trip changed (each gets its own view).
struct trip_update {
  schemas::trip_status status;
  std::optional<schemas::receipt> receipt;
  caf::actor trip_actor;
  caf::actor rider_actor;
};

/// Entity -> trip: a client command on the trip.
struct trip_command {
  trip_event_kind kind = trip_event_kind::accept;
  party by = party::system;
  driver_id driver;
  rider_id rider;
  std::string pin;
  std::string reason;
  reply_to reply;
};

/// Driver -> rider: live position during pickup and the trip.
struct position_push {
  schemas::driver_position wire;
};

/// A quote request/answer between rider and matcher.
struct quote_ask {
  schemas::quote_request req;
  reply_to reply;
  caf::actor rider_actor;
};
struct quote_answer {
  schemas::quote wire;
  lat_lng pickup;
  lat_lng dropoff;
  reply_to reply;
};

struct nearby_query {
  lat_lng center;
  double radius_m = 0;
  std::size_t k = 0;
};
struct nearby_answer {
  std::vector<neighbor> hits;
  errc code = errc::ok;
};
struct snapshot_answer {
  schemas::trip_status status;
};

/// Stable "d-7" / "r-42" parsing; 0 when malformed.
std::uint64_t parse_subject(const std::string& subject, char kind);

}  // namespace rideshard::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::client_envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::attach_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::driver_avail)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::dispatch_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::offer_to)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::offer_delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::offer_closed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::trip_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::trip_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::position_push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::quote_ask)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::quote_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::nearby_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::nearby_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::snapshot_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::driver_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::trip_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::lat_lng)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<rideshard::driver_id>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::schemas::trip_status)
