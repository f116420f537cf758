// store::impl (private): the RocksDB handles and the group-commit queue.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "power_loss_fs.hpp"
#include "rideshard/persistence/store.hpp"

namespace rideshard::persistence {

/// A storage error from a RocksDB status.
inline error storage_error(const std::string& what, const rocksdb::Status& s) {
  return error{errc::storage_error, what + ": " + s.ToString()};
}

/// The ledger's in-memory state: every balance and every open hold (the rest
/// of the ledger is read from RocksDB). Written only by the group-commit leader
/// after a successful write, under `mu`.
struct ledger_cache {
  mutable std::shared_mutex mu;
  std::map<account_id, balance> balances;
  std::map<transfer_id, transfer> open_holds;
  std::uint64_t next_sequence = 1;
};

struct store::impl {
  /// One commit() call waiting for (or leading) a group write.
  struct pending {
    const write_batch* batch = nullptr;
    rocksdb::Status status;
    std::optional<error> refused;  ///< a ledger chain was invalid: nothing of it written
    commit_receipt receipt;
    bool done = false;
  };

  store_options options;
  std::function<void(const write_batch&)> listener;  ///< set_commit_listener (set once)
  std::shared_ptr<power_loss_disk::impl> disk;       // tests: the simulated disk, outlives db
  std::unique_ptr<rocksdb::Env> env;                 // over `disk`; outlives db
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned; destroyed before db
  rocksdb::ColumnFamilyHandle* entities = nullptr;
  rocksdb::ColumnFamilyHandle* journal = nullptr;
  rocksdb::ColumnFamilyHandle* outbox = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* ledger_cf = nullptr;
  ledger_cache ledger;

  std::mutex mu;  // guards queue, leader_active, next_outbox
  std::condition_variable cv;
  std::deque<pending*> queue;
  bool leader_active = false;
  std::uint64_t next_outbox = 1;
  std::atomic<std::uint64_t> next_outbox_visible{1};
  std::atomic<std::uint64_t> outbox_depth{0};
  mutable std::mutex topics_mu;                             // guards committed_by_topic
  std::map<std::string, std::uint64_t> committed_by_topic;  // events committed since open

  /// The newest committed outbox rows, for read_outbox without RocksDB
  /// (keep_outbox_tail). Every row with sequence >= floor is in `rows`, in
  /// order; `next` is the sequence after the last row the leader wrote.
  struct outbox_tail {
    std::mutex mu;
    std::atomic<std::size_t> max_rows{0};  // 0: off
    std::uint64_t floor = UINT64_MAX;
    std::uint64_t next = 1;
    std::deque<outbox_row> rows;
  };
  mutable outbox_tail tail;
  /// After a successful group write ending before sequence `end`: its rows
  /// (copies, empty if the tail was off when the group began) join the tail.
  void append_tail(std::uint64_t end, std::vector<outbox_event> events);
  /// Empties the tail; keeps rows committed from now on, at most max_rows (0: none).
  void reset_tail(std::size_t max_rows);

  /// Analytics rows in sequence order with their commit time (retention).
  struct analytics_row {
    std::uint64_t sequence = 0;
    std::chrono::steady_clock::time_point committed;
  };
  mutable std::mutex analytics_mu;  // guards analytics
  std::deque<analytics_row> analytics;
  static bool before(const analytics_row& r, std::uint64_t seq);  // lower_bound order

  ~impl();
  /// Retention bookkeeping (store_retention.cpp): rows being written, rows erased.
  void track_analytics(const std::vector<std::uint64_t>& sequences);
  void untrack_analytics(std::uint64_t first, std::uint64_t last);
  void untrack_analytics(const std::vector<std::uint64_t>& sequences);
  /// Writes every queued batch as one WriteBatch; called by the group leader.
  /// Returns how many outbox events it wrote (batches refused by the ledger write none).
  std::uint64_t write_group(std::vector<pending*>& group, std::uint64_t first_seq);
  /// Loads balances, open holds and the ledger sequence at open.
  rocksdb::Status load_ledger();
  /// Writes the ride-due rows ('D') of a store that predates them, once.
  rocksdb::Status index_ride_transfers();
};

}  // namespace rideshard::persistence
