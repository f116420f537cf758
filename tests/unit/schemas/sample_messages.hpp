// One realistic sample of every wire message kind (a Manhattan ride), shared by
// the codec round-trip tests and the docs/protocol.md example check.
#pragma once

#include <vector>

#include "rideshard/schemas/messages.hpp"

namespace rideshard::schemas::samples {

inline const lat_lng pickup{40.758, -73.9855};    // Times Square
inline const lat_lng dropoff{40.7061, -74.0087};  // Wall Street
inline const lat_lng nearby{40.7532, -73.9822};   // driver, 6 min away
inline constexpr trip_id trip{7208245990563841};
inline constexpr driver_id driver{7208245990420001};
inline constexpr rider_id rider{7208245990420777};

inline fare_breakdown fare() { return {250, 1183, 412, 369, 275, 2489}; }

inline trip_status status(trip_state state, bool for_rider) {
  trip_status s;
  s.trip = trip;
  s.state = state;
  s.driver = state == trip_state::requested ? driver_id{} : driver;
  s.rider = rider;
  s.pickup = pickup;
  s.dropoff = dropoff;
  if (state != trip_state::requested) s.driver_position = nearby;
  s.pickup_eta_s = state == trip_state::accepted ? 360 : 0;
  s.dropoff_eta_s = 1260;
  if (for_rider) s.pin = "4821";
  s.updated_at_ms = 1718000050000;
  return s;
}

/// The rider's view of a request whose search widened to `radius_m`.
inline trip_status searching(std::uint32_t radius_m) {
  auto s = status(trip_state::requested, true);
  s.search_radius_m = radius_m;
  return s;
}

/// Every client message kind, in union order.
inline std::vector<client_message> client_messages() {
  std::vector<client_message> out;
  std::uint64_t seq = 1;
  auto add = [&](client_body body) { out.push_back(client_message{seq++, std::move(body)}); };
  add(hello{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkLTcyMDgyNDU5OTA0MjAwMDEiLCJyb2xlIjoiZHJpdmVyIn0.c2ln",
            "driver-android/3.1.0", false});
  add(go_online{});
  add(go_offline{});
  add(location_batch{{location_sample{{40.7532, -73.9822}, 212.5f, 8.25f, 1718000001000},
                      location_sample{{40.75305, -73.98236}, 213.0f, 8.5f, 1718000002000}}});
  add(quote_request{pickup, dropoff});
  add(ride_request{quote_id{7208245990512345}, pickup, dropoff});
  add(accept_offer{trip});
  add(decline_offer{trip, "too far"});
  add(arrived{trip});
  add(start_trip{trip, "4821"});
  add(complete_trip{trip});
  add(cancel_trip{trip, "rider not at pickup"});
  add(ping{42});
  add(fleet_positions{
      {fleet_position{driver, nearby, 1718000001000},
       fleet_position{driver_id{7208245990420002}, {40.7489, -73.968}, 1718000001250}}});
  add(nearby_batch{{nearby_query{pickup, 2000, 10}, nearby_query{dropoff, 0, 3}}});
  return out;
}

/// Every server message kind, in union order.
inline std::vector<server_message> server_messages() {
  std::vector<server_message> out;
  std::uint64_t seq = 1;
  auto add = [&](std::uint64_t reply_to, server_body body) {
    out.push_back(server_message{
        seq, reply_to, 1718000000000 + 1000 * static_cast<std::int64_t>(seq), std::move(body)});
    ++seq;
  };
  add(1, welcome{"r-7208245990420777", role::rider, true, status(trip_state::accepted, true)});
  add(2, ack{2});
  add(3, quote{quote_id{7208245990512345}, fare(), "USD", 1200, 240, 6120, 1260, 1718000120000});
  add(0, offer{trip, pickup, dropoff, 360, 2489, "USD", 1718000015000});
  add(0, status(trip_state::accepted, true));
  add(0, driver_position{trip, driver, location_sample{nearby, 212.5f, 8.25f, 1718000031000}, 330});
  add(0, receipt{trip, trip_state::completed, fare(), "USD", 6120, 1320, 0});
  add(9, error_reply{errc::invalid_coordinate, "pickup: latitude 91 out of range", 9});
  add(13, pong{42});
  add(15, nearby_results{{nearby_result{{driver, driver_id{7208245990420002}}, {612.5f, 1544.25f}},
                          nearby_result{{}, {}, errc::invalid_radius}}});
  return out;
}

/// A search-progress push (docs/protocol.md shows it under trip_status).
inline server_message search_progress_push() {
  return server_message{11, 0, 1718000011000, searching(6000)};
}

}  // namespace rideshard::schemas::samples
