// A simulated rider app: adds a sandbox test card over the HTTP API, then JSON
// text frames; quotes, requests, sometimes cancels after the match, publishes
// the PIN for the driver, leaves after the receipt.
#pragma once

#include <chrono>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "sim/city_sampler.hpp"
#include "sim/sim_context.hpp"
#include "sim/ws_client.hpp"

namespace rideshard::sim {

/// One rider connection. Runs on its io_context's thread only (see ws_client).
class rider_client : public ws_client {
 public:
  rider_client(boost::asio::io_context& ioc, const sim_context& ctx, std::uint64_t index);

 protected:
  void on_open() override;
  void on_message(const schemas::server_message& m) override;
  void on_dropped() override;
  void on_closed(bool was_open) override;

 private:
  void on_resumed(const schemas::welcome& w);
  void on_trip_status(const schemas::trip_status& t);
  void leave_trip();
  /// POST /api/payments/methods (a share `card_share` of riders), then ask_quote().
  void add_card_then_quote();
  void ask_quote();

  const sim_context& ctx_;
  std::uint64_t index_;
  city_sampler city_;
  std::string token_;  ///< the rider's bearer token (hello and the card request)
  lat_lng pickup_, dropoff_;
  std::chrono::steady_clock::time_point requested_at_;
  trip_id trip_;
  bool requested_ = false, matched_ = false;
  boost::asio::steady_timer cancel_timer_;
};

}  // namespace rideshard::sim
