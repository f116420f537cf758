// token_vault: AES-256-GCM (OpenSSL EVP) rows in a separate RocksDB directory.
#include "rideshard/persistence/token_vault.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "vault_impl.hpp"

namespace rideshard::persistence {
namespace {

using vault_detail::hex;
using vault_detail::hex_value;
using vault_detail::open_row;
using vault_detail::seal;

bool valid_token(std::string_view t) {
  if (t.size() != 36 || t.substr(0, 4) != "tok_") return false;
  for (char c : t.substr(4))
    if (hex_value(c) < 0 || (c >= 'A' && c <= 'F')) return false;
  return true;
}

}  // namespace

result<vault_key> parse_vault_key(std::string_view text) {
  if (text.size() != 64)
    return error{errc::bad_config, "vault key must be 64 hex characters (256 bits)"};
  vault_key key{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return error{errc::bad_config, "vault key must be hex"};
    key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

vaulted_card::~vaulted_card() {
  if (!number.empty()) OPENSSL_cleanse(number.data(), number.size());
}

token_vault::token_vault(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
token_vault::~token_vault() = default;

result<std::unique_ptr<token_vault>> token_vault::open(const vault_options& options) {
  if (options.path.empty()) return error{errc::invalid_argument, "vault path is empty"};
  rocksdb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, options.path, &raw);
  if (!s.ok())
    return error{errc::storage_error, "open vault " + options.path + ": " + s.ToString()};
  auto p = std::make_unique<impl>();
  p->options = options;
  p->db.reset(raw);
  return std::unique_ptr<token_vault>(new token_vault(std::move(p)));
}

result<std::string> token_vault::store_card(std::string_view digits, int exp_month, int exp_year) {
  std::uint8_t id[16];
  if (RAND_bytes(id, sizeof id) != 1) return error{errc::internal, "no randomness for a token"};
  std::string token = "tok_" + hex(id, sizeof id);
  std::string plain = std::to_string(exp_month) + "/" + std::to_string(exp_year) + "/";
  plain.append(digits);
  std::string row;
  const bool sealed = seal(impl_->options.key, token, plain, row);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!sealed) return error{errc::internal, "vault encryption failed"};
  rocksdb::WriteOptions wo;
  wo.sync = impl_->options.sync;
  auto s = impl_->db->Put(wo, token, row);
  if (!s.ok()) return error{errc::storage_error, "vault write: " + s.ToString()};
  return token;
}

result<vaulted_card> token_vault::reveal(std::string_view token) const {
  if (!valid_token(token)) return error{errc::invalid_argument, "not a card token"};
  std::string row;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, rocksdb::Slice(token.data(), token.size()), &row);
  if (s.IsNotFound()) return error{errc::invalid_argument, "unknown card token"};
  if (!s.ok()) return error{errc::storage_error, "vault read: " + s.ToString()};
  std::string plain;
  if (!open_row(impl_->options.key, token, row, plain))
    return error{errc::storage_error, "vault row fails authentication (wrong key or tampered)"};
  vaulted_card card;
  const auto a = plain.find('/'), b = plain.find('/', a + 1);
  if (a == std::string::npos || b == std::string::npos) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return error{errc::storage_error, "corrupt vault row"};
  }
  card.exp_month = std::atoi(plain.substr(0, a).c_str());
  card.exp_year = std::atoi(plain.substr(a + 1, b - a - 1).c_str());
  card.number = plain.substr(b + 1);
  OPENSSL_cleanse(plain.data(), plain.size());
  return card;
}

result<std::string> token_vault::card_fingerprint(std::string_view digits) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  std::string in = "card-fingerprint|" + std::string(digits);
  const auto& key = impl_->options.key;
  const bool ok = EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                            reinterpret_cast<const unsigned char*>(in.data()), in.size(), mac,
                            sizeof mac, &len) != nullptr;
  OPENSSL_cleanse(in.data(), in.size());
  if (!ok || len < 16) return error{errc::internal, "card fingerprint failed"};
  return hex(mac, 16);
}

result<void> token_vault::erase(std::string_view token) {
  rocksdb::WriteOptions wo;
  wo.sync = impl_->options.sync;
  auto s = impl_->db->Delete(wo, rocksdb::Slice(token.data(), token.size()));
  if (!s.ok()) return error{errc::storage_error, "vault erase: " + s.ToString()};
  return {};
}

}  // namespace rideshard::persistence
