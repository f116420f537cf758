// region_matcher: the typed interface of a shard's matcher actor, its own
// messages and its spawn function. One matcher per shard; its parts live in
// their own files: shard_index (available and fed drivers), shard_pricing
// (surge, quotes), matcher_dispatch / matcher_batch (pending requests and
// offers), matcher_search (probes of neighbour shards) and matcher_queries
// (quotes and nearby answers). Internal to node/.
#pragma once

#include <memory>

#include "node/protocol.hpp"

namespace rideshard::node {

struct shard_added;

/// Driver -> matcher: the driver is no longer available here (applied after
/// every position it sent before, so "offline" always wins).
struct driver_unavail {
  driver_id driver;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, driver_unavail& x) {
  return f(caf::meta::type_name("driver_unavail"), x.driver);
}

/// Matcher -> itself: apply the buffered positions; `timed` for the timed
/// flush the buffer asked for, false for a kick (a newly available driver).
struct positions_flush {
  bool timed = false;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, positions_flush& x) {
  return f(caf::meta::type_name("positions_flush"), x.timed);
}

/// Matcher -> itself: retry parked requests whose search circle reaches
/// another shard (a driver freed over there tells only its own matcher).
struct parked_retry {};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parked_retry&) {
  return f(caf::meta::type_name("parked_retry"));
}

/// Matcher -> itself, every dispatch_options::no_driver_check while requests
/// are parked: give up on those parked for no_driver_timeout (injected clock).
struct no_driver_check {};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, no_driver_check&) {
  return f(caf::meta::type_name("no_driver_check"));
}

/// Matcher -> itself (batched mode): the batch window closed, solve it.
struct batch_window {};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_window&) {
  return f(caf::meta::type_name("batch_window"));
}

/// Matcher -> owner matcher: hand `driver` over for an offer iff it is still
/// available (answered with a reserve_answer).
struct reserve_driver {
  driver_id driver;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reserve_driver& x) {
  return f(caf::meta::type_name("reserve_driver"), x.driver);
}

/// Matcher -> owner matcher: the offer of a reserved driver closed; index it
/// again at `pos` unless it re-announced itself meanwhile.
struct release_driver {
  driver_id driver;
  lat_lng pos;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_driver& x) {
  return f(caf::meta::type_name("release_driver"), x.driver, x.pos);
}

/// Facade -> matcher (admin switch): hold every surge multiplier of the shard
/// at its current value (`frozen`), or let them follow demand again.
struct surge_freeze {
  bool frozen = false;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, surge_freeze& x) {
  return f(caf::meta::type_name("surge_freeze"), x.frozen);
}

/// The matcher of one shard: one message struct per handler.
using matcher_handle = caf::typed_actor<
    // index of available drivers (driver actors, the shard's position buffer)
    caf::reacts_to<driver_avail>, caf::reacts_to<driver_unavail>, caf::reacts_to<positions_flush>,
    // dispatch (trip actors) and its timers
    caf::reacts_to<dispatch_request>, caf::reacts_to<redispatch_request>,
    caf::reacts_to<offer_closed>, caf::reacts_to<trip_finished>, caf::reacts_to<parked_retry>,
    caf::reacts_to<no_driver_check>, caf::reacts_to<batch_window>,
    // queries (rider actors, the facade, the admin fleet feed)
    caf::reacts_to<quote_ask>, caf::replies_to<nearby_query>::with<nearby_answer>,
    caf::replies_to<nearby_part>::with<nearby_part_answer>,
    caf::replies_to<fleet_upsert>::with<fleet_applied>,
    // neighbour matchers (cross-shard search)
    caf::replies_to<shard_probe>::with<shard_probe_answer>,
    caf::replies_to<reserve_driver>::with<reserve_answer>, caf::reacts_to<release_driver>,
    // the shard directory: a shard's matcher exists (our copy of the shard table)
    caf::reacts_to<shard_added>,
    // admin switches
    caf::reacts_to<surge_freeze>>;

/// Spawns the matcher of shard `cell` of region `region_index` (ctx->regions).
/// It buffers the driver_avail messages of its shard (position_buffer) and
/// applies them in batches. `surge_frozen`: the region's surge is frozen (admin
/// switch) when the matcher starts.
matcher_handle spawn_region_matcher(caf::actor_system& sys, context_ptr ctx,
                                    std::size_t region_index, cell_id cell, bool surge_frozen);

}  // namespace rideshard::node
