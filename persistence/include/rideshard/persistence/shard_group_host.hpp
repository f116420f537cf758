// shard_group_host (cluster mode): shard ownership, the changelog writers and the
// restores put together in the order a node needs — fence, restore, serve on
// assignment; stop, mark, drop on revocation — with one write path that commits
// to Kafka first and to the local store after.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/shard_ownership.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/trip_changelog.hpp"

namespace rideshard::persistence {

/// What the node does. Both run on the ownership thread inside the rebalance,
/// except `stop` after a write found its group fenced or its commit outcome
/// unknown: that one runs on the writing thread (shard_group_host::write), with
/// no lock of the host held. Each serve is followed by at most one stop.
struct shard_group_listener {
  /// Shard group `group` is fenced and restored into the store: start serving
  /// it before returning (write() works from the call on).
  std::function<void(int group, const restore_stats& restored)> serve;
  /// Stop serving `group` before returning (no new write; write() then fails).
  /// `lost`: the membership expired, or a write was fenced: another node may
  /// already serve it.
  std::function<void(int group, bool lost)> stop;
};

struct shard_group_host_stats {
  std::vector<int> served;  ///< sorted
  std::uint64_t restored_records = 0;
  std::uint64_t failed_groups = 0;           ///< assigned but not served (open or restore failed)
  std::uint64_t refused_ledger_batches = 0;  ///< write()s the ledger check refused
  /// Served groups a write found fenced (another owner) or with an unknown
  /// commit outcome: no longer served here.
  std::uint64_t dropped_groups = 0;
  std::string last_error;
};

/// Thread-safety: write() from any thread (one transaction at a time per shard
/// group); stats() from any thread. The store must outlive the host.
class shard_group_host {
 public:
  /// First the changelog topic: created as cluster_topics() makes it when
  /// missing (ownership.shard_groups partitions, ownership.replication_factor);
  /// an existing one with another partition count or without
  /// cleanup.policy=compact is refused (bad_config). Then joins the ownership
  /// group (shard_ownership::start). On an assignment: changelog_writer::open
  /// for every assigned shard group (fences the previous owners at once), then
  /// for each restore_shard_group (from the store's mark when there is one) and
  /// `listener.serve`. On each revoked one: `listener.stop`, waits for a write
  /// in flight, sets the store's changelog mark (clean revocations only, and
  /// only when every write of this owner reached the store), drops the writer.
  /// A shard group whose open or restore fails is not served (counted in stats)
  /// until retry_unserved() or the next rebalance.
  /// Errors: as shard_ownership::start, invalid_argument (a missing callback),
  /// bad_config (the changelog topic's layout).
  [[nodiscard]] static result<std::unique_ptr<shard_group_host>> start(
      store& s, const ownership_options& ownership, const changelog_options& changelog,
      shard_group_listener listener, std::chrono::milliseconds restore_timeout);
  ~shard_group_host();
  shard_group_host(const shard_group_host&) = delete;
  shard_group_host& operator=(const shard_group_host&) = delete;

  /// Checks `batch`'s ledger chains against the store (ledger::check: a
  /// refused chain writes nothing anywhere, counted in refused_ledger_batches),
  /// commits the batch to shard group `group`'s changelog (one transaction:
  /// trip snapshots, erases, ledger chains and events), then to the store
  /// without its events (they are in Kafka already; the store's outbox stays
  /// empty, so no relay publishes them again, and the store's commit listener
  /// sees no events). Acknowledge only on success. A fenced write, or one whose
  /// commit outcome is unknown (broker_error with changelog_writer::needs_reopen),
  /// also stops serving the group here (`listener.stop(group, fenced)`, no mark,
  /// counted in dropped_groups): a fenced group waits for the consumer group to
  /// assign it here again; the other comes back with retry_unserved (a new
  /// writer settles the old transaction, then a full restore). Retrying the
  /// batch once the group is served again is safe (a ledger chain already
  /// applied is a replay). Errors: transfer_exists, ledger_rejected,
  /// invalid_argument (the ledger check; nothing written), fenced (the group is
  /// not served here, or another node took it over), broker_error (see above),
  /// storage_error or a ledger error from the local commit (in the changelog,
  /// not in the local store: the next restore of the group is a full one).
  [[nodiscard]] result<void> write(int group, const write_batch& batch);
  /// Tries again, with `restore_timeout`, every shard group the group assigned
  /// here that is not served (its open or restore failed, e.g. the broker was
  /// away, or its commit outcome was unknown) and that the consumer still holds
  /// (shard_ownership::holds, right before the open: a stale assignment must not
  /// fence the real owner); not a group whose write was fenced. Returns how many
  /// are served now. Not from a listener callback.
  std::size_t retry_unserved(std::chrono::milliseconds restore_timeout);
  /// Leaves the group: `stop` and the marks for everything served. Idempotent.
  void stop();
  /// After stop(): joins the ownership group again as a new member (a fresh
  /// consumer with the options start() had); assignments arrive through the
  /// same listener. On a member that has not stopped, it leaves first.
  /// Errors: as shard_ownership::start. Not from a listener callback.
  [[nodiscard]] result<void> rejoin();
  shard_group_host_stats stats() const;

 private:
  struct impl;
  explicit shard_group_host(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace rideshard::persistence
