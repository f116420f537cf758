// membership: one actor per cluster node that knows which nodes are alive. It
// is published on the node's BASP port (CAF middleman over mutual TLS), dials
// the configured seeds with backoff, learns further nodes from the peers'
// heartbeats, and sends its own heartbeat (member_beat) to every peer each
// interval. A peer is down when its actor's proxy goes down (CAF closes a BASP
// connection on TCP loss or on the middleman's connection timeout) or when no
// heartbeat came for connection_timeout, whichever is first. The actor
// publishes what it knows to a cluster_board (read by /health and the console,
// never by an actor). Internal to node/.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "node/cluster_options.hpp"
#include "node/inspect.hpp"
#include "node/protocol.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::node {

/// Node -> node, once per heartbeat interval and right after a connection:
/// who the sender is and which peers it sees up (so nodes learn each other).
struct member_beat {
  std::uint16_t node = 0;  ///< the sender's [node].id
  std::string address;     ///< the sender's BASP address, "host:port"
  std::string version;
  std::int64_t started_ms = 0;        ///< epoch ms the sender started
  std::vector<std::string> peers;     ///< BASP addresses the sender sees up
  session_registry_handle sessions;   ///< the sender's session registry
  caf::actor directory;               ///< the sender's shard directory (directory_handle)
  caf::actor locations;               ///< the sender's location relay (location_relay_handle)
  std::uint64_t groups_epoch = 0;     ///< epoch of the assignment below (0: none yet)
  std::vector<std::uint32_t> groups;  ///< shard groups the sender serves, ascending
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_beat& x) {
  return f(caf::meta::type_name("member_beat"), x.node, x.address, x.version, x.started_ms, x.peers,
           x.sessions, x.directory, x.locations, x.groups_epoch, x.groups);
}

/// This node -> its membership actor: it now serves exactly `groups` (shard
/// groups), as assigned in `epoch` (the consumer group's generation, or any
/// number that grows with each assignment). Announced to every peer with the
/// next beats; an epoch older than the last one announced is ignored.
struct groups_served {
  std::uint64_t epoch = 0;
  std::vector<std::uint32_t> groups;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, groups_served& x) {
  return f(caf::meta::type_name("groups_served"), x.epoch, x.groups);
}

/// One node's claim on shard groups (its latest announcement). The owner
/// table resolves the claims of every node heard of, then leaves out groups
/// whose winner is down: such a group has no owner until a newer epoch names
/// one (an older claim on it is stale and does not come back).
struct group_claim {
  std::uint16_t node = 0;
  std::uint64_t epoch = 0;
  std::vector<std::uint32_t> groups;
};

/// The owner of each claimed shard group: the claim with the newest epoch; on
/// equal epochs (two nodes claiming one group in the same assignment, which a
/// consumer group never does) the lower node id, deterministically on every node.
std::map<std::uint32_t, std::uint16_t> resolve_owners(const std::vector<group_claim>& claims);

/// Facade -> membership, once: the address the node's BASP port is bound to
/// (known only after publishing); starts dialing and heartbeats.
struct membership_start {
  std::string address;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_start& x) {
  return f(caf::meta::type_name("membership_start"), x.address);
}

/// The membership actor's own timer: heartbeats, timeouts, redials.
struct membership_tick {
  std::uint64_t round = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_tick& x) {
  return f(caf::meta::type_name("membership_tick"), x.round);
}

using membership_handle =
    caf::typed_actor<caf::reacts_to<member_beat>, caf::reacts_to<membership_start>,
                     caf::reacts_to<membership_tick>, caf::reacts_to<groups_served>>;

/// The last published membership. Written by the membership actor, read by
/// dispatch_node::cluster() (HTTP and console threads); a short lock, copies.
class cluster_board {
 public:
  /// `members`: this node first; ages and uptimes as of `at_ms`.
  void publish(std::vector<member_status> members, std::int64_t at_ms);
  /// The members with ages and uptimes moved on to `now_ms`.
  std::vector<member_status> read(std::int64_t now_ms) const;

 private:
  mutable std::mutex mu_;
  std::vector<member_status> members_;
  std::int64_t at_ms_ = 0;
};

/// Loads CAF's middleman and OpenSSL module into `cfg` with the cluster's
/// heartbeat, connection timeout and TLS files. Call before the actor system
/// exists, and only after check_cluster_tls() passed.
void configure_cluster(caf::actor_system_config& cfg, const cluster_options& opts);

/// What this node's membership actor routes for, each announced to the peers:
/// its session registry (told registry_route for every peer that comes up or
/// goes down), its location relay (told relay_route alike; may be invalid)
/// and its shard directory.
struct membership_links {
  session_registry_handle sessions;
  caf::actor directory;
  caf::actor locations;  ///< location_relay_handle (location_relay.hpp)
};

/// Spawns the membership actor of node `node_id` without publishing or
/// starting it (tests on CAF's test coordinator send membership_start and play
/// the peers; configure no seeds there: a dial needs the OpenSSL middleman).
membership_handle spawn_membership(caf::actor_system& sys, const cluster_options& opts,
                                   std::uint16_t node_id, std::function<std::int64_t()> now_ms,
                                   cluster_board* board, membership_links links);

/// Spawns the membership actor of node `node_id`, publishes it on the BASP
/// port (opts.host:opts.port over TLS) and starts it. `board` and `now_ms`
/// must outlive the actor. Answers the actor and the bound "host:port".
/// Errors: bad_config (the port cannot be bound).
[[nodiscard]] result<std::pair<membership_handle, std::string>> start_membership(
    caf::actor_system& sys, const cluster_options& opts, std::uint16_t node_id,
    std::function<std::int64_t()> now_ms, cluster_board* board, membership_links links);

}  // namespace rideshard::node
