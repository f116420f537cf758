// store backups: RocksDB Checkpoint (hard-linked, openable copy) and
// BackupEngine (incremental backups in a directory), and their restores.
#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>
#include <system_error>

#include "rideshard/persistence/store.hpp"
#include "store_impl.hpp"

namespace rideshard::persistence {

namespace fs = std::filesystem;

result<void> store::checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return storage_error("checkpoint", s);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // log_size_for_flush = 0: flush memtables first so the copy needs no WAL replay.
  s = cp->CreateCheckpoint(dir, 0);
  if (!s.ok()) return storage_error("checkpoint " + dir, s);
  return {};
}

result<void> store::restore_checkpoint(const std::string& checkpoint_dir,
                                       const std::string& target) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(checkpoint_dir) / "CURRENT", ec))
    return error{errc::invalid_argument, checkpoint_dir + " is not a checkpoint"};
  if (fs::exists(target, ec)) return error{errc::invalid_argument, target + " already exists"};
  // Copy into a sibling first and rename, so a crash never leaves a half copy at target.
  const fs::path tmp = fs::path(target).string() + ".restoring";
  fs::remove_all(tmp, ec);
  fs::copy(checkpoint_dir, tmp, fs::copy_options::recursive, ec);
  if (!ec) fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return error{errc::storage_error, "restore " + checkpoint_dir + ": " + ec.message()};
  }
  return {};
}

result<void> store::backup(const std::string& dir) {
  rocksdb::BackupEngine* raw = nullptr;
  auto s =
      rocksdb::BackupEngine::Open(rocksdb::Env::Default(), rocksdb::BackupEngineOptions(dir), &raw);
  if (!s.ok()) return storage_error("open backup dir " + dir, s);
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);
  s = engine->CreateNewBackup(impl_->db.get(), /*flush_before_backup=*/true);
  if (!s.ok()) return storage_error("backup", s);
  return {};
}

result<void> store::restore_backup(const std::string& backup_dir, const std::string& target) {
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  auto s = rocksdb::BackupEngineReadOnly::Open(rocksdb::Env::Default(),
                                               rocksdb::BackupEngineOptions(backup_dir), &raw);
  if (!s.ok()) return storage_error("open backup dir " + backup_dir, s);
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  s = engine->RestoreDBFromLatestBackup(target, target);
  if (!s.ok()) return storage_error("restore backup", s);
  return {};
}

}  // namespace rideshard::persistence
