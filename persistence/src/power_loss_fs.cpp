// power_loss_disk: a RocksDB FileSystem over the default one that remembers what
// was synced, so a test can cut the power and keep only the durable state.
#include "power_loss_fs.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace rideshard::persistence {
namespace {

namespace stdfs = std::filesystem;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

std::string normal(const std::string& path) {
  auto p = stdfs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string dir_of(const std::string& path) {
  return stdfs::path(normal(path)).parent_path().string();
}

IOStatus power_off() { return IOStatus::IOError("simulated power loss"); }

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using disk = power_loss_disk::impl;

/// A writable file that reports appends, truncates and syncs to the disk, and
/// fails every write once the power is off.
class tracked_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  tracked_file(std::unique_ptr<rocksdb::FSWritableFile> f, disk& d, std::string path)
      : FSWritableFileOwnerWrapper(std::move(f)), disk_(d), path_(std::move(path)) {}

  IOStatus Append(const rocksdb::Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    const auto end = target()->GetFileSize(o, dbg) + data.size();
    auto s = target()->Append(data, o, dbg);
    if (s.ok()) disk_.wrote(path_, end);
    return s;
  }
  IOStatus Append(const rocksdb::Slice& data, const IOOptions& o,
                  const rocksdb::DataVerificationInfo&, IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset, const IOOptions& o,
                            IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = target()->PositionedAppend(data, offset, o, dbg);
    if (s.ok()) disk_.wrote(path_, offset + data.size());
    return s;
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo&, IODebugContext* dbg) override {
    return PositionedAppend(data, offset, o, dbg);
  }
  IOStatus Truncate(std::uint64_t size, const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = target()->Truncate(size, o, dbg);
    if (s.ok()) disk_.truncated(path_, size);
    return s;
  }
  IOStatus Flush(const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    return target()->Flush(o, dbg);
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = target()->Sync(o, dbg);
    if (s.ok()) disk_.synced(path_);
    return s;
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = target()->Fsync(o, dbg);
    if (s.ok()) disk_.synced(path_);
    return s;
  }
  // sync_file_range makes no durability promise: it writes back, it does not sync.
  IOStatus RangeSync(std::uint64_t offset, std::uint64_t n, const IOOptions& o,
                     IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    return target()->RangeSync(offset, n, o, dbg);
  }

 private:
  disk& disk_;
  std::string path_;
};

/// A directory whose fsync makes its new and renamed entries durable.
class tracked_dir final : public rocksdb::FSDirectoryWrapper {
 public:
  tracked_dir(std::unique_ptr<rocksdb::FSDirectory> d, disk& k, std::string path)
      : FSDirectoryWrapper(std::move(d)), disk_(k), path_(std::move(path)) {}
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = FSDirectoryWrapper::Fsync(o, dbg);
    if (s.ok()) disk_.dir_synced(path_);
    return s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& options) override {
    if (!disk_.is_powered()) return power_off();
    auto s = FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, options);
    if (s.ok()) disk_.dir_synced(path_);
    return s;
  }

 private:
  disk& disk_;
  std::string path_;
};

class tracking_fs final : public rocksdb::FileSystemWrapper {
 public:
  explicit tracking_fs(disk& d) : FileSystemWrapper(rocksdb::FileSystem::Default()), disk_(d) {}
  const char* Name() const override { return "rideshard_power_loss"; }

  IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                           IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    const auto path = normal(f);
    std::error_code ec;
    const bool existed = stdfs::exists(path, ec);
    auto before = existed ? read_whole(path) : std::nullopt;
    std::unique_ptr<rocksdb::FSWritableFile> file;
    auto s = target()->NewWritableFile(f, o, &file, dbg);
    if (!s.ok()) return s;
    disk_.created(path, existed, std::move(before));
    *r = std::make_unique<tracked_file>(std::move(file), disk_, path);
    return s;
  }
  IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                              IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    const auto path = normal(f);
    std::error_code ec;
    if (!stdfs::exists(path, ec)) return NewWritableFile(f, o, r, dbg);
    std::unique_ptr<rocksdb::FSWritableFile> file;
    auto s = target()->ReopenWritableFile(f, o, &file, dbg);
    if (!s.ok()) return s;
    *r = std::make_unique<tracked_file>(std::move(file), disk_, path);
    return s;
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                             const rocksdb::FileOptions& o,
                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                             IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = RenameFile(old, f, IOOptions{}, dbg);
    if (!s.ok()) return s;
    return NewWritableFile(f, o, r, dbg);
  }
  IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                           std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                           IODebugContext* dbg) override {
    // Not tracked (the store never opens one); refuse writes after the cut.
    if (!disk_.is_powered()) return power_off();
    return target()->NewRandomRWFile(f, o, r, dbg);
  }
  IOStatus NewDirectory(const std::string& name, const IOOptions& o,
                        std::unique_ptr<rocksdb::FSDirectory>* r, IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSDirectory> dir;
    auto s = target()->NewDirectory(name, o, &dir, dbg);
    if (s.ok()) *r = std::make_unique<tracked_dir>(std::move(dir), disk_, normal(name));
    return s;
  }
  IOStatus RenameFile(const std::string& from, const std::string& to, const IOOptions& o,
                      IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    const auto dst = normal(to);
    std::error_code ec;
    auto before = stdfs::exists(dst, ec) ? read_whole(dst) : std::nullopt;
    auto s = target()->RenameFile(from, to, o, dbg);
    if (s.ok()) disk_.renamed(normal(from), dst, std::move(before));
    return s;
  }
  IOStatus DeleteFile(const std::string& f, const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = target()->DeleteFile(f, o, dbg);
    if (s.ok()) disk_.removed(normal(f));
    return s;
  }
  IOStatus Truncate(const std::string& f, size_t size, const IOOptions& o,
                    IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    auto s = target()->Truncate(f, size, o, dbg);
    if (s.ok()) disk_.truncated(normal(f), size);
    return s;
  }
  IOStatus LinkFile(const std::string& from, const std::string& to, const IOOptions& o,
                    IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    return target()->LinkFile(from, to, o, dbg);
  }
  IOStatus CreateDir(const std::string& d, const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    return target()->CreateDir(d, o, dbg);
  }
  IOStatus CreateDirIfMissing(const std::string& d, const IOOptions& o,
                              IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    return target()->CreateDirIfMissing(d, o, dbg);
  }
  IOStatus DeleteDir(const std::string& d, const IOOptions& o, IODebugContext* dbg) override {
    if (!disk_.is_powered()) return power_off();
    return target()->DeleteDir(d, o, dbg);
  }

 private:
  disk& disk_;
};

}  // namespace

