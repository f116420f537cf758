// token_vault: card numbers exchanged for opaque tokens, kept apart from the
// main store in their own RocksDB directory and encrypted with AES-256-GCM. The
// rest of the system only ever holds the token, the brand and the last 4.
// It also keeps one key per person for personal data at rest (GDPR): erasure
// deletes the key (crypto-shredding).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
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
  /// A keyed hash of a card number (HMAC-SHA256 under the vault key, 32 hex
  /// characters): the same card always gives the same fingerprint, and nobody
  /// without the key can test a number against it. For the fraud rules (one card
  /// on several accounts). Errors: internal.
  [[nodiscard]] result<std::string> card_fingerprint(std::string_view digits) const;

  // ---- personal data: one key per person; erasure deletes the key ----
  /// Encrypts `plain` under `subject`'s own random 256-bit key (AES-256-GCM,
  /// the subject as associated data) and returns printable text ("p1:" + hex)
  /// for a JSON record. The key is made on first use, wrapped with the vault key
  /// and stored (synced) before this returns. Errors: invalid_argument (empty
  /// subject), storage_error, internal.
  [[nodiscard]] result<std::string> seal_personal(std::string_view subject, std::string_view plain);
  /// What seal_personal sealed for `subject`; nullopt once the subject's key is
  /// shredded (or never existed): that data is gone for good. Errors:
  /// invalid_argument (not a sealed text), storage_error (fails authentication:
  /// sealed for another subject, wrong vault key, tampered).
  [[nodiscard]] result<std::optional<std::string>> open_personal(std::string_view subject,
                                                                 std::string_view sealed) const;
  /// Crypto-shredding: deletes `subject`'s key (synced), then flushes and
  /// compacts the vault so the key's row is gone from its files too (backups
  /// taken earlier still hold it). Unknown subjects are fine. Errors: storage_error.
  [[nodiscard]] result<void> shred_personal(std::string_view subject);
  /// Whether `subject` has a personal-data key. Errors: storage_error.
  [[nodiscard]] result<bool> has_personal_key(std::string_view subject) const;

 private:
  struct impl;
  /// The subject's key, unwrapped (cached); nullopt if none and !create.
  [[nodiscard]] result<std::optional<vault_key>> person_key(std::string_view subject,
                                                            bool create) const;
  explicit token_vault(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace rideshard::persistence
