// driver_client: the driver's side of the ride over binary frames.
#include "sim/driver_client.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <type_traits>
#include <variant>

namespace rideshard::sim {

namespace {
constexpr double pi = 3.14159265358979323846;

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

float bearing_deg(lat_lng a, lat_lng b) {
  const double dn = b.lat - a.lat;
  const double de = (b.lng - a.lng) * std::cos(a.lat * pi / 180);
  double deg = std::atan2(de, dn) * 180 / pi;
  if (deg < 0) deg += 360;
  const auto f = static_cast<float>(deg);
  return f >= 360.0F ? 0.0F : f;  // 359.99999 rounds to 360 in float
}

bool terminal(trip_state s) {
  return s == trip_state::completed || s == trip_state::cancelled || s == trip_state::expired;
}
}  // namespace

driver_client::driver_client(boost::asio::io_context& ioc, const sim_context& ctx, int index)
    : ws_client(ioc, ctx.target(static_cast<std::uint64_t>(index)), "/v1/driver", true,
                ctx.opts.max_outbox_frames, ctx.stats),
      ctx_(ctx),
      index_(index),
      city_(ctx.reg, ctx.opts.area_m, ctx.opts.max_trip_m,
            ctx.opts.seed * 1'000'003 + static_cast<std::uint64_t>(index)),
      speed_mps_(wire_speed_mps(city_.city_speed_mps(), ctx.opts.time_scale)),
      pos_(city_.driver_start()),
      target_(pos_),
      update_timer_(ioc),
      leg_timer_(ioc) {}

void driver_client::on_open() {
  if (!online_) ++stats_.drivers_connected;
  online_ = true;
  const std::string sub = "d-" + std::to_string(ctx_.opts.id_base + 1 + index_);
  auto token = ctx_.tokens.mint(sub, auth::role::driver, 24 * 3600);
  if (!token) {
    stats_.error(token.code());
    return close();
  }
  send(schemas::hello{*token, "rideshard-simulate/driver", resuming()});
}

void driver_client::on_dropped() {
  if (online_) --stats_.drivers_connected;
  online_ = false;
  update_timer_.cancel();
  leg_timer_.cancel();
}

void driver_client::on_closed(bool) { on_dropped(); }

// After a reconnect: carry on with the trip the node gives back, else roam.
void driver_client::on_resumed(const schemas::welcome& w) {
  last_move_ms_ = unix_ms();
  send_fix(last_move_ms_);
  const auto& cur = w.current_trip;
  const bool assigned =
      cur && (cur->state == trip_state::accepted || cur->state == trip_state::driver_arrived ||
              cur->state == trip_state::in_progress);
  if (!assigned) {
    send(schemas::go_online{});
    become_idle();
  } else {
    ++stats_.resumed_trips;
    trip_ = cur->trip;
    ctx_.board.acknowledged(cur->trip, cur->state, cur->driver);
    if (cur->state == trip_state::accepted) {
      drive_to(cur->pickup, phase::to_pickup);
    } else if (cur->state == trip_state::driver_arrived) {
      ++leg_;
      phase_ = phase::at_pickup;
      try_start(0);
    } else {
      drive_to(cur->dropoff, phase::to_dropoff);
    }
  }
  schedule_update(true);
}

void driver_client::on_message(const schemas::server_message& m) {
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, schemas::welcome>) {
          if (resuming()) return on_resumed(b);
          // A trip left over from an earlier run with the same ids is dropped.
          if (b.current_trip && !terminal(b.current_trip->state))
            send(schemas::cancel_trip{b.current_trip->trip, "simulator restart"});
          last_move_ms_ = unix_ms();
          send_fix(last_move_ms_);
          send(schemas::go_online{});
          become_idle();
          schedule_update(true);
        } else if constexpr (std::is_same_v<T, schemas::offer>) {
          on_offer(b);
        } else if constexpr (std::is_same_v<T, schemas::trip_status>) {
          on_trip_status(b);
        } else if constexpr (std::is_same_v<T, schemas::error_reply>) {
          stats_.error(b.code);
          if (!expected_race(b.code))
            std::fprintf(stderr, "driver %d: %s: %s\n", index_,
                         std::string(to_string(b.code)).c_str(), b.message.c_str());
          // A refused accept (the offer moved on) or a refused step: free again.
          if (phase_ == phase::offered || phase_ == phase::completing) become_idle();
        }
      },
      m.body);
}

void driver_client::on_offer(const schemas::offer& o) {
  ++stats_.offers;
  ctx_.board.offered(o.trip, std::chrono::steady_clock::now(), stats_);
  if (phase_ != phase::idle || !city_.chance(ctx_.opts.accept_probability)) {
    ++stats_.declines;
    send(schemas::decline_offer{o.trip, "simulated decline"});
    return;
  }
  ++stats_.accepts;
  phase_ = phase::offered;
  trip_ = o.trip;
  offer_eta_s_ = o.pickup_eta_s;
  send(schemas::accept_offer{o.trip});
}

