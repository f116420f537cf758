// token_vault's personal-data half: a random key per person, wrapped with the
// vault key in row "pk/<subject>"; shredding deletes the row and compacts it away.
#include <openssl/rand.h>

#include "rideshard/persistence/token_vault.hpp"
#include "vault_impl.hpp"

namespace rideshard::persistence {
namespace {

constexpr std::string_view sealed_prefix = "p1:";

std::string key_row(std::string_view subject) { return "pk/" + std::string(subject); }
std::string data_aad(std::string_view subject) { return "pd/" + std::string(subject); }

}  // namespace

result<std::optional<vault_key>> token_vault::person_key(std::string_view subject,
                                                         bool create) const {
  if (subject.empty()) return error{errc::invalid_argument, "personal data needs a subject"};
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (auto it = impl_->person_keys.find(subject); it != impl_->person_keys.end())
    return std::optional<vault_key>(it->second);
  const std::string name = key_row(subject);
  std::string row;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, name, &row);
  vault_key key{};
  if (s.ok()) {
    std::string plain;
    if (!vault_detail::open_row(impl_->options.key, name, row, plain) || plain.size() != key.size())
      return error{errc::storage_error, "personal key row fails authentication"};
    std::copy(plain.begin(), plain.end(), key.begin());
    vault_detail::wipe(plain);
  } else if (!s.IsNotFound()) {
    return error{errc::storage_error, "vault read: " + s.ToString()};
  } else if (!create) {
    return std::optional<vault_key>();
  } else {
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
      return error{errc::internal, "no randomness for a personal key"};
    const std::string_view plain(reinterpret_cast<const char*>(key.data()), key.size());
    if (!vault_detail::seal(impl_->options.key, name, plain, row))
      return error{errc::internal, "vault encryption failed"};
    rocksdb::WriteOptions wo;
    wo.sync = impl_->options.sync;
    if (auto w = impl_->db->Put(wo, name, row); !w.ok())
      return error{errc::storage_error, "vault write: " + w.ToString()};
  }
  impl_->person_keys.emplace(std::string(subject), key);
  return std::optional<vault_key>(key);
}

result<std::string> token_vault::seal_personal(std::string_view subject, std::string_view plain) {
  auto key = person_key(subject, true);
  if (!key) return key.err();
  std::string row;
  const bool ok = vault_detail::seal(**key, data_aad(subject), plain, row);
  vault_detail::wipe(**key);
  if (!ok) return error{errc::internal, "vault encryption failed"};
  return std::string(sealed_prefix) +
         vault_detail::hex(reinterpret_cast<const std::uint8_t*>(row.data()), row.size());
}

result<std::optional<std::string>> token_vault::open_personal(std::string_view subject,
                                                              std::string_view sealed) const {
  const error malformed{errc::invalid_argument, "not sealed personal data"};
  if (sealed.substr(0, sealed_prefix.size()) != sealed_prefix) return malformed;
  const std::string_view text = sealed.substr(sealed_prefix.size());
  if (text.size() % 2 != 0) return malformed;
  std::string row(text.size() / 2, '\0');
  for (std::size_t i = 0; i < row.size(); ++i) {
    const int hi = vault_detail::hex_value(text[2 * i]);
    const int lo = vault_detail::hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return malformed;
    row[i] = static_cast<char>(hi * 16 + lo);
  }
  auto key = person_key(subject, false);
  if (!key) return key.err();
  if (!*key) return std::optional<std::string>();  // shredded: unreadable for good
  std::string plain;
  const bool ok = vault_detail::open_row(**key, data_aad(subject), row, plain);
  vault_detail::wipe(**key);
  if (!ok) return error{errc::storage_error, "personal data fails authentication"};
  return std::optional<std::string>(std::move(plain));
}

result<void> token_vault::shred_personal(std::string_view subject) {
  const std::string name = key_row(subject);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    rocksdb::WriteOptions wo;
    wo.sync = impl_->options.sync;
    if (auto s = impl_->db->Delete(wo, name); !s.ok())
      return error{errc::storage_error, "vault erase: " + s.ToString()};
    if (auto it = impl_->person_keys.find(subject); it != impl_->person_keys.end()) {
      vault_detail::wipe(it->second);
      impl_->person_keys.erase(it);
    }
  }
  // The delete is durable; now make the old row physically go: flush the
  // memtable (its WAL is then obsolete and removed) and compact the row's key
  // to the bottom level, where the tombstone drops the value.
  if (auto s = impl_->db->Flush(rocksdb::FlushOptions{}); !s.ok())
    return error{errc::storage_error, "vault flush: " + s.ToString()};
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  const rocksdb::Slice k(name);
  if (auto s = impl_->db->CompactRange(co, &k, &k); !s.ok())
    return error{errc::storage_error, "vault compaction: " + s.ToString()};
  return {};
}

result<bool> token_vault::has_personal_key(std::string_view subject) const {
  auto key = person_key(subject, false);
  if (!key) return key.err();
  const bool present = key->has_value();
  if (present) vault_detail::wipe(**key);
  return present;
}

}  // namespace rideshard::persistence
