// Private to persistence/src: the token vault's state and its AES-256-GCM rows,
// shared by the card half (token_vault.cpp) and the personal-data half
// (personal_keys.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <rocksdb/db.h>

#include "rideshard/persistence/token_vault.hpp"

namespace rideshard::persistence {

namespace vault_detail {

/// Lower-case hex of n bytes.
std::string hex(const std::uint8_t* p, std::size_t n);
/// 0..15 for a hex digit (either case), -1 otherwise.
int hex_value(char c);
/// row = version | random 96-bit nonce | AES-256-GCM(plain) | tag, `aad` authenticated.
/// False if OpenSSL fails (no randomness, no cipher).
bool seal(const vault_key& key, std::string_view aad, std::string_view plain, std::string& row);
/// The plaintext of a sealed row; false if the row is malformed or fails authentication.
bool open_row(const vault_key& key, std::string_view aad, std::string_view row, std::string& plain);
/// Wipes a key or a plaintext buffer.
void wipe(vault_key& key);
void wipe(std::string& bytes);

}  // namespace vault_detail

struct token_vault::impl {
  vault_options options;
  std::unique_ptr<rocksdb::DB> db;
  /// Unwrapped per-person keys, by subject. Guarded by mu; wiped when shredded
  /// and on close.
  std::mutex mu;
  std::map<std::string, vault_key, std::less<>> person_keys;
  ~impl();
};

}  // namespace rideshard::persistence
