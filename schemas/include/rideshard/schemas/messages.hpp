// Wire protocol v1 as plain C++ values: what the gateway and actors handle.
// Mirrors schemas/fbs/wire.fbs; no FlatBuffers type ever appears above schemas/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "rideshard/engine/errc.hpp"
#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/trip.hpp"

namespace rideshard::schemas {

/// Who a connection speaks for (from the JWT, echoed in welcome).
enum class role : std::uint8_t { driver = 0, rider = 1, admin = 2 };

/// One GPS fix. heading_deg < 0 means unknown.
struct location_sample {
  lat_lng pos;
  float heading_deg = -1;
  float speed_mps = 0;
  std::int64_t timestamp_ms = 0;  ///< Unix ms, device clock
  auto tie() const { return std::tie(pos, heading_deg, speed_mps, timestamp_ms); }
};

/// A fare in minor units of the message's currency; total_minor is authoritative.
struct fare_breakdown {
  std::int64_t base_minor = 0;
  std::int64_t distance_minor = 0;
  std::int64_t time_minor = 0;
  std::int64_t surge_minor = 0;
  std::int64_t booking_fee_minor = 0;
  std::int64_t total_minor = 0;
  auto tie() const {
    return std::tie(base_minor, distance_minor, time_minor, surge_minor, booking_fee_minor,
                    total_minor);
  }
};

// ---- client -> server -------------------------------------------------------

/// First frame of a connection: JWT, app name, reattach to the current trip.
struct hello {
  std::string token;
  std::string client;
  bool resume = false;
  auto tie() const { return std::tie(token, client, resume); }
};
/// Driver becomes available / unavailable for offers.
struct go_online {
  auto tie() const { return std::tie(); }
};
struct go_offline {
  auto tie() const { return std::tie(); }
};
/// Driver GPS fixes, oldest first; 1..codec_limits::max_batch per frame.
struct location_batch {
  std::vector<location_sample> samples;
  auto tie() const { return std::tie(samples); }
};
/// Rider asks for a price.
struct quote_request {
  lat_lng pickup;
  lat_lng dropoff;
  auto tie() const { return std::tie(pickup, dropoff); }
};
/// Rider requests a ride, at a quoted price if `quote` is set.
struct ride_request {
  std::optional<quote_id> quote;
  lat_lng pickup;
  lat_lng dropoff;
  auto tie() const { return std::tie(quote, pickup, dropoff); }
};
/// Driver answers an offer.
struct accept_offer {
  trip_id trip;
  auto tie() const { return std::tie(trip); }
};
struct decline_offer {
  trip_id trip;
  std::string reason;
  auto tie() const { return std::tie(trip, reason); }
};
/// Driver is at the pickup point.
struct arrived {
  trip_id trip;
  auto tie() const { return std::tie(trip); }
};
/// Driver starts the trip with the rider's PIN (1-8 ASCII digits).
struct start_trip {
  trip_id trip;
  std::string pin;
  auto tie() const { return std::tie(trip, pin); }
};
struct complete_trip {
  trip_id trip;
  auto tie() const { return std::tie(trip); }
};
/// Either side cancels; the reason is free text for support and analytics.
struct cancel_trip {
  trip_id trip;
  std::string reason;
  auto tie() const { return std::tie(trip, reason); }
};
struct ping {
  std::uint64_t nonce = 0;
  auto tie() const { return std::tie(nonce); }
};

// ---- admin -> server (/v1/admin) --------------------------------------------

/// One fleet-feed sample. Decoded as sent: the node checks each sample (id,
/// coordinates, region) on its own, so one bad sample does not sink the frame.
struct fleet_position {
  driver_id driver;
  lat_lng pos;
  std::int64_t at_ms = 0;  ///< Unix ms of the fix, >= 0 (0 = unknown)
  auto tie() const { return std::tie(driver, pos, at_ms); }
};
/// Admin: positions of available drivers, 1..codec_limits::max_fleet_samples.
struct fleet_positions {
  std::vector<fleet_position> samples;
  auto tie() const { return std::tie(samples); }
};
/// k nearest available drivers within radius_m of center; checked by the node.
struct nearby_query {
  lat_lng center;
  double radius_m = 0;
  std::uint32_t k = 0;
  auto tie() const { return std::tie(center, radius_m, k); }
};
/// Admin: 1..codec_limits::max_nearby_queries queries, k summed <= max_nearby_k_total.
struct nearby_batch {
  std::vector<nearby_query> queries;
  auto tie() const { return std::tie(queries); }
};

/// Every message a client may send. Alternative order = wire union order - 1.
using client_body = std::variant<hello, go_online, go_offline, location_batch, quote_request,
                                 ride_request, accept_offer, decline_offer, arrived, start_trip,
                                 complete_trip, cancel_trip, ping, fleet_positions, nearby_batch>;

/// One client frame. `seq` is the client's, echoed as server_message::reply_to.
struct client_message {
  std::uint64_t seq = 0;
  client_body body;
  auto tie() const { return std::tie(seq, body); }
};

// ---- server -> client -------------------------------------------------------

/// A trip as one party sees it. `pin` is filled only for the rider.
struct trip_status {
  trip_id trip;
  trip_state state = trip_state::requested;
  driver_id driver;
  rider_id rider;
  lat_lng pickup;
  lat_lng dropoff;
  std::optional<lat_lng> driver_position;
  std::uint32_t pickup_eta_s = 0;
  std::uint32_t dropoff_eta_s = 0;
  std::string pin;
  party cancelled_by = party::system;
  std::string cancel_reason;
  std::int64_t updated_at_ms = 0;
  /// Search progress while `requested` (sequential matching): the radius in
  /// metres within which dispatch looks for a driver now, pushed each time the
  /// search widens; 0 in every other state.
  std::uint32_t search_radius_m = 0;
  auto tie() const {
    return std::tie(trip, state, driver, rider, pickup, dropoff, driver_position, pickup_eta_s,
                    dropoff_eta_s, pin, cancelled_by, cancel_reason, updated_at_ms,
                    search_radius_m);
  }
};
/// Answer to hello: who the token says you are and your current trip, if any.
struct welcome {
  std::string subject;
  schemas::role role = schemas::role::rider;
  bool resumed = false;
  std::optional<trip_status> current_trip;
  auto tie() const { return std::tie(subject, role, resumed, current_trip); }
};
/// Plain positive answer (go_online, go_offline, location_batch...).
struct ack {
  std::uint32_t accepted = 0;
  auto tie() const { return std::tie(accepted); }
};
/// A price valid until expires_at_ms.
struct quote {
  quote_id id;
  fare_breakdown fare;
  std::string currency;
  std::uint32_t surge_per_mille = 1000;
  std::uint32_t pickup_eta_s = 0;
  std::uint32_t distance_m = 0;
  std::uint32_t duration_s = 0;
  std::int64_t expires_at_ms = 0;
  auto tie() const {
    return std::tie(id, fare, currency, surge_per_mille, pickup_eta_s, distance_m, duration_s,
                    expires_at_ms);
  }
};
/// To one driver: accept or decline before deadline_ms.
struct offer {
  trip_id trip;
  lat_lng pickup;
  lat_lng dropoff;
  std::uint32_t pickup_eta_s = 0;
  std::int64_t fare_estimate_minor = 0;
  std::string currency;
  std::int64_t deadline_ms = 0;
  auto tie() const {
    return std::tie(trip, pickup, dropoff, pickup_eta_s, fare_estimate_minor, currency,
                    deadline_ms);
  }
};
/// The assigned driver's latest fix, during pickup and the trip.
struct driver_position {
  trip_id trip;
  driver_id driver;
  location_sample position;
  std::uint32_t eta_s = 0;
  auto tie() const { return std::tie(trip, driver, position, eta_s); }
};
/// Final bill of a completed or cancelled trip.
struct receipt {
  trip_id trip;
  trip_state final_state = trip_state::completed;
  fare_breakdown fare;
  std::string currency;
  std::uint32_t distance_m = 0;
  std::uint32_t duration_s = 0;
  std::int64_t cancellation_fee_minor = 0;
  auto tie() const {
    return std::tie(trip, final_state, fare, currency, distance_m, duration_s,
                    cancellation_fee_minor);
  }
};
/// A typed error; on the wire it carries both to_string(code) and its number.
struct error_reply {
  errc code = errc::internal;
  std::string message;
  std::uint64_t ref_seq = 0;  ///< seq of the failed client frame, 0 if none
  auto tie() const { return std::tie(code, message, ref_seq); }
};
struct pong {
  std::uint64_t nonce = 0;
  auto tie() const { return std::tie(nonce); }
};
/// One nearby_query's answer: drivers nearest first and their distances (same
/// length), or `code` != ok and no drivers.
struct nearby_result {
  std::vector<driver_id> drivers;
  std::vector<float> distances_m;
  errc code = errc::ok;
  auto tie() const { return std::tie(drivers, distances_m, code); }
};
/// Answer to nearby_batch: one result per query, in query order.
struct nearby_results {
  std::vector<nearby_result> results;
  auto tie() const { return std::tie(results); }
};

/// Every message the server may send. Alternative order = wire union order - 1.
using server_body = std::variant<welcome, ack, quote, offer, trip_status, driver_position, receipt,
                                 error_reply, pong, nearby_results>;

/// One server frame. reply_to is the answered client seq, 0 for pushes.
struct server_message {
  std::uint64_t seq = 0;
  std::uint64_t reply_to = 0;
  std::int64_t server_time_ms = 0;
  server_body body;
  auto tie() const { return std::tie(seq, reply_to, server_time_ms, body); }
};

/// The wire name of a message kind, e.g. "location_batch" (for logs and metrics).
std::string_view kind_name(const client_body& body) noexcept;
std::string_view kind_name(const server_body& body) noexcept;

/// Member-wise equality for every message struct above (found by ADL).
template <class T, class = decltype(std::declval<const T&>().tie())>
bool operator==(const T& a, const T& b) {
  return a.tie() == b.tie();
}
template <class T, class = decltype(std::declval<const T&>().tie())>
bool operator!=(const T& a, const T& b) {
  return !(a == b);
}

}  // namespace rideshard::schemas
