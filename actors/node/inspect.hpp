// CAF 0.17 inspect() for the engine and schemas value types that travel in
// actor messages. engine/ and schemas/ stay CAF-free, so the overloads live
// here, in the types' own namespaces (CAF finds inspect() by ADL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <caf/all.hpp>
#pragma GCC diagnostic pop

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/spatial_index.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/schemas/messages.hpp"

namespace rideshard::node {

/// Wraps a std::optional member for an inspector (CAF 0.17 knows only
/// caf::optional): a presence flag, then the value when present.
template <class T>
struct optional_field {
  std::optional<T>& x;
  struct value_part {
    bool& has;
    T& tmp;
    template <class Inspector>
    friend typename Inspector::result_type inspect(Inspector& f, value_part& v) {
      return v.has ? f(v.tmp) : f();
    }
  };
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, optional_field& o) {
    if constexpr (Inspector::reads_state) {
      bool has = o.x.has_value();
      T empty{};
      value_part v{has, has ? *o.x : empty};
      return f(has, v);
    } else {
      bool has = false;
      T tmp{};
      value_part v{has, tmp};
      auto store = caf::meta::load_callback([&]() -> caf::error {
        if (has)
          o.x = std::move(tmp);
        else
          o.x.reset();
        return caf::none;
      });
      return f(has, v, store);
    }
  }
};
template <class T>
optional_field<T> opt(std::optional<T>& x) {
  return {x};
}

/// Wraps a std::variant member: a one-byte alternative index, then the value.
template <class V>
struct variant_field {
  V& x;
  struct value_part {
    std::uint8_t& index;
    V& x;
    template <std::size_t... Is>
    bool emplace(std::index_sequence<Is...>) {
      return ((index == Is ? (x.template emplace<Is>(), true) : false) || ...);
    }
    template <class Inspector>
    friend typename Inspector::result_type inspect(Inspector& f, value_part& v) {
      if constexpr (!Inspector::reads_state)
        if (!v.emplace(std::make_index_sequence<std::variant_size_v<V>>{}))
          return caf::make_error(caf::sec::invalid_argument, "unknown variant alternative");
      return std::visit([&f](auto& a) { return f(a); }, v.x);
    }
  };
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, variant_field& w) {
    auto index = static_cast<std::uint8_t>(w.x.index());
    value_part v{index, w.x};
    return f(index, v);
  }
};
template <class V>
variant_field<V> alt(V& x) {
  return {x};
}

}  // namespace rideshard::node

namespace rideshard {

template <class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, basic_id<Tag>& x) {
  return f(x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lat_lng& x) {
  return f(caf::meta::type_name("lat_lng"), x.lat, x.lng);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, neighbor& x) {
  return f(caf::meta::type_name("neighbor"), x.id, x.pos, x.distance_m);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, driver_position& x) {
  return f(caf::meta::type_name("driver_position"), x.id, x.pos);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip& x) {
  return f(caf::meta::type_name("trip"), x.id, x.rider, x.driver, x.offered_to, x.state, x.pickup,
           x.dropoff, x.pin, x.pin_failures, x.requested_at_ms, x.offer_deadline_ms,
           x.accepted_at_ms, x.arrived_at_ms, x.started_at_ms, x.ended_at_ms, x.offers_made,
           x.sequence, x.cancelled_by, x.cancel_reason, x.cancel_fee_minor, x.surge_permille,
           x.quoted_fare_minor);
}

}  // namespace rideshard

namespace rideshard::schemas {

using node::alt;
using node::opt;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, location_sample& x) {
  return f(caf::meta::type_name("location_sample"), x.pos, x.heading_deg, x.speed_mps,
           x.timestamp_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fare_breakdown& x) {
  return f(caf::meta::type_name("fare_breakdown"), x.base_minor, x.distance_minor, x.time_minor,
           x.surge_minor, x.booking_fee_minor, x.total_minor);
}

// ---- client -> server ----
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("hello"), x.token, x.client, x.resume);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, go_online&) {
  return f(caf::meta::type_name("go_online"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, go_offline&) {
  return f(caf::meta::type_name("go_offline"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, location_batch& x) {
  return f(caf::meta::type_name("location_batch"), x.samples);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote_request& x) {
  return f(caf::meta::type_name("quote_request"), x.pickup, x.dropoff);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ride_request& x) {
  auto q = opt(x.quote);
  return f(caf::meta::type_name("ride_request"), q, x.pickup, x.dropoff);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, accept_offer& x) {
  return f(caf::meta::type_name("accept_offer"), x.trip);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, decline_offer& x) {
  return f(caf::meta::type_name("decline_offer"), x.trip, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, arrived& x) {
  return f(caf::meta::type_name("arrived"), x.trip);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_trip& x) {
  return f(caf::meta::type_name("start_trip"), x.trip, x.pin);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, complete_trip& x) {
  return f(caf::meta::type_name("complete_trip"), x.trip);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_trip& x) {
  return f(caf::meta::type_name("cancel_trip"), x.trip, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ping& x) {
  return f(caf::meta::type_name("ping"), x.nonce);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fleet_position& x) {
  return f(caf::meta::type_name("fleet_position"), x.driver, x.pos, x.at_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fleet_positions& x) {
  return f(caf::meta::type_name("fleet_positions"), x.samples);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_query& x) {
  return f(caf::meta::type_name("nearby_query"), x.center, x.radius_m, x.k);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_batch& x) {
  return f(caf::meta::type_name("nearby_batch"), x.queries);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_message& x) {
  auto body = alt(x.body);
  return f(caf::meta::type_name("client_message"), x.seq, body);
}

// ---- server -> client ----
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip_status& x) {
  auto pos = opt(x.driver_position);
  return f(caf::meta::type_name("trip_status"), x.trip, x.state, x.driver, x.rider, x.pickup,
           x.dropoff, pos, x.pickup_eta_s, x.dropoff_eta_s, x.pin, x.cancelled_by, x.cancel_reason,
           x.updated_at_ms, x.search_radius_m);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, welcome& x) {
  auto current = opt(x.current_trip);
  return f(caf::meta::type_name("welcome"), x.subject, x.role, x.resumed, current);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack& x) {
  return f(caf::meta::type_name("ack"), x.accepted);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote& x) {
  return f(caf::meta::type_name("quote"), x.id, x.fare, x.currency, x.surge_per_mille,
           x.pickup_eta_s, x.distance_m, x.duration_s, x.expires_at_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer& x) {
  return f(caf::meta::type_name("offer"), x.trip, x.pickup, x.dropoff, x.pickup_eta_s,
           x.fare_estimate_minor, x.currency, x.deadline_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, driver_position& x) {
  return f(caf::meta::type_name("driver_position"), x.trip, x.driver, x.position, x.eta_s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, receipt& x) {
  return f(caf::meta::type_name("receipt"), x.trip, x.final_state, x.fare, x.currency, x.distance_m,
           x.duration_s, x.cancellation_fee_minor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error_reply& x) {
  return f(caf::meta::type_name("error_reply"), x.code, x.message, x.ref_seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pong& x) {
  return f(caf::meta::type_name("pong"), x.nonce);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_result& x) {
  return f(caf::meta::type_name("nearby_result"), x.drivers, x.distances_m, x.code);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nearby_results& x) {
  return f(caf::meta::type_name("nearby_results"), x.results);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_message& x) {
  auto body = alt(x.body);
  return f(caf::meta::type_name("server_message"), x.seq, x.reply_to, x.server_time_ms, body);
}

}  // namespace rideshard::schemas
