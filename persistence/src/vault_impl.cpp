// The token vault's AES-256-GCM rows (OpenSSL EVP) and its shared state.
#include "vault_impl.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace rideshard::persistence {
namespace vault_detail {
namespace {
constexpr std::size_t nonce_len = 12, tag_len = 16;
constexpr std::uint8_t row_version = 1;
}  // namespace

std::string hex(const std::uint8_t* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool seal(const vault_key& key, std::string_view aad, std::string_view plain, std::string& row) {
  std::uint8_t nonce[nonce_len];
  if (RAND_bytes(nonce, nonce_len) != 1) return false;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  std::string out(plain.size() + 16, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) != 1)
    return false;
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), o + total, &len) != 1) return false;
  total += len;
  std::uint8_t tag[tag_len];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_len, tag) != 1) return false;
  row.assign(1, static_cast<char>(row_version));
  row.append(reinterpret_cast<const char*>(nonce), nonce_len);
  row.append(out.data(), static_cast<std::size_t>(total));
  row.append(reinterpret_cast<const char*>(tag), tag_len);
  OPENSSL_cleanse(out.data(), out.size());
  return true;
}

bool open_row(const vault_key& key, std::string_view aad, std::string_view row,
              std::string& plain) {
  if (row.size() < 1 + nonce_len + tag_len || static_cast<std::uint8_t>(row[0]) != row_version)
    return false;
  const auto* nonce = reinterpret_cast<const unsigned char*>(row.data() + 1);
  const std::string_view cipher = row.substr(1 + nonce_len, row.size() - 1 - nonce_len - tag_len);
  std::string tag(row.substr(row.size() - tag_len));
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  plain.assign(cipher.size() + 16, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(plain.data());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, reinterpret_cast<const unsigned char*>(cipher.data()),
                        static_cast<int>(cipher.size())) != 1)
    return false;
  total = len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_len, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + total, &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return false;
  }
  plain.resize(static_cast<std::size_t>(total + len));
  return true;
}

void wipe(vault_key& key) { OPENSSL_cleanse(key.data(), key.size()); }
void wipe(std::string& bytes) { OPENSSL_cleanse(bytes.data(), bytes.size()); }

}  // namespace vault_detail

token_vault::impl::~impl() {
  vault_detail::wipe(options.key);
  for (auto& [subject, key] : person_keys) vault_detail::wipe(key);
  if (db) (void)db->Close();
}

}  // namespace rideshard::persistence
