// Analytics events v1 (schemas/fbs/events.fbs) as plain structs, and their JSON
// payloads for Kafka. Built from engine types; no FlatBuffers type leaks out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/trip.hpp"

namespace rideshard::schemas {

/// Version written in every event's schema_version field.
inline constexpr std::uint16_t events_schema_version = 1;

/// What happened to a trip; one per legal state-machine step.
enum class trip_event_type : std::uint8_t {
  requested = 0,
  offered = 1,
  declined = 2,
  offer_timed_out = 3,
  accepted = 4,
  driver_arrived = 5,
  started = 6,
  completed = 7,
  cancelled = 8,
  expired = 9,
};

/// The event type for an engine event kind.
trip_event_type event_type_of(trip_event_kind kind) noexcept;
/// The JSON name of a trip event type ("completed"), as in payloads and ce_type.
std::string_view to_string(trip_event_type type) noexcept;

/// event_type of the other topics (each has one), as written in their payloads.
inline constexpr std::string_view driver_location_event_type = "sampled";
inline constexpr std::string_view quote_event_type = "issued";
inline constexpr std::string_view surge_event_type = "updated";

/// The Kafka key of a shard cell: "c-<cell_id value>" (quotes and surge topics).
std::string cell_key(std::uint64_t cell);

/// One trip transition for rideshard.trip-events.v1 (key: trip id). `sequence`
/// is the trip's own sequence after the transition; event_id is unique.
struct trip_lifecycle_event {
  std::string event_id;
  trip_event_type type = trip_event_type::requested;
  std::int64_t occurred_at_ms = 0;
  trip_id trip;
  std::uint64_t sequence = 0;
  trip_state from = trip_state::requested;
  trip_state to = trip_state::requested;
  driver_id driver;
  driver_id offered_to;
  rider_id rider;
  lat_lng pickup;
  lat_lng dropoff;
  std::optional<lat_lng> driver_position;
  std::int64_t fare_minor = 0;
  std::int64_t fee_minor = 0;
  std::string currency;
  party cancelled_by = party::system;
  std::string reason;
};

bool operator==(const trip_lifecycle_event& a, const trip_lifecycle_event& b);

/// The event for a transition just applied to `t` (state `from` -> t.state).
/// event_id is "<trip>-<sequence>", e.g. "t-42-3"; fee is t.cancel_fee_minor.
trip_lifecycle_event make_trip_event(const trip& t, trip_event_type type, trip_state from,
                                     std::int64_t occurred_at_ms);

/// A sampled driver position for rideshard.driver-locations.v1 (key: driver id).
/// `sequence` counts the driver's samples (per-key order and dedupe).
struct driver_location_event {
  std::string event_id;
  std::int64_t occurred_at_ms = 0;
  driver_id driver;
  lat_lng position;
  float heading_deg = -1;
  float speed_mps = 0;
  std::uint64_t cell = 0;  ///< shard cell_id value
  bool available = false;
  std::uint64_t sequence = 0;  ///< per driver, +1 per sample
};

/// A price quoted to a rider, for rideshard.quotes.v1 (key: the pickup's cell).
struct quote_event {
  std::string event_id;
  std::int64_t occurred_at_ms = 0;
  quote_id quote;
  rider_id rider;
  lat_lng pickup;
  lat_lng dropoff;
  std::int64_t total_minor = 0;
  std::string currency;
  std::uint32_t surge_per_mille = 1000;
  std::uint32_t pickup_eta_s = 0;
  std::uint64_t cell = 0;      ///< the pickup's shard cell_id value (the key)
  std::uint64_t sequence = 0;  ///< per cell, +1 per quote
};

/// One cell's surge over one window, for rideshard.surge.v1 (key: cell id).
struct surge_event {
  std::string event_id;
  std::int64_t occurred_at_ms = 0;
  std::uint64_t cell = 0;
  std::uint32_t surge_per_mille = 1000;
  std::uint32_t open_requests = 0;
  std::uint32_t available_drivers = 0;
  std::uint32_t window_ms = 0;
  std::uint64_t sequence = 0;  ///< per cell, +1 per window
};

// JSON payloads: one line, every field written. Thread-safe (one parser per
// thread). Fail (bad_json) only on strings that are not valid UTF-8.
[[nodiscard]] result<std::string> encode_trip_event_json(const trip_lifecycle_event& ev);
[[nodiscard]] result<std::string> encode_driver_location_json(const driver_location_event& ev);
[[nodiscard]] result<std::string> encode_quote_event_json(const quote_event& ev);
[[nodiscard]] result<std::string> encode_surge_event_json(const surge_event& ev);

/// Parses a trip event payload strictly (consumers, tests, replay tools).
/// Errors: bad_json, missing_field, invalid_coordinate, invalid_argument.
[[nodiscard]] result<trip_lifecycle_event> decode_trip_event_json(std::string_view text);

}  // namespace rideshard::schemas
