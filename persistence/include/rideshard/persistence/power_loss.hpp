// power_loss_disk: a simulated power cut for durability tests. A store opened on
// it writes to the real directory, while the disk remembers what was synced.
#pragma once

#include <cstdint>
#include <memory>

#include "rideshard/engine/result.hpp"

namespace rideshard::persistence {

/// What restore_power() threw away.
struct power_loss_report {
  std::uint64_t files_truncated = 0;  ///< files cut back to their last synced size
  std::uint64_t bytes_dropped = 0;    ///< appended but never synced
  std::uint64_t files_removed = 0;    ///< created, but their directory was never synced
  std::uint64_t renames_undone = 0;   ///< renamed, but the directory was never synced
};

/// A file system for power-loss tests (pass it in store_options::power_loss).
/// Files are real files; the disk tracks, per file, the size at its last
/// Sync/Fsync and, per directory, the entries created or renamed since its last
/// fsync. cut_power() stops every write; restore_power() then leaves on disk only
/// what a real power cut would have left: each file truncated to its last synced
/// size, files whose directory entry was never synced removed, renames whose
/// directory was never synced undone. Deletes are not undone (a deleted file is
/// gone for good), and synced data is assumed to be exactly what was written (no
/// torn sectors). Thread-safe.
class power_loss_disk {
 public:
  power_loss_disk();
  ~power_loss_disk();
  power_loss_disk(const power_loss_disk&) = delete;
  power_loss_disk& operator=(const power_loss_disk&) = delete;

  /// The power goes out: from now on every append, sync, create, rename and
  /// delete fails with an I/O error and changes nothing. Close the store next.
  void cut_power();
  /// The power goes out right after the n-th append from now (n >= 1): that
  /// append reaches the file but not its sync, like a cut inside a commit.
  void cut_power_after_appends(std::uint64_t n);
  /// Whether the power is on (false after a cut, until restore_power()).
  bool powered() const;
  /// Drops everything that was not synced when the power went out and powers the
  /// disk back on; reopen the store next. Errors: storage_error (a file could not
  /// be truncated, removed or put back).
  [[nodiscard]] result<power_loss_report> restore_power();

  struct impl;  // the RocksDB FileSystem behind it (src/power_loss_fs.hpp)

 private:
  friend class store;
  std::shared_ptr<impl> impl_;
};

}  // namespace rideshard::persistence