void driver_client::on_trip_status(const schemas::trip_status& t) {
  if (t.trip != trip_) return;
  ctx_.board.acknowledged(t.trip, t.state, t.driver);
  switch (t.state) {
    case trip_state::accepted:
      if (phase_ != phase::offered) break;
      stats_.pickup_eta_s(offer_eta_s_);  // what the node promised for this driver
      drive_to(t.pickup, phase::to_pickup);
      break;
    case trip_state::driver_arrived:
      if (phase_ == phase::at_pickup) try_start(0);
      break;
    case trip_state::in_progress:
      if (phase_ == phase::at_pickup) {
        ++stats_.started;
        drive_to(t.dropoff, phase::to_dropoff);
      }
      break;
    case trip_state::completed:
      ++stats_.completed;
      become_idle();
      break;
    case trip_state::cancelled:
    case trip_state::expired:
      become_idle();
      break;
    default:
      break;
  }
}

void driver_client::schedule_update(bool first) {
  // The first tick is spread over one interval so that drivers do not beat in step.
  const double s = ctx_.opts.update_interval_s * (first ? city_.uniform(0.1, 1.0) : 1.0);
  update_timer_.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000)));
  update_timer_.async_wait([self = self<driver_client>()](boost::system::error_code ec) {
    if (ec || !self->open()) return;
    const auto now = unix_ms();
    self->advance(now);
    self->send_fix(now);
    self->schedule_update(false);
  });
}

void driver_client::advance(std::int64_t now_ms) {
  const double dt = static_cast<double>(now_ms - last_move_ms_) / 1000;
  if (dt <= 0) return;
  last_move_ms_ = now_ms;
  const double d = distance_m(pos_, target_);
  const double step = leg_speed_mps_ * dt;
  if (d <= step || d < 0.5) {
    pos_ = target_;
    if (phase_ == phase::idle) target_ = city_.roam_target(pos_);
  } else {
    const double f = step / d;
    pos_ = {pos_.lat + (target_.lat - pos_.lat) * f, pos_.lng + (target_.lng - pos_.lng) * f};
  }
}

void driver_client::send_fix(std::int64_t now_ms) {
  // Timestamps must increase strictly. Movement uses the same clock and every leg
  // is slower than the node's limit, so any two fixes imply a plausible speed.
  if (now_ms <= last_sent_ms_) return;
  const float heading = pos_ == target_ ? -1.0F : bearing_deg(pos_, target_);
  send(schemas::location_batch{
      {schemas::location_sample{pos_, heading, static_cast<float>(leg_speed_mps_), now_ms}}});
  ++stats_.location_samples;
  last_sent_ms_ = now_ms;
}

void driver_client::drive_to(lat_lng where, phase during) {
  advance(unix_ms());
  phase_ = during;
  target_ = where;
  leg_speed_mps_ = speed_mps_;
  const std::uint64_t leg = ++leg_;
  const double s = distance_m(pos_, target_) / leg_speed_mps_;
  leg_timer_.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000) + 5));
  leg_timer_.async_wait([self = self<driver_client>(), leg](boost::system::error_code ec) {
    if (ec || leg != self->leg_ || !self->open()) return;
    self->on_reached();
  });
}

void driver_client::on_reached() {
  const auto now = unix_ms();
  advance(now);
  if (!(pos_ == target_)) {  // clock rounding: a few ms short
    drive_to(target_, phase_);
    return;
  }
  send_fix(now);
  if (phase_ == phase::to_pickup) {
    phase_ = phase::at_pickup;
    ++stats_.arrived;
    send(schemas::arrived{trip_});
  } else if (phase_ == phase::to_dropoff) {
    phase_ = phase::completing;
    send(schemas::complete_trip{trip_});
  }
}

void driver_client::try_start(int attempt) {
  if (auto pin = ctx_.board.pin(trip_)) {
    send(schemas::start_trip{trip_, *pin});
    return;
  }
  if (attempt >= 40) {  // the rider never told us (it left): give up on the trip
    ++stats_.pin_missing;
    send(schemas::cancel_trip{trip_, "no pin"});
    return become_idle();
  }
  const std::uint64_t leg = leg_;
  leg_timer_.expires_after(std::chrono::milliseconds(250));
  leg_timer_.async_wait([self = self<driver_client>(), leg, attempt](boost::system::error_code ec) {
    if (ec || leg != self->leg_ || !self->open()) return;
    self->try_start(attempt + 1);
  });
}

void driver_client::become_idle() {
  advance(unix_ms());
  ++leg_;
  leg_timer_.cancel();
  phase_ = phase::idle;
  trip_ = {};
  target_ = city_.roam_target(pos_);
  leg_speed_mps_ = speed_mps_ / 2;  // cruising for the next fare
}

}  // namespace rideshard::sim
