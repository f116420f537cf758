// power_loss_disk::impl (private): the RocksDB FileSystem wrapper that tracks
// synced sizes and unsynced directory entries for a simulated power cut.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "rideshard/persistence/power_loss.hpp"

namespace rideshard::persistence {

struct power_loss_disk::impl {
  /// A file written through the disk: bytes written and bytes known synced.
  struct file_state {
    std::uint64_t written = 0;
    std::uint64_t synced = 0;
  };
  /// What a directory entry held at the directory's last fsync: nothing (the
  /// entry was created since), or a file's content (it was renamed over since).
  using entry_before = std::optional<std::string>;

  std::mutex mu;  // guards everything below
  bool powered = true;
  std::uint64_t appends_to_cut = 0;         // > 0: the power goes after that many more appends
  std::map<std::string, file_state> files;  // by path
  std::map<std::string, std::map<std::string, entry_before>> dirs;  // dir -> path -> before
  /// The wrapper RocksDB sees (holds a weak reference back to this impl).
  std::shared_ptr<rocksdb::FileSystem> fs;

  bool is_powered();
  /// A new (or reopened-empty) file at path; `existed`: a file was there before.
  void created(const std::string& path, bool existed, std::optional<std::string> before);
  void wrote(const std::string& path, std::uint64_t end);
  void truncated(const std::string& path, std::uint64_t size);
  void synced(const std::string& path);
  void dir_synced(const std::string& dir);
  void renamed(const std::string& from, const std::string& to, entry_before to_before);
  void removed(const std::string& path);
  /// An Env over `fs` for DBOptions::env; must outlive the DB.
  std::unique_ptr<rocksdb::Env> make_env() const;
};

}  // namespace rideshard::persistence
