// Stored records v1 (schemas/fbs/records.fbs): binary FlatBuffers values for
// RocksDB. Decoding verifies the buffer; records never reach clients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/trip.hpp"

namespace rideshard::schemas {

/// Version written into every record.
inline constexpr std::uint16_t records_schema_version = 1;

/// Every field of the engine's trip. Never fails.
std::vector<std::uint8_t> encode_trip_record(const trip& t);
/// Verifies and reads a trip record. Errors: malformed_buffer (bad bytes, unknown
/// enum values, non-UTF-8 strings), invalid_coordinate. `data` need not be aligned.
[[nodiscard]] result<trip> decode_trip_record(const std::uint8_t* data, std::size_t size);

enum class driver_status : std::uint8_t { offline = 0, online = 1, on_trip = 2, suspended = 3 };

/// What survives a driver actor's passivation.
struct driver_record {
  driver_id id;
  driver_status status = driver_status::offline;
  std::optional<lat_lng> last_position;
  std::int64_t last_seen_ms = 0;
  trip_id current_trip;
  std::uint32_t trips_completed = 0;
};
bool operator==(const driver_record& a, const driver_record& b);

/// What survives a rider actor's passivation.
struct rider_record {
  rider_id id;
  trip_id current_trip;
  std::uint32_t trips_completed = 0;
  std::int64_t unpaid_fees_minor = 0;
};
bool operator==(const rider_record& a, const rider_record& b);

std::vector<std::uint8_t> encode_driver_record(const driver_record& r);
[[nodiscard]] result<driver_record> decode_driver_record(const std::uint8_t* data,
                                                         std::size_t size);
std::vector<std::uint8_t> encode_rider_record(const rider_record& r);
[[nodiscard]] result<rider_record> decode_rider_record(const std::uint8_t* data, std::size_t size);

}  // namespace rideshard::schemas
