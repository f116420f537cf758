// A simulated driver app: binary FlatBuffers frames, goes online, streams
// positions, roams when idle, accepts offers with a probability, drives straight
// to the pickup and the drop-off, starts with the rider's PIN and completes.
#pragma once

#include <cstdint>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "sim/city_sampler.hpp"
#include "sim/sim_context.hpp"
#include "sim/ws_client.hpp"

namespace rideshard::sim {

/// One driver connection. Runs on its io_context's thread only (see ws_client).
class driver_client : public ws_client {
 public:
  driver_client(boost::asio::io_context& ioc, const sim_context& ctx, int index);

 protected:
  void on_open() override;
  void on_message(const schemas::server_message& m) override;
  void on_dropped() override;
  void on_closed(bool was_open) override;

 private:
  enum class phase { idle, offered, to_pickup, at_pickup, to_dropoff, completing };

  void on_resumed(const schemas::welcome& w);
  void on_trip_status(const schemas::trip_status& t);
  void on_offer(const schemas::offer& o);
  void schedule_update(bool first);
  /// Moves pos_ toward target_ by the time elapsed since the last fix.
  void advance(std::int64_t now_ms);
  void send_fix(std::int64_t now_ms);
  /// Heads for `where`; at arrival (a timer) sends a fix and then `arrival`.
  void drive_to(lat_lng where, phase during);
  void on_reached();
  void try_start(int attempt);
  void become_idle();

  const sim_context& ctx_;
  int index_;
  city_sampler city_;
  double speed_mps_;  ///< wire speed while on a trip
  lat_lng pos_;
  lat_lng target_;
  double leg_speed_mps_ = 0;
  std::int64_t last_move_ms_ = 0;  ///< pos_ is where the car was then
  std::int64_t last_sent_ms_ = 0;  ///< timestamp of the last fix sent
  phase phase_ = phase::idle;
  bool online_ = false;  ///< counted in drivers_connected
  trip_id trip_;
  std::uint32_t offer_eta_s_ = 0;
  std::uint64_t leg_ = 0;  ///< bumps on every plan change; stale timers check it
  boost::asio::steady_timer update_timer_;
  boost::asio::steady_timer leg_timer_;
};

}  // namespace rideshard::sim
