// node_storage: what `rideshard serve` keeps on disk and sends to Kafka — the
// RocksDB store, the outbox relay (when a broker is configured), backups and
// the admin audit log (app/admin_audit.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/audit_window.hpp"
#include "api/http_api.hpp"
#include "auth/user_store.hpp"
#include "gateway/metrics.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/outbox_relay.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/token_vault.hpp"
#include "rideshard/persistence/topic_window.hpp"

namespace rideshard::app {

/// A region's admin switches as the audit log left them (restored at start).
struct region_switch_state {
  std::string region;
  bool dispatch_paused = false;
  bool surge_frozen = false;
};

/// Where open() found the region switches.
struct region_switch_source {
  /// true: their record (entity kind region_switches, one row); false: a store
  /// from before it, so the audit log was read once and the record written.
  bool from_record = true;
  std::size_t audit_entries_read = 0;  ///< the migration's read (0 from the record)
};

struct storage_options {
  std::string data_dir;                     ///< RocksDB directory (created if missing)
  std::string kafka_bootstrap;              ///< empty: events wait in the outbox
  int kafka_partitions = 3;                 ///< per topic, when the node creates them
  std::string backup_dir;                   ///< BackupEngine directory; empty: no backups
  std::chrono::seconds backup_interval{0};  ///< > 0: scheduled backups
  /// The embedded default (no kafka_bootstrap) drops analytics events past these
  /// bounds, one pass per retention_interval; trip events are always kept.
  persistence::analytics_retention retention;
  std::chrono::milliseconds retention_interval{1000};
  /// Outbox gauges and the drop counter; must outlive the node_storage. Optional.
  gateway::metrics* metrics = nullptr;
  std::uint16_t node_id = 1;  ///< written into each audit entry ([node] id)
  /// With a broker: how many of the cluster's newest audit entries this node
  /// keeps from rideshard.admin-audit.v1 for the console (0: none, node scope).
  std::size_t audit_window = 1000;
};

/// Owns the store, the relay and the backup schedule. Thread-safe: health()
/// and backup_now() may be called from any thread. The store outlives the
/// relay and the backup thread (destruction order is handled here).
class node_storage {
 public:
  /// Opens the store, creates the Kafka topics (a broker that is down only
  /// delays them: the relay keeps retrying) and starts the relay and the
  /// backup schedule. Errors: storage_error (e.g. the directory is locked by
  /// another node), bad_config.
  [[nodiscard]] static result<std::unique_ptr<node_storage>> open(const storage_options& o);
  ~node_storage();
  node_storage(const node_storage&) = delete;
  node_storage& operator=(const node_storage&) = delete;

  persistence::store& store() noexcept { return *store_; }
  api::outbox_health health() const;
  /// Accounts (POST /api/users ...): hooks that write each change (synced)
  /// before the API answers, and the accounts stored so far. Name, email and
  /// password hash are sealed under the person's own key in `vault` (must
  /// outlive the hooks); erasure shreds that key first, then drops the row.
  /// load_accounts finishes an erasure interrupted between the two and seals
  /// rows written before sealing existed.
  auth::account_durability account_hooks(persistence::token_vault& vault);
  [[nodiscard]] result<std::vector<auth::user>> load_accounts(persistence::token_vault& vault);
  /// The audit log: writes `e` (assigning e.id) as an admin_audit record and its
  /// rideshard.admin-audit.v1 event in one synced batch. Thread-safe.
  [[nodiscard]] result<void> record_audit(api::audit_entry& e);
  /// The newest `n` audit entries older than the entry `before` (0: the
  /// newest), newest first. Reads only those rows: O(n), however long the log.
  /// With a broker (cluster scope) this node's page is merged with the audit
  /// window's: every node's newest entries read back from Kafka.
  [[nodiscard]] result<std::vector<api::audit_entry>> recent_audit(std::size_t n,
                                                                   std::uint64_t before) const;
  /// The region switches the audit log leaves on: per region, the last
  /// acknowledged (200) pause/resume-dispatch and freeze/unfreeze-surge win.
  /// Regions with both off are left out. Kept in their own record, written in
  /// the batch of each flip's audit entry and read by open() (one row, however
  /// long the log); a store from before the record gets it at its first open
  /// from one pass over the audit log.
  std::vector<region_switch_state> region_switches() const;
  region_switch_source region_switches_source() const { return switch_source_; }
  /// "cluster" when the audit window follows the topic (a broker), else "node".
  std::string audit_scope() const;
  /// Where recent_audit() reads, in words for the console (cluster scope: how
  /// far back the window reaches and whether it is following the topic yet).
  std::string audit_source() const;
  /// Shutdown: stops the relay's background thread, then relays what is left
  /// in the outbox until it is empty or `timeout` (rows not delivered stay for
  /// the next start). No broker configured: nothing to do. Errors: unavailable
  /// (timed out), storage_error.
  [[nodiscard]] result<void> flush_outbox(std::chrono::milliseconds timeout);
  /// Adds an incremental backup to backup_dir now; returns the directory.
  /// Errors: unavailable (no backup_dir), storage_error.
  [[nodiscard]] result<std::string> backup_now();

 private:
  node_storage() = default;
  /// At open: the switches' record, or (a store from before it) the audit log,
  /// folded once and written as the record. Errors: storage_error, bad_json.
  [[nodiscard]] result<void> load_region_switches();
  void backup_loop();
  void retention_loop();

  storage_options opts_;
  std::unique_ptr<persistence::store> store_;
  std::unique_ptr<persistence::outbox_relay> relay_;
  std::mutex backup_mu_;  ///< one backup at a time (BackupEngine is single-writer)
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread backup_thread_;
  std::thread retention_thread_;  ///< embedded default only
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> audit_seq_{0};          ///< audit ids: Unix ms * 1000 + a counter
  std::unique_ptr<api::audit_window> audit_window_;  ///< cluster scope (a broker)
  std::unique_ptr<persistence::topic_window> audit_follow_;  ///< feeds audit_window_
  mutable std::mutex switches_mu_;  ///< one switch flip at a time: guards switches_
  std::map<std::string, region_switch_state> switches_;  ///< as committed, regions on only
  region_switch_source switch_source_;
};

}  // namespace rideshard::app
