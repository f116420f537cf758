// Error codes shared by every module: stable snake_case names that appear on the
// wire, in metrics labels and in logs. Never renumber or rename; only append.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rideshard {

/// Stable error codes. The numeric value and the name returned by to_string()
/// are part of the wire protocol (error frames carry both).
enum class errc : std::uint16_t {
  ok = 0,
  // Input validation.
  invalid_coordinate = 1,  ///< latitude/longitude out of range, NaN or infinite
  invalid_radius = 2,      ///< radius <= 0, NaN or beyond the allowed maximum
  invalid_k = 3,           ///< k == 0 or beyond the allowed maximum
  invalid_argument = 4,    ///< any other malformed argument
  out_of_region = 5,       ///< a position outside every configured region
  unknown_driver = 6,
  unknown_rider = 7,
  unknown_trip = 8,
  duplicate_id = 9,
  // Trip state machine.
  illegal_transition = 20,  ///< the event is not allowed in the trip's current state
  wrong_pin = 21,           ///< start_trip with a PIN that does not match
  not_offered_to_driver = 22,
  offer_expired = 23,
  driver_busy = 24,  ///< the driver already holds a trip
  no_driver_available = 25,
  pin_locked = 26,       ///< too many wrong PINs: that PIN is spent, the rider got a new one
  dispatch_paused = 27,  ///< an admin paused new dispatch in the pickup's region
  // Wire / codec.
  malformed_buffer = 40,  ///< a FlatBuffer that fails verification
  bad_json = 41,          ///< JSON that does not parse against the schema
  missing_field = 42,
  frame_too_large = 43,
  unknown_message = 44,
  // Config.
  bad_config = 60,
  cluster_tls_required = 61,  ///< [cluster] without certificate, key and CA: no anonymous TLS
  cluster_tls_invalid = 62,   ///< cluster TLS files unreadable, mismatched or not from the CA
  // Location stream.
  stale_timestamp = 70,   ///< older than the last accepted sample
  future_timestamp = 71,  ///< too far ahead of the server clock
  impossible_jump = 72,   ///< implies a speed no car reaches
  // Auth.
  unauthenticated = 80,
  token_expired = 81,
  forbidden = 82,
  rate_limited = 83,
  // Server side.
  internal = 100,
  unavailable = 101,
  // Persistence.
  storage_error = 102,  ///< the local store (RocksDB) failed to read or write
  broker_error = 103,   ///< Kafka rejected a request or is unreachable
  fenced = 104,         ///< another node took over this shard group: the write was refused
  // Payments and the ledger.
  invalid_card = 120,          ///< card number fails length, brand or Luhn; bad CVC
  card_expired = 121,          ///< expiry month in the past (or an impossible date)
  payment_declined = 122,      ///< the payment provider declined the card
  psp_unavailable = 123,       ///< the payment provider timed out or failed (5xx)
  idempotency_conflict = 124,  ///< an Idempotency-Key reused with a different request
  transfer_exists = 125,       ///< a ledger transfer id already used by another transfer
  ledger_rejected = 126,       ///< post/void of an unknown, resolved or smaller hold
  exceeds_captured = 127,      ///< a refund larger than what is left of the capture
  no_payment_method = 128,     ///< the rider has no (valid) payment method
  unknown_payment = 129,
};

/// The stable name of a code, e.g. "invalid_coordinate". Never empty.
std::string_view to_string(errc code) noexcept;

/// Parses a stable name back; returns errc::internal for an unknown name.
errc errc_from_string(std::string_view name) noexcept;

/// An error: a stable code plus a human-readable message for logs and clients.
struct error {
  errc code = errc::internal;
  std::string message;
};

inline bool operator==(const error& a, const error& b) {
  return a.code == b.code && a.message == b.message;
}

}  // namespace rideshard
