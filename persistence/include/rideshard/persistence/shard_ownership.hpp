// shard_ownership: which shard groups this node owns, decided by a Kafka consumer
// group whose partitions are the shard groups (the Kafka Streams model).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/topics.hpp"

namespace rideshard::persistence {

struct ownership_options {
  std::string bootstrap;  ///< "host:port[,host:port...]"
  std::string topic = shard_groups_topic;
  std::string group = "rideshard-shards";  ///< every node of one cluster uses the same group
  std::string member = "rideshard-node";   ///< client.id (shows in the broker's group listing)
  /// Partitions of `topic` = shard groups. The topic is created with this many
  /// when missing; an existing topic with another count is refused (bad_config).
  int shard_groups = 12;
  int replication_factor = 1;
  /// A member that stops heartbeating for this long loses its shard groups to
  /// the others: the failover detection time. The broker bounds it below by
  /// group.min.session.timeout.ms (6000 by default, also in the test broker).
  std::chrono::milliseconds session_timeout{6000};
  /// At most a third of the session timeout. The other members learn of a
  /// rebalance on their next heartbeat, so this is most of the handover time
  /// after a member leaves cleanly.
  std::chrono::milliseconds heartbeat_interval{1000};
  /// Longest time one `assigned` callback (a restore) may take before the member
  /// is considered stuck and leaves the group.
  std::chrono::milliseconds max_callback_time{std::chrono::minutes(5)};
  /// Incremental cooperative rebalancing (cooperative-sticky): on a rebalance only
  /// the shard groups that move are revoked; the others keep being served. false:
  /// eager (roundrobin), every member revokes everything on every rebalance.
  bool cooperative = true;
  /// Extra librdkafka consumer properties, applied last.
  std::vector<std::pair<std::string, std::string>> consumer_config;
};

/// What the user is told. Both callbacks run on the ownership thread, one at a
/// time, inside the consumer group's rebalance. The group waits for `revoked`
/// (unless lost) before it gives the shard groups to another member; nothing
/// waits for `assigned`.
struct ownership_listener {
  /// These shard groups are now this node's. Restore them (fence the previous
  /// owner by opening their changelog_writer, then restore_shard_group) and start
  /// serving before returning; the node owns them from the return on.
  std::function<void(const std::vector<int>& shard_groups)> assigned;
  /// These shard groups are no longer this node's: stop serving them (no write
  /// acknowledged, no offer out) before returning; the new owner starts only
  /// after. `lost`: the membership expired (session timeout, e.g. the process was
  /// frozen), so another member may already own them and the writes were fenced.
  std::function<void(const std::vector<int>& shard_groups, bool lost)> revoked;
};

/// Counters for health and metrics. A snapshot.
struct ownership_stats {
  std::uint64_t rebalances = 0;  ///< assigned + revoked callbacks run
  std::vector<int> owned;        ///< sorted
  std::string last_error;
};

/// A member of the shard-ownership group, polling on its own thread.
/// Thread-safety: stats() and owned() from any thread; stop() from any thread
/// but a listener callback. Destroying it stops it.
class shard_ownership {
 public:
  /// Creates the topic if missing (checks its partition count), joins the group
  /// and starts the thread; assignments arrive through `listener`.
  /// Errors: invalid_argument (empty bootstrap, shard_groups < 1, missing
  /// callback), bad_config (librdkafka refused a property; the topic has another
  /// partition count), broker_error (topic creation or metadata failed).
  [[nodiscard]] static result<std::unique_ptr<shard_ownership>> start(
      const ownership_options& options, ownership_listener listener);
  ~shard_ownership();
  shard_ownership(const shard_ownership&) = delete;
  shard_ownership& operator=(const shard_ownership&) = delete;

  /// Leaves the group: `revoked` runs for everything owned, then the other
  /// members get the shard groups at once (no session timeout). Idempotent;
  /// concurrent calls wait for the first. A cooperative member that has not
  /// finished joining yet first waits for its first rebalance (at most
  /// session_timeout: librdkafka 2.0.2 #4312, a close mid-rebalance can assert).
  void stop();
  /// Whether the consumer's current assignment has `shard_group` and is not
  /// lost: checked right before reopening a shard group outside a rebalance, so
  /// a member whose membership expired does not fence the group's new owner.
  /// A member that has not yet noticed the expiry still answers true; its
  /// writes are then fenced by the owner. Any thread.
  bool holds(int shard_group) const;
  std::vector<int> owned() const;
  ownership_stats stats() const;

 private:
  struct impl;
  explicit shard_ownership(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace rideshard::persistence
