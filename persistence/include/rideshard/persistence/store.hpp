// store: the node's durable state in one RocksDB directory — entity snapshots,
// per-trip journal, Kafka outbox and metadata — plus checkpoints and backups.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/power_loss.hpp"
#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::persistence {

struct store_options {
  std::string path;               ///< data directory (created if missing)
  bool create_if_missing = true;  ///< false: opening a missing store fails
  /// fsync the WAL before commit() returns. Only tests and benchmarks that
  /// measure something else turn this off; an acknowledgement needs it.
  bool sync = true;
  /// Tests only: run on a simulated disk that can lose power (power_loss.hpp).
  std::shared_ptr<power_loss_disk> power_loss;
};

/// What commit() wrote to the outbox: sequences first_event..first_event+events-1.
struct commit_receipt {
  std::uint64_t first_event = 0;  ///< 0 when the batch had no events
  std::uint32_t events = 0;
};

/// An entity snapshot as stored.
struct entity_snapshot {
  entity_kind kind = entity_kind::trip;
  std::uint64_t id = 0;
  std::uint64_t sequence = 0;  ///< replay the journal after this
  std::vector<std::uint8_t> value;
};

struct journal_entry {
  trip_id trip;
  std::uint64_t sequence = 0;
  std::vector<std::uint8_t> value;
};

/// One outbox row: a global, monotonic sequence (never reused) and its event.
struct outbox_row {
  std::uint64_t sequence = 0;
  outbox_event event;
};

/// Retention of analytics rows (is_analytics_topic) in the outbox, for the
/// embedded default where no relay drains it: rows older than max_age go, then
/// the oldest beyond max_rows. Trip events are never dropped.
struct analytics_retention {
  std::chrono::milliseconds max_age{std::chrono::minutes(10)};
  std::uint64_t max_rows = 100'000;
};

/// What one drop_analytics() pass removed.
struct retention_pass {
  std::uint64_t dropped_by_age = 0;
  std::uint64_t dropped_by_size = 0;
};

/// Cluster mode: how far the store holds one shard group's changelog (set at a
/// clean handoff, used and cleared by restore_shard_group; trip_changelog.hpp).
struct changelog_mark {
  std::int64_t next_offset = 0;     ///< the first changelog offset not in the store
  std::int64_t recorded_at_ms = 0;  ///< wall clock (epoch ms) when it was set
};

/// The RocksDB-backed store. Thread-safety: every member function may be called
/// concurrently from any thread. Concurrent commit() callers share one synced
/// WAL write (group commit); outbox sequences follow commit order, and a
/// reader never sees sequence n+1 before n.
class store {
 public:
  /// Opens (or creates) the store at options.path. Errors: storage_error
  /// (I/O, corruption, another process holds the lock), invalid_argument.
  [[nodiscard]] static result<std::unique_ptr<store>> open(const store_options& options);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Writes the whole batch atomically (all or nothing) with a synced WAL when
  /// options.sync and batch.sync(). On success the batch survives a process
  /// crash, and, synced, an OS crash or power loss. A group write is synced
  /// when one of its batches is (an unsynced batch may share that sync).
  /// Ledger chains (write_batch::add_transfers) are validated in commit order
  /// against the ledger; an invalid chain refuses the whole batch.
  /// Errors: invalid_argument (batch rejected, nothing written), storage_error,
  /// transfer_exists / ledger_rejected (a chain refused, nothing written).
  [[nodiscard]] result<commit_receipt> commit(const write_batch& batch);
  /// Called with each batch after its commit() succeeded, on the committing
  /// thread with no store lock held (it may commit itself). Set once before the
  /// store is shared (not synchronized); it must be quick: it runs on the
  /// caller's thread before commit() returns (the fraud desk reads trip events).
  void set_commit_listener(std::function<void(const write_batch&)> listener);

  // --- recovery ---
  /// Every snapshot of `kind`, in id order.
  [[nodiscard]] result<std::vector<entity_snapshot>> load_entities(entity_kind kind) const;
  /// One page of `kind`'s snapshots, at most `max`: in id order with id > from
  /// (oldest first), or with newest_first in reverse id order with id < from
  /// (from = 0: from the newest). Reads only the page's rows, however many the
  /// store holds (the admin lists page with it). Errors: storage_error.
  [[nodiscard]] result<std::vector<entity_snapshot>> load_entities_page(
      entity_kind kind, std::uint64_t from, std::size_t max, bool newest_first = false) const;
  /// One snapshot, or nullopt.
  [[nodiscard]] result<std::optional<entity_snapshot>> load_entity(entity_kind kind,
                                                                   std::uint64_t id) const;
  /// Journal entries of `trip` with sequence > after, in sequence order.
  [[nodiscard]] result<std::vector<journal_entry>> journal_after(trip_id trip,
                                                                 std::uint64_t after) const;
  /// Deletes `trip`'s journal entries with sequence <= upto (after a snapshot).
  [[nodiscard]] result<void> trim_journal(trip_id trip, std::uint64_t upto);

