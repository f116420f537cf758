// rider_client: the rider's side of the ride over JSON text frames.
#include "sim/rider_client.hpp"

#include "sim/card_client.hpp"

#include <cstdio>
#include <type_traits>
#include <variant>

namespace rideshard::sim {

rider_client::rider_client(boost::asio::io_context& ioc, const sim_context& ctx,
                           std::uint64_t index)
    : ws_client(ioc, ctx.target(index), "/v1/rider", false, ctx.opts.max_outbox_frames, ctx.stats),
      ctx_(ctx),
      index_(index),
      city_(ctx.reg, ctx.opts.area_m, ctx.opts.max_trip_m,
            ctx.opts.seed * 2'000'003 + 7'919 * index),
      pickup_(city_.pickup()),
      dropoff_(city_.dropoff(pickup_)),
      cancel_timer_(ioc) {
  ++stats_.riders_connected;  // counts from creation: the simulator's cap includes connecting
}

void rider_client::on_open() {
  const std::string sub = "r-" + std::to_string(ctx_.opts.id_base + 500'001 + index_);
  auto token = ctx_.tokens.mint(sub, auth::role::rider, 24 * 3600);
  if (!token) {
    stats_.error(token.code());
    return close();
  }
  token_ = *token;
  send(schemas::hello{*token, "rideshard-simulate/rider", resuming()});
}

void rider_client::on_dropped() {
  cancel_timer_.cancel();  // a planned cancel is not sent to a node that is gone
}

// After a reconnect: the trip the node gives back, if any, carries on.
void rider_client::on_resumed(const schemas::welcome& w) {
  if (w.current_trip && (!trip_.valid() || w.current_trip->trip == trip_)) {
    ++stats_.resumed_trips;
    on_trip_status(*w.current_trip);
    if (is_terminal(w.current_trip->state)) {
      leave_trip();
      close();
    }
    return;
  }
  // No trip: it ended while we were away (the audit checks it was not lost), or
  // the request never got its trip id before the drop (then nobody can tell).
  if (!trip_.valid() && !requested_) {  // dropped while quoting: start again
    ask_quote();
    return;
  }
  if (!trip_.valid()) ++stats_.requests_in_doubt;
  leave_trip();
  close();
}

void rider_client::ask_quote() { send(schemas::quote_request{pickup_, dropoff_}); }

void rider_client::add_card_then_quote() {
  const double share = ctx_.opts.card_share;
  if (share <= 0 || (share < 1 && !city_.chance(share))) return ask_quote();
  add_card(ioc_, current_node(), token_, sandbox_card_number(ctx_.opts.id_base + index_),
           [self = self<rider_client>()](unsigned status) {
             if (status == 201) {
               ++self->stats_.cards_added;
             } else {
               ++self->stats_.cards_refused;
               std::fprintf(stderr, "rider %llu: adding a card: HTTP %u\n",
                            static_cast<unsigned long long>(self->index_), status);
             }
             if (self->open()) self->ask_quote();  // without a card it rides on the ledger only
           });
}

void rider_client::on_closed(bool) {
  --stats_.riders_connected;
  cancel_timer_.cancel();
  leave_trip();
}

void rider_client::leave_trip() {
  if (matched_) --stats_.trips_active;
  matched_ = false;
  if (trip_.valid()) ctx_.board.erase(trip_);
}

void rider_client::on_message(const schemas::server_message& m) {
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, schemas::welcome>) {
          if (resuming()) return on_resumed(b);
          add_card_then_quote();
        } else if constexpr (std::is_same_v<T, schemas::quote>) {
          ++stats_.quotes;
          stats_.surge(b.surge_per_mille);
          requested_at_ = std::chrono::steady_clock::now();
          requested_ = true;
          ++stats_.requests;
          send(schemas::ride_request{b.id, pickup_, dropoff_});
        } else if constexpr (std::is_same_v<T, schemas::trip_status>) {
          on_trip_status(b);
        } else if constexpr (std::is_same_v<T, schemas::receipt>) {
          ++stats_.receipts;
          leave_trip();
          close();
        } else if constexpr (std::is_same_v<T, schemas::error_reply>) {
          stats_.error(b.code);
          if (!expected_race(b.code))
            std::fprintf(stderr, "rider %llu: %s: %s\n", static_cast<unsigned long long>(index_),
                         std::string(to_string(b.code)).c_str(), b.message.c_str());
          if (b.code == errc::no_driver_available) ++stats_.no_driver;
          // Without a trip there is nothing to wait for: the rider gives up.
          if (!trip_.valid()) close();
        }
      },
      m.body);
}

void rider_client::on_trip_status(const schemas::trip_status& t) {
  if (!trip_.valid() && requested_) {
    trip_ = t.trip;
    ctx_.board.requested(trip_, requested_at_, stats_);
  }
  if (t.trip != trip_) return;
  ctx_.board.acknowledged(t.trip, t.state, t.driver);
  switch (t.state) {
    case trip_state::accepted:
      if (matched_) break;
      matched_ = true;
      ++stats_.matched;
      stats_.match_wait_s(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - requested_at_).count());
      ++stats_.trips_active;
      ctx_.board.set_pin(trip_, t.pin);
      if (city_.chance(ctx_.opts.cancel_probability)) {
        const auto ms = static_cast<std::int64_t>(city_.uniform(500, 3000));
        cancel_timer_.expires_after(std::chrono::milliseconds(ms));
        cancel_timer_.async_wait([self = self<rider_client>()](boost::system::error_code ec) {
          if (ec || !self->open()) return;
          ++self->stats_.rider_cancels;
          self->send(schemas::cancel_trip{self->trip_, "simulated change of plans"});
        });
      }
      break;
    case trip_state::in_progress:
      cancel_timer_.cancel();  // on board: too late to cancel
      break;
    case trip_state::cancelled:
      ++stats_.cancelled;
      // The node gave up finding a driver (no_driver_timeout): counted as no driver too.
      if (t.cancel_reason == to_string(errc::no_driver_available)) ++stats_.no_driver;
      cancel_timer_.cancel();
      break;
    case trip_state::expired:
      ++stats_.expired;
      break;
    default:
      break;
  }
}

}  // namespace rideshard::sim
