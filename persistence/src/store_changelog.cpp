// store: the changelog marks of cluster mode (meta CF), one per shard group.
#include "keys.hpp"
#include "store_impl.hpp"

namespace rideshard::persistence {

result<std::optional<changelog_mark>> store::load_changelog_mark(int shard_group) const {
  std::string v;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, impl_->meta,
                          keys::meta_changelog_mark(shard_group), &v);
  if (s.IsNotFound()) return std::optional<changelog_mark>{};
  if (!s.ok()) return storage_error("read changelog mark", s);
  if (v.size() != 16)
    return error{errc::storage_error,
                 "changelog mark of shard group " + std::to_string(shard_group) + " is corrupt"};
  return std::optional<changelog_mark>{
      changelog_mark{static_cast<std::int64_t>(keys::get_be64(std::string_view(v).substr(0, 8))),
                     static_cast<std::int64_t>(keys::get_be64(std::string_view(v).substr(8)))}};
}

result<void> store::set_changelog_mark(int shard_group, const std::optional<changelog_mark>& mark) {
  rocksdb::WriteOptions wo;
  wo.sync = impl_->options.sync;
  const auto key = keys::meta_changelog_mark(shard_group);
  rocksdb::Status s;
  if (mark) {
    std::string v;
    keys::put_be64(v, static_cast<std::uint64_t>(mark->next_offset));
    keys::put_be64(v, static_cast<std::uint64_t>(mark->recorded_at_ms));
    s = impl_->db->Put(wo, impl_->meta, key, v);
  } else {
    s = impl_->db->Delete(wo, impl_->meta, key);
  }
  if (!s.ok()) return storage_error("write changelog mark", s);
  return {};
}

}  // namespace rideshard::persistence
