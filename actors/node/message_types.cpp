// The registered names of the node's message types (see message_types.hpp).
#include "node/message_types.hpp"

namespace rideshard::node {

#define RIDESHARD_MESSAGE_NAME(type, name) \
  template <>                              \
  const char* message_type_name<type>() {  \
    return name;                           \
  }

RIDESHARD_MESSAGE_NAME(driver_id, "rideshard::driver_id")
RIDESHARD_MESSAGE_NAME(trip_id, "rideshard::trip_id")
RIDESHARD_MESSAGE_NAME(rider_id, "rideshard::rider_id")
RIDESHARD_MESSAGE_NAME(lat_lng, "rideshard::lat_lng")
RIDESHARD_MESSAGE_NAME(errc, "rideshard::errc")
RIDESHARD_MESSAGE_NAME(schemas::trip_status, "rideshard::trip_status")
RIDESHARD_MESSAGE_NAME(driver_avail, "rideshard::driver_avail")
RIDESHARD_MESSAGE_NAME(dispatch_request, "rideshard::dispatch_request")
RIDESHARD_MESSAGE_NAME(redispatch_request, "rideshard::redispatch_request")
RIDESHARD_MESSAGE_NAME(offer_to, "rideshard::offer_to")
RIDESHARD_MESSAGE_NAME(offer_timed_out, "rideshard::offer_timed_out")
RIDESHARD_MESSAGE_NAME(offer_closed, "rideshard::offer_closed")
RIDESHARD_MESSAGE_NAME(trip_finished, "rideshard::trip_finished")
RIDESHARD_MESSAGE_NAME(trip_update, "rideshard::trip_update")
RIDESHARD_MESSAGE_NAME(position_push, "rideshard::position_push")
RIDESHARD_MESSAGE_NAME(nearby_query, "rideshard::nearby_query")
RIDESHARD_MESSAGE_NAME(nearby_answer, "rideshard::nearby_answer")
RIDESHARD_MESSAGE_NAME(snapshot_answer, "rideshard::snapshot_answer")
RIDESHARD_MESSAGE_NAME(trip_answer, "rideshard::trip_answer")
RIDESHARD_MESSAGE_NAME(http_trip_command, "rideshard::http_trip_command")
RIDESHARD_MESSAGE_NAME(shard_probe, "rideshard::shard_probe")
RIDESHARD_MESSAGE_NAME(shard_probe_answer, "rideshard::shard_probe_answer")
RIDESHARD_MESSAGE_NAME(reserve_answer, "rideshard::reserve_answer")
RIDESHARD_MESSAGE_NAME(commit_outcome, "rideshard::commit_outcome")
RIDESHARD_MESSAGE_NAME(session_frame, "rideshard::session_frame")
RIDESHARD_MESSAGE_NAME(session_close, "rideshard::session_close")
RIDESHARD_MESSAGE_NAME(attach_request, "rideshard::attach_request")
RIDESHARD_MESSAGE_NAME(trip_command, "rideshard::trip_command")
RIDESHARD_MESSAGE_NAME(quote_ask, "rideshard::quote_ask")
RIDESHARD_MESSAGE_NAME(quote_answer, "rideshard::quote_answer")
RIDESHARD_MESSAGE_NAME(client_envelope, "rideshard::client_envelope")
RIDESHARD_MESSAGE_NAME(offer_delivery, "rideshard::offer_delivery")
RIDESHARD_MESSAGE_NAME(http_ride, "rideshard::http_ride")
RIDESHARD_MESSAGE_NAME(offer_withdrawn, "rideshard::offer_withdrawn")
RIDESHARD_MESSAGE_NAME(trip_failed, "rideshard::trip_failed")
RIDESHARD_MESSAGE_NAME(shard_key, "rideshard::shard_key")
RIDESHARD_MESSAGE_NAME(shard_added, "rideshard::shard_added")
RIDESHARD_MESSAGE_NAME(fleet_upsert, "rideshard::fleet_upsert")
RIDESHARD_MESSAGE_NAME(fleet_applied, "rideshard::fleet_applied")
RIDESHARD_MESSAGE_NAME(nearby_part, "rideshard::nearby_part")
RIDESHARD_MESSAGE_NAME(nearby_part_answer, "rideshard::nearby_part_answer")
RIDESHARD_MESSAGE_NAME(driver_unavail, "rideshard::driver_unavail")
RIDESHARD_MESSAGE_NAME(positions_flush, "rideshard::positions_flush")
RIDESHARD_MESSAGE_NAME(parked_retry, "rideshard::parked_retry")
RIDESHARD_MESSAGE_NAME(batch_window, "rideshard::batch_window")
RIDESHARD_MESSAGE_NAME(reserve_driver, "rideshard::reserve_driver")
RIDESHARD_MESSAGE_NAME(release_driver, "rideshard::release_driver")
RIDESHARD_MESSAGE_NAME(surge_freeze, "rideshard::surge_freeze")
RIDESHARD_MESSAGE_NAME(search_progress, "rideshard::search_progress")
RIDESHARD_MESSAGE_NAME(no_driver_found, "rideshard::no_driver_found")
RIDESHARD_MESSAGE_NAME(no_driver_check, "rideshard::no_driver_check")
RIDESHARD_MESSAGE_NAME(member_beat, "rideshard::member_beat")
RIDESHARD_MESSAGE_NAME(membership_start, "rideshard::membership_start")
RIDESHARD_MESSAGE_NAME(membership_tick, "rideshard::membership_tick")
RIDESHARD_MESSAGE_NAME(registry_route, "rideshard::registry_route")
RIDESHARD_MESSAGE_NAME(groups_served, "rideshard::groups_served")
RIDESHARD_MESSAGE_NAME(location_out, "rideshard::location_out")
RIDESHARD_MESSAGE_NAME(location_part, "rideshard::location_part")
RIDESHARD_MESSAGE_NAME(location_bundle, "rideshard::location_bundle")
RIDESHARD_MESSAGE_NAME(location_flush, "rideshard::location_flush")
RIDESHARD_MESSAGE_NAME(relay_route, "rideshard::relay_route")
RIDESHARD_MESSAGE_NAME(group_serve, "rideshard::group_serve")
RIDESHARD_MESSAGE_NAME(group_stop, "rideshard::group_stop")
RIDESHARD_MESSAGE_NAME(trip_init, "rideshard::trip_init")
RIDESHARD_MESSAGE_NAME(owner_route, "rideshard::owner_route")
RIDESHARD_MESSAGE_NAME(group_owners, "rideshard::group_owners")
RIDESHARD_MESSAGE_NAME(handoff_expired, "rideshard::handoff_expired")
RIDESHARD_MESSAGE_NAME(matcher_handle, "rideshard::matcher_handle")
RIDESHARD_MESSAGE_NAME(trip_handle, "rideshard::trip_handle")

#undef RIDESHARD_MESSAGE_NAME

namespace {

template <class... Ts>
void add_all(caf::actor_system_config& cfg, caf::detail::type_list<Ts...>) {
  (cfg.add_message_type<Ts>(message_type_name<Ts>()), ...);
}

}  // namespace

void add_node_message_types(caf::actor_system_config& cfg) { add_all(cfg, node_message_types{}); }

}  // namespace rideshard::node
