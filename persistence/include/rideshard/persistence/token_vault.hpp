// token_vault: card numbers exchanged for opaque tokens, kept apart from the
// main store in their own RocksDB directory and encrypted with AES-256-GCM. The
// rest of the system only ever holds the token, the brand and the last 4.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "rideshard/engine/result.hpp"

namespace rideshard::persistence {

/// A 256-bit vault key.
using vault_key = std::array<std::uint8_t, 32>;

/// Parses 64 hex characters into a key. Errors: bad_config (never echoes the input).
[[nodiscard]] result<vault_key> parse_vault_key(std::string_view hex);

struct vault_options {
  std::string path;  ///< its own directory, never the main store's
  vault_key key{};
  bool sync = true;  ///< fsync each stored card before returning its token
};

/// A card as the payment provider needs it. Only the PSP adapter asks for it.
struct vaulted_card {
  std::string number;  ///< digits
  int exp_month = 0;
  int exp_year = 0;
  ~vaulted_card();  ///< wipes the number
};

/// The vault. Thread-safe. Values are AES-256-GCM with a random 96-bit nonce per
/// card and the token as associated data, so a row copied under another token
/// does not decrypt.
class token_vault {
 public:
  /// Errors: storage_error (I/O, lock held), invalid_argument (empty path).
  [[nodiscard]] static result<std::unique_ptr<token_vault>> open(const vault_options& options);
  ~token_vault();
  token_vault(const token_vault&) = delete;
  token_vault& operator=(const token_vault&) = delete;

  /// Encrypts and stores a card; returns its new token ("tok_" + 32 hex chars).
  /// The caller validated the card (engine/card.hpp). Errors: storage_error, internal.
  [[nodiscard]] result<std::string> store_card(std::string_view digits, int exp_month,
                                               int exp_year);
  /// Decrypts a card for the payment provider. Errors: invalid_argument (unknown
  /// token), storage_error (I/O, or the row fails authentication: wrong key or tampered).
  [[nodiscard]] result<vaulted_card> reveal(std::string_view token) const;
  /// Deletes a card (erasure). Unknown tokens are fine. Errors: storage_error.
  [[nodiscard]] result<void> erase(std::string_view token);

 private:
  struct impl;
  explicit token_vault(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace rideshard::persistence
