// Every value type that travels between the node's actors as a message
// element, and their registration with CAF's type system: a type crossing
// nodes must be registered on every node under the same name (an unregistered
// type fails silently). Internal to node/.
#pragma once

#include "node/journal.hpp"
#include "node/location_relay.hpp"
#include "node/membership.hpp"
#include "node/protocol.hpp"
#include "node/region_matcher.hpp"
#include "node/shard_directory.hpp"
#include "node/trip_actor.hpp"

namespace rideshard::node {

/// The registered message types (tests round-trip each of them through CAF's
/// binary serializer). Types still whitelisted with CAF_ALLOW_UNSAFE_MESSAGE_TYPE
/// (session_opened, batch_ptr) are local-only and not listed.
using node_message_types = caf::detail::type_list<
    driver_id, trip_id, rider_id, lat_lng, errc, schemas::trip_status, driver_avail,
    dispatch_request, redispatch_request, offer_to, offer_timed_out, offer_closed, trip_finished,
    trip_update, position_push, nearby_query, nearby_answer, snapshot_answer, trip_answer,
    http_trip_command, shard_probe, shard_probe_answer, reserve_answer, commit_outcome,
    session_frame, session_close, attach_request, trip_command, quote_ask, quote_answer,
    client_envelope, offer_delivery, http_ride, offer_withdrawn, trip_failed, fleet_upsert,
    fleet_applied, nearby_part, nearby_part_answer, driver_unavail, positions_flush, parked_retry,
    batch_window, reserve_driver, release_driver, shard_key, shard_added, surge_freeze,
    search_progress, no_driver_found, no_driver_check, member_beat, membership_start,
    membership_tick, registry_route, groups_served, location_out, location_part, location_bundle,
    location_flush, relay_route, group_serve, group_stop, trip_init, owner_route, group_owners,
    handoff_expired, matcher_handle, trip_handle>;

/// matcher_handle and trip_handle are listed as message elements of their own:
/// the shard directory's answers (a shard's matcher, a trip's actor) cross
/// nodes when a directory asks the owner's (a handle inside a registered
/// struct needs no entry; an unregistered top-level element is dropped).
///
/// Registers every type of node_message_types under a stable name
/// ("rideshard::<type>"). Call on each node's config before the actor system
/// is created.
void add_node_message_types(caf::actor_system_config& cfg);

/// The name a type is registered under (for tests and diagnostics).
template <class T>
const char* message_type_name();

}  // namespace rideshard::node
