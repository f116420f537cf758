// Strongly typed 64-bit entity ids and a generator for new ones. Plain values,
// hashable, printable as "d-42" / "r-7" / "t-9".
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace rideshard {

/// A 64-bit id that cannot be mixed up with an id of another entity kind.
template <class Tag>
struct basic_id {
  std::uint64_t value = 0;
  constexpr bool valid() const noexcept { return value != 0; }
  friend constexpr bool operator==(basic_id a, basic_id b) { return a.value == b.value; }
  friend constexpr bool operator!=(basic_id a, basic_id b) { return a.value != b.value; }
  friend constexpr bool operator<(basic_id a, basic_id b) { return a.value < b.value; }
};

struct driver_tag {};
struct rider_tag {};
struct trip_tag {};
struct quote_tag {};
using driver_id = basic_id<driver_tag>;
using rider_id = basic_id<rider_tag>;
using trip_id = basic_id<trip_tag>;
using quote_id = basic_id<quote_tag>;

std::string to_string(driver_id id);  ///< "d-<n>"
std::string to_string(rider_id id);   ///< "r-<n>"
std::string to_string(trip_id id);    ///< "t-<n>"
std::string to_string(quote_id id);   ///< "q-<n>"

/// Generates unique, roughly time-ordered ids: 41 bits of milliseconds since
/// 2024-01-01, 10 bits of node id, 12 bits of sequence (a Snowflake layout).
/// Not thread-safe: one generator per owner. The clock is injected.
class id_generator {
 public:
  /// `node` must be < 1024. `now_ms` returns Unix milliseconds.
  id_generator(std::uint16_t node, std::function<std::int64_t()> now_ms);
  std::uint64_t next();

 private:
  std::uint16_t node_;
  std::function<std::int64_t()> now_ms_;
  std::int64_t last_ms_ = 0;
  std::uint32_t seq_ = 0;
};

}  // namespace rideshard

namespace std {
template <class Tag>
struct hash<rideshard::basic_id<Tag>> {
  size_t operator()(rideshard::basic_id<Tag> id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value);
  }
};
}  // namespace std