bool disk::is_powered() {
  std::lock_guard lock(mu);
  return powered;
}

void disk::created(const std::string& path, bool existed, std::optional<std::string> before) {
  std::lock_guard lock(mu);
  files[path] = {};
  // The first change since the directory's last fsync decides what comes back.
  dirs[dir_of(path)].try_emplace(path, existed ? std::move(before) : std::nullopt);
}

void disk::wrote(const std::string& path, std::uint64_t end) {
  std::lock_guard lock(mu);
  auto& f = files[path];
  if (end > f.written) f.written = end;
  if (appends_to_cut > 0 && --appends_to_cut == 0) powered = false;
}

void disk::truncated(const std::string& path, std::uint64_t size) {
  std::lock_guard lock(mu);
  auto it = files.find(path);
  if (it == files.end()) return;  // a file from before: its durable size is unknown
  it->second.written = size;
  if (it->second.synced > size) it->second.synced = size;
}

void disk::synced(const std::string& path) {
  std::lock_guard lock(mu);
  auto& f = files[path];
  f.synced = f.written;
}

void disk::dir_synced(const std::string& dir) {
  std::lock_guard lock(mu);
  dirs.erase(dir);
}

void disk::renamed(const std::string& from, const std::string& to, entry_before to_before) {
  std::lock_guard lock(mu);
  if (auto it = files.find(from); it != files.end()) {
    files[to] = it->second;
    files.erase(it);
  } else {
    files.erase(to);
  }
  dirs[dir_of(to)].try_emplace(to, std::move(to_before));
  // A source created since the last fsync simply never existed after the cut.
  // (A source that was durable under its old name is not brought back.)
  if (auto d = dirs.find(dir_of(from)); d != dirs.end()) {
    if (auto e = d->second.find(from); e != d->second.end() && !e->second) d->second.erase(e);
  }
}

void disk::removed(const std::string& path) {
  std::lock_guard lock(mu);
  files.erase(path);
  if (auto d = dirs.find(dir_of(path)); d != dirs.end()) {
    if (auto e = d->second.find(path); e != d->second.end() && !e->second) d->second.erase(e);
  }
}

std::unique_ptr<rocksdb::Env> disk::make_env() const { return rocksdb::NewCompositeEnv(fs); }

power_loss_disk::power_loss_disk() : impl_(std::make_shared<impl>()) {
  impl_->fs = std::make_shared<tracking_fs>(*impl_);
}

power_loss_disk::~power_loss_disk() = default;

void power_loss_disk::cut_power() {
  std::lock_guard lock(impl_->mu);
  impl_->powered = false;
}

void power_loss_disk::cut_power_after_appends(std::uint64_t n) {
  std::lock_guard lock(impl_->mu);
  impl_->appends_to_cut = n;
}

bool power_loss_disk::powered() const { return impl_->is_powered(); }

result<power_loss_report> power_loss_disk::restore_power() {
  impl& d = *impl_;
  std::lock_guard lock(d.mu);
  power_loss_report report;
  std::error_code ec;
  for (const auto& [path, state] : d.files) {
    const auto size = stdfs::file_size(path, ec);
    if (ec || size <= state.synced) continue;  // gone, or nothing unsynced
    stdfs::resize_file(path, state.synced, ec);
    if (ec) return error{errc::storage_error, "power loss: truncate " + path + ": " + ec.message()};
    ++report.files_truncated;
    report.bytes_dropped += size - state.synced;
  }
  for (const auto& [dir, entries] : d.dirs) {
    for (const auto& [path, before] : entries) {
      if (!before) {
        if (stdfs::remove(path, ec)) ++report.files_removed;
        if (ec)
          return error{errc::storage_error, "power loss: remove " + path + ": " + ec.message()};
        continue;
      }
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(before->data(), static_cast<std::streamsize>(before->size()));
      if (!out) return error{errc::storage_error, "power loss: put back " + path};
      ++report.renames_undone;
    }
  }
  d.files.clear();
  d.dirs.clear();
  d.powered = true;
  d.appends_to_cut = 0;
  return report;
}

}  // namespace rideshard::persistence
