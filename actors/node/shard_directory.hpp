// shard_directory: the node's directory of shards and entities, as an actor.
// Which matcher serves a shard and which actor is a driver, rider or trip is
// asked by message (asynchronous lookups, forwarding); pure geometry
// (shard_of, neighbour cells) stays a function. Internal to node/.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "node/protocol.hpp"
#include "node/region_matcher.hpp"
#include "node/trip_actor.hpp"
#include "rideshard/engine/shard_group.hpp"

namespace rideshard::node {

/// A shard: one cell of one region's shard grid.
struct shard_key {
  std::size_t region = 0;
  cell_id cell;
  friend bool operator<(const shard_key& a, const shard_key& b) {
    return a.region != b.region ? a.region < b.region : a.cell < b.cell;
  }
  friend bool operator==(const shard_key& a, const shard_key& b) {
    return a.region == b.region && a.cell == b.cell;
  }
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_key& x) {
  return f(caf::meta::type_name("shard_key"), x.region, x.cell.value);
}

using rideshard::shard_group_of;  // the engine's, by id and by (region, cell)
/// The shard group of a matcher's shard (cluster mode: ownership is by group).
inline int shard_group_of(const shard_key& k, int groups) {
  return rideshard::shard_group_of(k.region, k.cell.value, groups);
}

/// The shard of p: region + cell at the region's shard_level; none outside
/// every region. Pure: any thread, any actor.
std::optional<shard_key> shard_of(const std::vector<region>& regions, lat_lng p);

/// The matchers of existing shards, as each matcher keeps its own copy
/// (filled by shard_added messages from the directory).
using shard_table = std::map<shard_key, matcher_handle>;

/// Cross-shard search: the matchers in `table` of `own`'s region whose cells
/// lie within radius_m of center, `own` excluded, nearest cell first.
std::vector<matcher_handle> neighbours(const shard_table& table, const std::vector<region>& regions,
                                       const shard_key& own, lat_lng center, double radius_m);

/// Directory -> every matcher: the matcher of `key` exists now (a new matcher
/// gets one per existing shard first).
struct shard_added {
  shard_key key;
  matcher_handle matcher;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_added& x) {
  return f(caf::meta::type_name("shard_added"), x.key, x.matcher);
}

/// Cluster mode, the node's shard group listener -> directory: shard group
/// `group` is this node's now (fenced and restored from the changelog). The
/// directory marks it served and revives `trips` (the group's active trips as
/// restored into the store); answers their actors.
struct group_serve {
  int group = 0;
  std::vector<rideshard::trip> trips;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_serve& x) {
  return f(caf::meta::type_name("group_serve"), x.group, x.trips);
}

/// Cluster mode, listener -> directory: shard group `group` is no longer this
/// node's (`lost`: the membership expired or a write was fenced; another node
/// may serve it already). The directory marks it not served and sends an exit
/// to the group's trip actors and matchers; answers how many it stopped. Their
/// writes are refused from then on by the shard group host (fenced).
struct group_stop {
  int group = 0;
  bool lost = false;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_stop& x) {
  return f(caf::meta::type_name("group_stop"), x.group, x.lost);
}

/// One shard group's owner in the cluster: its node and that node's shard
/// directory (this node's own groups are listed too, with this directory).
struct owner_route {
  std::uint32_t group = 0;
  std::uint16_t node = 0;
  caf::actor directory;  ///< directory_handle of `node`
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_route& x) {
  return f(caf::meta::type_name("owner_route"), x.group, x.node, x.directory);
}

/// Cluster mode, membership -> its node's directory, on every change of the
/// owner table: the owner of each shard group that has one (a group absent
/// from `owners` has none: a handoff is in progress).
struct group_owners {
  std::vector<owner_route> owners;  ///< ascending by group
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_owners& x) {
  return f(caf::meta::type_name("group_owners"), x.owners);
}

/// The directory's own timer: the requests it held for an owner since hold
/// number `hold` (and earlier) waited long enough ([cluster] handoff_wait).
struct handoff_expired {
  std::uint64_t hold = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, handoff_expired& x) {
  return f(caf::meta::type_name("handoff_expired"), x.hold);
}

using shard_atom = caf::atom_constant<caf::atom("shard")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
using keys_atom = caf::atom_constant<caf::atom("keys")>;

/// The directory's interface. Forwarding (the facade, fire and forget): a
/// message for a driver or rider id is passed on to its actor, spawned or
/// revived first. Lookups: a shard's matcher (spawned on first use), a trip's
/// actor. Spawning: trips (create or revive). Passivation: forget_atom answers
/// true iff the entry was still that actor; after that nothing the directory
/// forwards reaches it. stop_atom: every actor gets an exit and later
/// lookups answer invalid handles (node shutdown). Cluster mode: group_serve
/// and group_stop (above); a lookup or creation of a shard or trip of a group
/// another node owns is forwarded to that node's directory (group_owners),
/// whose answer comes back (bounded by [cluster] connection_timeout); one of a
/// group without an owner waits up to [cluster] handoff_wait for one, then
/// fails with an error naming the group (counted in
/// rideshard_cluster_unowned_total). A request from another node's directory
/// is never forwarded again (an invalid handle instead).
using directory_handle = caf::typed_actor<
    caf::reacts_to<driver_id, attach_atom, attach_request>,
    caf::reacts_to<driver_id, detach_atom, std::uint64_t>,
    caf::reacts_to<driver_id, client_atom, client_envelope>,
    caf::reacts_to<driver_id, http_cmd_atom, http_trip_command>,
    caf::reacts_to<rider_id, attach_atom, attach_request>,
    caf::reacts_to<rider_id, detach_atom, std::uint64_t>,
    caf::reacts_to<rider_id, client_atom, client_envelope>,
    caf::reacts_to<rider_id, http_ride_atom, http_ride>,
    caf::reacts_to<rider_id, http_cmd_atom, http_trip_command>,
    caf::replies_to<shard_atom, shard_key>::with<matcher_handle>,
    caf::replies_to<lookup_atom, trip_id>::with<trip_handle>,
    caf::replies_to<create_atom, trip_init>::with<trip_handle>,
    caf::replies_to<forget_atom, driver_id, driver_handle>::with<bool>,
    caf::replies_to<forget_atom, rider_id, rider_handle>::with<bool>,
    caf::reacts_to<forget_atom, trip_id>, caf::replies_to<keys_atom>::with<std::vector<shard_key>>,
    caf::replies_to<group_serve>::with<std::vector<trip_handle>>,
    caf::replies_to<group_stop>::with<std::uint64_t>, caf::replies_to<stop_atom>::with<bool>,
    caf::reacts_to<group_owners>, caf::reacts_to<handoff_expired>>;

/// Counters the directory keeps for the facade (atomics, no lock): actors it
/// spawned that have not terminated yet, by kind (0 matcher, 1 driver, 2
/// rider, 3 trip), and the entities in its directory.
struct directory_counters {
  std::array<std::atomic<int>, 4> running{};
  std::atomic<std::size_t> entities{0};
};

/// Spawns the directory of this node; it writes `counters`.
directory_handle spawn_shard_directory(caf::actor_system& sys, context_ptr ctx,
                                       std::shared_ptr<directory_counters> counters);

/// The directory of ctx (set by the facade before any entity exists).
inline directory_handle directory_of(const node_context& ctx) {
  return caf::actor_cast<directory_handle>(ctx.directory);
}

}  // namespace rideshard::node
