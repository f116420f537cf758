// Names of message kinds, identical to the union member names in wire.fbs.
#include "rideshard/schemas/messages.hpp"

namespace rideshard::schemas {
namespace {

constexpr std::string_view client_kinds[] = {
    "hello",         "go_online",    "go_offline",    "location_batch",  "quote_request",
    "ride_request",  "accept_offer", "decline_offer", "arrived",         "start_trip",
    "complete_trip", "cancel_trip",  "ping",          "fleet_positions", "nearby_batch"};
static_assert(std::size(client_kinds) == std::variant_size_v<client_body>);

constexpr std::string_view server_kinds[] = {
    "welcome",         "ack",     "quote",       "offer", "trip_status",
    "driver_position", "receipt", "error_reply", "pong",  "nearby_results"};
static_assert(std::size(server_kinds) == std::variant_size_v<server_body>);

}  // namespace

std::string_view kind_name(const client_body& body) noexcept {
  return body.valueless_by_exception() ? "invalid" : client_kinds[body.index()];
}

std::string_view kind_name(const server_body& body) noexcept {
  return body.valueless_by_exception() ? "invalid" : server_kinds[body.index()];
}

}  // namespace rideshard::schemas
