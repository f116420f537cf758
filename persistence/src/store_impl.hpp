// store::impl (private): the RocksDB handles and the group-commit queue.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "power_loss_fs.hpp"
#include "rideshard/persistence/store.hpp"

namespace rideshard::persistence {

/// A storage error from a RocksDB status.
inline error storage_error(const std::string& what, const rocksdb::Status& s) {
  return error{errc::storage_error, what + ": " + s.ToString()};
}

struct store::impl {
  /// One commit() call waiting for (or leading) a group write.
  struct pending {
    const write_batch* batch = nullptr;
    rocksdb::Status status;
    commit_receipt receipt;
    bool done = false;
  };

  store_options options;
  std::shared_ptr<power_loss_disk::impl> disk;  // tests: the simulated disk, outlives db
  std::unique_ptr<rocksdb::Env> env;            // over `disk`; outlives db
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned; destroyed before db
  rocksdb::ColumnFamilyHandle* entities = nullptr;
  rocksdb::ColumnFamilyHandle* journal = nullptr;
  rocksdb::ColumnFamilyHandle* outbox = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;

  std::mutex mu;  // guards queue, leader_active, next_outbox
  std::condition_variable cv;
  std::deque<pending*> queue;
  bool leader_active = false;
  std::uint64_t next_outbox = 1;
  std::atomic<std::uint64_t> next_outbox_visible{1};
  std::atomic<std::uint64_t> outbox_depth{0};

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
  void write_group(std::vector<pending*>& group, std::uint64_t first_seq);
};

}  // namespace rideshard::persistence
