// On-disk key and value layouts of the store (private). Big-endian integers in
// keys so RocksDB's bytewise order is numeric order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::persistence::keys {

inline void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
inline std::uint64_t get_be64(std::string_view s) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

/// entities: kind (1 byte) + id (8, BE).
inline std::string entity(entity_kind kind, std::uint64_t id) {
  std::string k(1, static_cast<char>(kind));
  put_be64(k, id);
  return k;
}
/// journal: trip id (8, BE) + sequence (8, BE).
inline std::string journal(std::uint64_t trip, std::uint64_t seq) {
  std::string k;
  put_be64(k, trip);
  put_be64(k, seq);
  return k;
}
/// outbox: global sequence (8, BE).
inline std::string outbox(std::uint64_t seq) {
  std::string k;
  put_be64(k, seq);
  return k;
}
/// meta: the next outbox sequence, written with every batch that has events.
inline constexpr std::string_view meta_next_outbox = "outbox.next";
/// meta: "changelog.<shard group>" -> next offset (8) + recorded at ms (8), cluster mode.
inline std::string meta_changelog_mark(int shard_group) {
  return "changelog." + std::to_string(shard_group);
}

/// outbox value: u32-length-prefixed topic, key, payload, then a header count
/// and length-prefixed name/value pairs.
std::string encode_event(const outbox_event& ev);
std::optional<outbox_event> decode_event(std::string_view data);
/// The topic of an encoded event without decoding the rest; nullopt if corrupt.
std::optional<std::string_view> event_topic(std::string_view data);

}  // namespace rideshard::persistence::keys
