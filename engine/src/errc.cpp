// Stable names for error codes (see errc.hpp): the table is the single source.
#include "rideshard/engine/errc.hpp"

#include <utility>

namespace rideshard {
namespace {

constexpr std::pair<errc, std::string_view> names[] = {
    {errc::ok, "ok"},
    {errc::invalid_coordinate, "invalid_coordinate"},
    {errc::invalid_radius, "invalid_radius"},
    {errc::invalid_k, "invalid_k"},
    {errc::invalid_argument, "invalid_argument"},
    {errc::out_of_region, "out_of_region"},
    {errc::unknown_driver, "unknown_driver"},
    {errc::unknown_rider, "unknown_rider"},
    {errc::unknown_trip, "unknown_trip"},
    {errc::duplicate_id, "duplicate_id"},
    {errc::illegal_transition, "illegal_transition"},
    {errc::wrong_pin, "wrong_pin"},
    {errc::not_offered_to_driver, "not_offered_to_driver"},
    {errc::offer_expired, "offer_expired"},
    {errc::driver_busy, "driver_busy"},
    {errc::no_driver_available, "no_driver_available"},
    {errc::pin_locked, "pin_locked"},
    {errc::dispatch_paused, "dispatch_paused"},
    {errc::malformed_buffer, "malformed_buffer"},
    {errc::bad_json, "bad_json"},
    {errc::missing_field, "missing_field"},
    {errc::frame_too_large, "frame_too_large"},
    {errc::unknown_message, "unknown_message"},
    {errc::bad_config, "bad_config"},
    {errc::cluster_tls_required, "cluster_tls_required"},
    {errc::cluster_tls_invalid, "cluster_tls_invalid"},
    {errc::stale_timestamp, "stale_timestamp"},
    {errc::future_timestamp, "future_timestamp"},
    {errc::impossible_jump, "impossible_jump"},
    {errc::unauthenticated, "unauthenticated"},
    {errc::token_expired, "token_expired"},
    {errc::forbidden, "forbidden"},
    {errc::rate_limited, "rate_limited"},
    {errc::internal, "internal"},
    {errc::unavailable, "unavailable"},
    {errc::storage_error, "storage_error"},
    {errc::broker_error, "broker_error"},
    {errc::fenced, "fenced"},
    {errc::invalid_card, "invalid_card"},
    {errc::card_expired, "card_expired"},
    {errc::payment_declined, "payment_declined"},
    {errc::psp_unavailable, "psp_unavailable"},
    {errc::idempotency_conflict, "idempotency_conflict"},
    {errc::transfer_exists, "transfer_exists"},
    {errc::ledger_rejected, "ledger_rejected"},
    {errc::exceeds_captured, "exceeds_captured"},
    {errc::no_payment_method, "no_payment_method"},
    {errc::unknown_payment, "unknown_payment"},
};

}  // namespace

std::string_view to_string(errc code) noexcept {
  for (const auto& [c, n] : names)
    if (c == code) return n;
  return "internal";
}

errc errc_from_string(std::string_view name) noexcept {
  for (const auto& [c, n] : names)
    if (n == name) return c;
  return errc::internal;
}

}  // namespace rideshard
