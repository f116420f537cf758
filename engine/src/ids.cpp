// Entity id formatting and the Snowflake-style id generator.
#include "rideshard/engine/ids.hpp"

#include <utility>

namespace rideshard {
namespace {
constexpr std::int64_t epoch_ms = 1704067200000;  // 2024-01-01T00:00:00Z
}

std::string to_string(driver_id id) { return "d-" + std::to_string(id.value); }
std::string to_string(rider_id id) { return "r-" + std::to_string(id.value); }
std::string to_string(trip_id id) { return "t-" + std::to_string(id.value); }
std::string to_string(quote_id id) { return "q-" + std::to_string(id.value); }

id_generator::id_generator(std::uint16_t node, std::function<std::int64_t()> now_ms)
    : node_(static_cast<std::uint16_t>(node & 0x3ff)), now_ms_(std::move(now_ms)) {}

std::uint64_t id_generator::next() {
  std::int64_t now = now_ms_() - epoch_ms;
  if (now < last_ms_) now = last_ms_;  // clock went backwards: never reuse ids
  if (now == last_ms_) {
    if (++seq_ > 0xfff) {  // sequence exhausted within this ms: borrow the next
      ++now;
      seq_ = 0;
    }
  } else {
    seq_ = 0;
  }
  last_ms_ = now;
  return (static_cast<std::uint64_t>(now) << 22) | (std::uint64_t{node_} << 12) | seq_;
}

}  // namespace rideshard
