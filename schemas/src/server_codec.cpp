// Binary codec for server -> client frames (wire.fbs server_message). The
// decoder serves test clients and the simulator; it verifies like the server does.
#include <utility>

#include "codec_support.hpp"
#include "rideshard/schemas/codec.hpp"
#include "rideshard/schemas/generated/wire_generated.h"

namespace rideshard::schemas {
namespace {

namespace fbw = rideshard::wire::v1;
using detail::check_aligned;
using detail::read_position;
using detail::read_text;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

fbw::lat_lng to_fb(lat_lng p) { return fbw::lat_lng(p.lat, p.lng); }

/// Optional strings are left out when empty (smaller frames, shorter JSON).
Offset<flatbuffers::String> opt_string(FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

Offset<fbw::fare_breakdown> build_fare(FlatBufferBuilder& b, const fare_breakdown& f) {
  return fbw::Createfare_breakdown(b, f.base_minor, f.distance_minor, f.time_minor, f.surge_minor,
                                   f.booking_fee_minor, f.total_minor);
}

Offset<fbw::trip_status> build_status(FlatBufferBuilder& b, const trip_status& m) {
  auto pin = opt_string(b, m.pin);
  auto reason = opt_string(b, m.cancel_reason);
  const auto pickup = to_fb(m.pickup), dropoff = to_fb(m.dropoff);
  const fbw::lat_lng driver_pos = to_fb(m.driver_position.value_or(lat_lng{}));
  return fbw::Createtrip_status(
      b, m.trip.value, static_cast<fbw::trip_state>(m.state), m.driver.value, m.rider.value,
      &pickup, &dropoff, m.driver_position ? &driver_pos : nullptr, m.pickup_eta_s, m.dropoff_eta_s,
      pin, static_cast<fbw::party>(m.cancelled_by), reason, m.updated_at_ms, m.search_radius_m);
}

/// Builds one union member; returns its type tag and offset.
struct body_encoder {
  FlatBufferBuilder& b;
  using out = std::pair<fbw::server_body, Offset<void>>;

  out operator()(const welcome& m) const {
    auto subject = b.CreateString(m.subject);
    Offset<fbw::trip_status> current = 0;
    if (m.current_trip) current = build_status(b, *m.current_trip);
    return {
        fbw::server_body::welcome,
        fbw::Createwelcome(b, subject, static_cast<fbw::role>(m.role), m.resumed, current).Union()};
  }
  out operator()(const ack& m) const {
    return {fbw::server_body::ack, fbw::Createack(b, m.accepted).Union()};
  }
  out operator()(const quote& m) const {
    auto fare = build_fare(b, m.fare);
    auto currency = b.CreateString(m.currency);
    return {fbw::server_body::quote,
            fbw::Createquote(b, m.id.value, fare, currency, m.surge_per_mille, m.pickup_eta_s,
                             m.distance_m, m.duration_s, m.expires_at_ms)
                .Union()};
  }
  out operator()(const offer& m) const {
    auto currency = b.CreateString(m.currency);
    const auto pickup = to_fb(m.pickup), dropoff = to_fb(m.dropoff);
    return {fbw::server_body::offer,
            fbw::Createoffer(b, m.trip.value, &pickup, &dropoff, m.pickup_eta_s,
                             m.fare_estimate_minor, currency, m.deadline_ms)
                .Union()};
  }
  out operator()(const trip_status& m) const {
    return {fbw::server_body::trip_status, build_status(b, m).Union()};
  }
  out operator()(const driver_position& m) const {
    const auto& s = m.position;
    const fbw::location_sample pos(s.pos.lat, s.pos.lng, s.heading_deg, s.speed_mps,
                                   s.timestamp_ms);
    return {fbw::server_body::driver_position,
            fbw::Createdriver_position(b, m.trip.value, m.driver.value, &pos, m.eta_s).Union()};
  }
  out operator()(const receipt& m) const {
    auto fare = build_fare(b, m.fare);
    auto currency = b.CreateString(m.currency);
    return {fbw::server_body::receipt,
            fbw::Createreceipt(b, m.trip.value, static_cast<fbw::trip_state>(m.final_state), fare,
                               currency, m.distance_m, m.duration_s, m.cancellation_fee_minor)
                .Union()};
  }
  out operator()(const error_reply& m) const {
    auto name = b.CreateString(to_string(m.code).data(), to_string(m.code).size());
    auto message = opt_string(b, m.message);
    return {fbw::server_body::error_reply,
            fbw::Createerror_reply(b, static_cast<std::uint16_t>(m.code), name, message, m.ref_seq)
                .Union()};
  }
  out operator()(const pong& m) const {
    return {fbw::server_body::pong, fbw::Createpong(b, m.nonce).Union()};
  }
  out operator()(const nearby_results& m) const {
    std::vector<Offset<fbw::nearby_result>> results;
    results.reserve(m.results.size());
    for (const auto& r : m.results) {
      // Empty vectors are left out (a failed query): shorter frames and JSON.
      Offset<flatbuffers::Vector<std::uint64_t>> drivers = 0;
      Offset<flatbuffers::Vector<float>> distances = 0;
      if (!r.drivers.empty()) {
        std::uint64_t* ids = nullptr;
        drivers = b.CreateUninitializedVector(r.drivers.size(), &ids);
        for (auto d : r.drivers) *ids++ = d.value;
      }
      if (!r.distances_m.empty()) distances = b.CreateVector(r.distances_m);
      results.push_back(
          fbw::Createnearby_result(b, drivers, distances, static_cast<std::uint16_t>(r.code)));
    }
    auto vec = b.CreateVector(results);
    return {fbw::server_body::nearby_results, fbw::Createnearby_results(b, vec).Union()};
  }
};

result<nearby_results> read_nearby_results(const fbw::nearby_results& m) {
  nearby_results out;
  out.results.reserve(m.results()->size());
  for (const auto* r : *m.results()) {
    nearby_result one;
    if (auto a = check_aligned(r->drivers(), "nearby_result.drivers"); !a) return a.err();
    if (auto a = check_aligned(r->distances_m(), "nearby_result.distances_m"); !a) return a.err();
    const std::size_t n = r->drivers() ? r->drivers()->size() : 0;
    const std::size_t nd = r->distances_m() ? r->distances_m()->size() : 0;
    if (n != nd)
      return error{errc::invalid_argument,
                   "nearby_result.drivers and distances_m differ in length"};
    one.drivers.reserve(n);
    one.distances_m.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      one.drivers.push_back(driver_id{r->drivers()->Get(static_cast<flatbuffers::uoffset_t>(i))});
      one.distances_m.push_back(r->distances_m()->Get(static_cast<flatbuffers::uoffset_t>(i)));
    }
    one.code = static_cast<errc>(r->code());
    out.results.push_back(std::move(one));
  }
  return out;
}

fare_breakdown read_fare(const fbw::fare_breakdown& f) {
  return fare_breakdown{f.base_minor(),  f.distance_minor(),    f.time_minor(),
                        f.surge_minor(), f.booking_fee_minor(), f.total_minor()};
}

/// Reads an optional position; absent reads as {0, 0}.
result<lat_lng> read_opt_position(const fbw::lat_lng* p, std::string_view field) {
  if (p == nullptr) return lat_lng{};
  return read_position(p->lat(), p->lng(), field);
}

result<trip_status> read_status(const fbw::trip_status& m, const codec_limits& limits) {
  trip_status out;
  out.trip = trip_id{m.trip_id()};
  auto state = detail::read_enum<trip_state>(m.state(), detail::trip_state_count, "state");
  if (!state) return state.err();
  out.state = *state;
  out.driver = driver_id{m.driver_id()};
  out.rider = rider_id{m.rider_id()};
  auto pickup = read_opt_position(m.pickup(), "trip_status.pickup");
  if (!pickup) return pickup.err();
  auto dropoff = read_opt_position(m.dropoff(), "trip_status.dropoff");
  if (!dropoff) return dropoff.err();
  out.pickup = *pickup;
  out.dropoff = *dropoff;
  if (m.driver_position() != nullptr) {
    auto pos = read_opt_position(m.driver_position(), "trip_status.driver_position");
    if (!pos) return pos.err();
    out.driver_position = *pos;
  }
  out.pickup_eta_s = m.pickup_eta_s();
  out.dropoff_eta_s = m.dropoff_eta_s();
  auto pin = read_text(m.pin(), "trip_status.pin", 8, false);
  if (!pin) return pin.err();
  out.pin = std::move(*pin);
  auto by = detail::read_enum<party>(m.cancelled_by(), detail::party_count, "cancelled_by");
  if (!by) return by.err();
  out.cancelled_by = *by;
  auto reason =
      read_text(m.cancel_reason(), "trip_status.cancel_reason", limits.max_text_bytes, false);
  if (!reason) return reason.err();
  out.cancel_reason = std::move(*reason);
  out.updated_at_ms = m.updated_at_ms();
  out.search_radius_m = m.search_radius_m();
  return out;
}

result<server_body> read_body(const fbw::server_message& root, const codec_limits& limits) {
  const auto max_text = limits.max_text_bytes;
  switch (root.body_type()) {
    case fbw::server_body::welcome: {
      const auto* m = root.body_as_welcome();
      welcome out;
      auto subject = read_text(m->subject(), "welcome.subject", max_text, true);
      if (!subject) return subject.err();
      out.subject = std::move(*subject);
      auto r = detail::read_enum<role>(m->role(), 3, "welcome.role");
      if (!r) return r.err();
      out.role = *r;
      out.resumed = m->resumed();
      if (m->current_trip() != nullptr) {
        auto status = read_status(*m->current_trip(), limits);
        if (!status) return status.err();
        out.current_trip = std::move(*status);
      }
      return server_body{std::move(out)};
    }
    case fbw::server_body::ack:
      return server_body{ack{root.body_as_ack()->accepted()}};
    case fbw::server_body::quote: {
      const auto* m = root.body_as_quote();
      auto currency = read_text(m->currency(), "quote.currency", max_text, true);
      if (!currency) return currency.err();
      return server_body{quote{quote_id{m->quote_id()}, read_fare(*m->fare()), std::move(*currency),
                               m->surge_per_mille(), m->pickup_eta_s(), m->distance_m(),
                               m->duration_s(), m->expires_at_ms()}};
    }
    case fbw::server_body::offer: {
      const auto* m = root.body_as_offer();
      auto pickup = read_position(m->pickup()->lat(), m->pickup()->lng(), "offer.pickup");
      if (!pickup) return pickup.err();
      auto dropoff = read_position(m->dropoff()->lat(), m->dropoff()->lng(), "offer.dropoff");
      if (!dropoff) return dropoff.err();
      auto currency = read_text(m->currency(), "offer.currency", max_text, true);
      if (!currency) return currency.err();
      return server_body{offer{trip_id{m->trip_id()}, *pickup, *dropoff, m->pickup_eta_s(),
                               m->fare_estimate_minor(), std::move(*currency), m->deadline_ms()}};
    }
    case fbw::server_body::trip_status: {
      auto status = read_status(*root.body_as_trip_status(), limits);
      if (!status) return status.err();
      return server_body{std::move(*status)};
    }
    case fbw::server_body::driver_position: {
      const auto* m = root.body_as_driver_position();
      const auto* s = m->position();
      auto pos = read_position(s->lat(), s->lng(), "driver_position.position");
      if (!pos) return pos.err();
      return server_body{driver_position{
          trip_id{m->trip_id()}, driver_id{m->driver_id()},
          location_sample{*pos, s->heading_deg(), s->speed_mps(), s->timestamp_ms()}, m->eta_s()}};
    }
    case fbw::server_body::receipt: {
      const auto* m = root.body_as_receipt();
      auto state = detail::read_enum<trip_state>(m->final_state(), detail::trip_state_count,
                                                 "receipt.final_state");
      if (!state) return state.err();
      auto currency = read_text(m->currency(), "receipt.currency", max_text, true);
      if (!currency) return currency.err();
      return server_body{receipt{trip_id{m->trip_id()}, *state, read_fare(*m->fare()),
                                 std::move(*currency), m->distance_m(), m->duration_s(),
                                 m->cancellation_fee_minor()}};
    }
    case fbw::server_body::error_reply: {
      const auto* m = root.body_as_error_reply();
      auto name = read_text(m->code_name(), "error_reply.code_name", max_text, true);
      if (!name) return name.err();
      auto message = read_text(m->message(), "error_reply.message", max_text, false);
      if (!message) return message.err();
      return server_body{
          error_reply{static_cast<errc>(m->code()), std::move(*message), m->ref_seq()}};
    }
    case fbw::server_body::pong:
      return server_body{pong{root.body_as_pong()->nonce()}};
    case fbw::server_body::nearby_results: {
      auto results = read_nearby_results(*root.body_as_nearby_results());
      if (!results) return results.err();
      return server_body{std::move(*results)};
    }
    default:
      break;
  }
  return error{errc::unknown_message, "unknown server message type " +
                                          std::to_string(static_cast<unsigned>(root.body_type()))};
}

}  // namespace

result<server_message> decode_server_binary(const std::uint8_t* data, std::size_t size,
                                            const codec_limits& limits) {
  const detail::aligned_frame frame(data, size);
  auto root = detail::verify_root<fbw::server_message>(frame, limits);
  if (!root) return root.err();
  if ((*root)->body() == nullptr)
    return error{errc::missing_field, "server_message.body is missing"};
  auto body = read_body(**root, limits);
  if (!body) return body.err();
  return server_message{(*root)->seq(), (*root)->reply_to(), (*root)->server_time_ms(),
                        std::move(*body)};
}

std::vector<std::uint8_t> encode_server_binary(const server_message& msg) {
  FlatBufferBuilder b(512);
  const auto [type, body] = std::visit(body_encoder{b}, msg.body);
  b.Finish(fbw::Createserver_message(b, msg.seq, msg.reply_to, msg.server_time_ms, type, body));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

}  // namespace rideshard::schemas
