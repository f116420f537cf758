// The trip changelog (cluster mode): a compacted Kafka topic with the latest
// snapshot of each trip, one partition per shard group. changelog_writer writes
// a transition's snapshot and events in one Kafka transaction (and fences the
// previous owner); restore_shard_group rebuilds the local store from it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"
#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::persistence {

struct changelog_options {
  std::string bootstrap;  ///< "host:port[,host:port...]"
  std::string topic = trip_changelog_topic;
  /// transactional.id = prefix + shard group: one producer identity per shard
  /// group, whichever node owns it, so a new owner's open fences the old one.
  std::string transactional_id_prefix = "rideshard-sg-";
  /// The broker aborts a transaction left open longer than this (an owner that
  /// froze mid-transaction), which also bounds how long a restore can wait.
  std::chrono::milliseconds transaction_timeout{10000};
  /// Bound on each open (init_transactions), commit and abort call.
  std::chrono::milliseconds call_timeout{15000};
  /// restore_shard_group resumes from the store's changelog mark when it is at
  /// most this old, else reads from the beginning. Keep it below the topic's
  /// delete.retention.ms (24 h by default): a tombstone older than that may be
  /// compacted away, and a store resuming past it would keep the erased trip.
  std::chrono::milliseconds resume_max_age{std::chrono::hours(12)};
  /// Which shard group a trip belongs to (the node's trip -> shard group map).
  /// A full restore (not resumed) first erases every trip of the store in the
  /// restored shard group, so a cached trip the changelog no longer has (erased
  /// while another node owned the group, its tombstone compacted away) does not
  /// come back. Unset: the store's trips stay (only the changelog's are
  /// overwritten); set it in a node.
  std::function<bool(int shard_group, std::uint64_t trip)> trip_in_group;
  /// Extra librdkafka producer properties, applied last.
  std::vector<std::pair<std::string, std::string>> producer_config;
};

/// The transactional producer of one shard group. Thread-safety: one thread at a
/// time (the shard group's journal). After `fenced` every call fails with
/// `fenced`: drop the writer and stop serving the shard group.
class changelog_writer {
 public:
  /// Creates the producer with transactional.id = prefix + shard_group and runs
  /// init_transactions: every earlier producer with that id (the previous owner,
  /// even one frozen and not yet aware) is fenced, and its open transaction is
  /// aborted, so nothing it did not commit becomes visible. Call it before
  /// restore_shard_group. Errors: invalid_argument, bad_config, broker_error
  /// (the transaction coordinator did not answer within call_timeout).
  [[nodiscard]] static result<std::unique_ptr<changelog_writer>> open(
      const changelog_options& options, int shard_group);
  ~changelog_writer();
  changelog_writer(const changelog_writer&) = delete;
  changelog_writer& operator=(const changelog_writer&) = delete;

  /// One transaction: begin(), add(batch), commit(); aborted on failure.
  /// Returns once the transaction is committed: every record written with
  /// acks=all and visible to read_committed readers; only then acknowledge.
  [[nodiscard]] result<void> write(const write_batch& batch);