  // --- outbox ---
  /// Up to `max` rows with sequence > after, in sequence order. Rows committed
  /// since keep_outbox_tail() come from memory while they are in the tail.
  [[nodiscard]] result<std::vector<outbox_row>> read_outbox(std::uint64_t after,
                                                            std::size_t max) const;
  /// Keeps the newest committed outbox rows (at most `max_rows`, oldest dropped
  /// first) in memory from now on, so that a reader moving forward through the
  /// outbox (the relay) gets them without reading RocksDB; rows it has moved past
  /// or read leave memory. Rows older than the tail are read from
  /// RocksDB as before. 0 turns it off. Thread-safe.
  void keep_outbox_tail(std::size_t max_rows);
  /// Deletes delivered rows. Not synced: a row whose delete is lost in an OS
  /// crash is delivered again (consumers dedupe by event_id).
  [[nodiscard]] result<void> erase_outbox(const std::vector<std::uint64_t>& sequences);
  /// Deletes every row with first <= sequence <= last in one range delete (the
  /// relay's delivered prefix); `rows` is how many rows the range holds. The
  /// caller guarantees all of them were delivered. Not synced, like erase_outbox.
  [[nodiscard]] result<void> erase_outbox_range(std::uint64_t first, std::uint64_t last,
                                                std::uint64_t rows);
  /// Rows currently in the outbox (kept in memory; exact).
  std::uint64_t outbox_depth() const noexcept;
  /// Events committed to the outbox since the store was opened, per topic
  /// (the admin console shows their rates). Thread-safe.
  std::map<std::string, std::uint64_t> outbox_events_by_topic() const;
  /// The sequence the next outbox event will get.
  std::uint64_t next_outbox_sequence() const noexcept;

  // --- retention (the embedded default: no relay) ---
  /// Analytics rows currently in the outbox (included in outbox_depth()).
  std::uint64_t analytics_depth() const;
  /// Time since the oldest analytics row was committed (rows found at open count
  /// from the open); zero when there is none. `now` is the steady clock.
  std::chrono::milliseconds oldest_analytics_age(std::chrono::steady_clock::time_point now) const;
  /// Deletes analytics rows committed before now - max_age, then the oldest
  /// beyond max_rows; never a trip event. Not synced (a lost delete only keeps a
  /// row). Not while an outbox_relay runs on this store: the relay owns erasing
  /// then. Errors: storage_error (nothing dropped).
  [[nodiscard]] result<retention_pass> drop_analytics(const analytics_retention& policy,
                                                      std::chrono::steady_clock::time_point now);

  // --- cluster mode ---
  /// The changelog mark of `shard_group`, or nullopt. Errors: storage_error.
  [[nodiscard]] result<std::optional<changelog_mark>> load_changelog_mark(int shard_group) const;
  /// Sets (or, with nullopt, deletes) the mark, synced. Errors: storage_error.
  [[nodiscard]] result<void> set_changelog_mark(int shard_group,
                                                const std::optional<changelog_mark>& mark);

  // --- backups ---
  /// A consistent, openable copy of the store in `dir` (must not exist); hard
  /// links where possible, so it is cheap. Restore with restore_checkpoint().
  [[nodiscard]] result<void> checkpoint(const std::string& dir);
  /// Copies a checkpoint made by checkpoint() to `target` (must not exist).
  [[nodiscard]] static result<void> restore_checkpoint(const std::string& checkpoint_dir,
                                                       const std::string& target);
  /// Adds an incremental backup to the RocksDB BackupEngine directory `dir`.
  [[nodiscard]] result<void> backup(const std::string& dir);
  /// Restores the latest backup in `backup_dir` into `target` (created or overwritten).
  [[nodiscard]] static result<void> restore_backup(const std::string& backup_dir,
                                                   const std::string& target);

  /// The RocksDB handles (defined in src/store_impl.hpp, opaque to users).
  struct impl;

 private:
  explicit store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  friend class ledger;
};

}  // namespace rideshard::persistence