  /// Starts a transaction. Errors: fenced, broker_error, invalid_argument (one is open).
  [[nodiscard]] result<void> begin();
  /// Adds the batch to the open transaction: each trip snapshot (put_trip) as a
  /// changelog record (key "t-<id>", this shard group's partition, the snapshot
  /// bytes the local store keeps), each trip erase as a tombstone, each event to
  /// its topic with its key and headers (partitioned like the outbox relay's).
  /// each ledger transfer chain as one record (key "l-<hi>-<lo>" of its first
  /// transfer, value every transfer of the chain as the ledger stores it), so a
  /// hold or capture is durable on the broker like the trip it belongs to. The
  /// chains are not validated here: check them against the store first
  /// (ledger::check; shard_group_host::write does). Other entities and journal
  /// entries stay local. Returns once the broker has acknowledged every record
  /// (invisible to read_committed readers until commit()); the first failed
  /// delivery is returned.
  /// Errors: invalid_argument (no open transaction, an empty chain), broker_error, fenced.
  [[nodiscard]] result<void> add(const write_batch& batch);
  /// Commits the open transaction, calling commit again while librdkafka says
  /// the error is retriable (up to call_timeout). Errors: fenced (another owner
  /// opened this shard group: nothing of the transaction is visible),
  /// broker_error, invalid_argument. A broker_error has one of two outcomes:
  /// - needs_reopen() false: the transaction was aborted, nothing of it is
  ///   visible; retry the whole transaction with this writer.
  /// - needs_reopen() true: the outcome is unknown — the commit timed out or
  ///   librdkafka could not abort it, and the broker may still make it visible.
  ///   Do not acknowledge; open a new writer for the shard group (its
  ///   init_transactions settles the old transaction) and retry the batch:
  ///   that is safe, since a changelog record is a whole snapshot and consumers
  ///   dedupe events by ce_id.
  [[nodiscard]] result<void> commit();
  /// Aborts the open transaction (nothing of it becomes visible). When the
  /// abort itself fails (broker_error) the writer needs_reopen(); the broker
  /// aborts the transaction after transaction_timeout or at the next open.
  [[nodiscard]] result<void> abort();
  /// After an unknown commit outcome or a failed abort, every call fails with
  /// broker_error until the shard group's writer is opened again (open()).
  bool needs_reopen() const noexcept;

  int shard_group() const noexcept;
  /// One past the changelog offset of the last record of this writer's committed
  /// transactions (nullopt before the first). At a clean handoff, once the store
  /// holds every committed write, record it: store::set_changelog_mark(group,
  /// {next_offset().value_or(restore end_offset), now}).
  std::optional<std::int64_t> next_offset() const noexcept;

 private:
  struct impl;
  explicit changelog_writer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The topic-level configs of `topic` as the broker reports them (explicit and
/// defaults), e.g. "cleanup.policy" (shard_group_host::start checks the
/// changelog's). Errors: broker_error (unreachable, unknown topic),
/// invalid_argument, bad_config.
[[nodiscard]] result<std::map<std::string, std::string>> topic_configs(
    const std::string& bootstrap, const std::string& topic, std::chrono::milliseconds timeout);

/// What a restore read and wrote.
struct restore_stats {
  bool resumed = false;             ///< read from the store's changelog mark, not the beginning
  std::int64_t first_offset = 0;    ///< where reading started (the mark, or 0)
  std::uint64_t records = 0;        ///< changelog records read (snapshots and tombstones)
  std::uint64_t snapshots = 0;      ///< trip snapshots written to the store
  std::uint64_t tombstones = 0;     ///< trips erased from the store
  std::uint64_t cleared = 0;        ///< the group's cached trips erased before a full restore
  std::uint64_t ledger_chains = 0;  ///< ledger chains read (ones the store had are replays)
  std::int64_t end_offset = 0;      ///< the partition's last stable offset reached
};

/// Reads shard group `shard_group`'s changelog partition to its end with
/// isolation.level=read_committed (the last stable offset: call it after
/// changelog_writer::open fenced the previous owner, so no transaction stays open)
/// and writes each trip's latest snapshot into `s` (tombstones erase), batched,
/// and each ledger chain into the store's ledger in changelog order (a chain the
/// store already has is a replay and writes nothing; one it refuses, e.g. an id
/// the store holds with other fields, fails the restore with the ledger's error).
/// The changelog wins over what the store had for a trip: the local store is a
/// cache. A full restore first erases the group's trips from the store when
/// options.trip_in_group is set (restore_stats::cleared). It reads from the
/// beginning, or from the store's changelog mark when one
/// younger than options.resume_max_age is there (a clean handoff earlier); the
/// mark is deleted first, so a crash from here on means a full restore next time
/// (the Kafka Streams rule for exactly-once state). Errors: broker_error (unreachable, or not at
/// the end within `timeout`), malformed_buffer (a record that is not a trip snapshot),
/// storage_error, invalid_argument.
[[nodiscard]] result<restore_stats> restore_shard_group(store& s, const changelog_options& options,
                                                        int shard_group,
                                                        std::chrono::milliseconds timeout);

}  // namespace rideshard::persistence
