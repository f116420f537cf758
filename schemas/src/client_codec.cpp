// Binary codec for client -> server frames (wire.fbs client_message): build
// with FlatBufferBuilder; verify, convert and check content on the way in.
#include <cmath>
#include <utility>

#include "codec_support.hpp"
#include "rideshard/schemas/codec.hpp"
#include "rideshard/schemas/generated/wire_generated.h"

namespace rideshard::schemas {
namespace {

namespace fbw = rideshard::wire::v1;
using detail::check_aligned;
using detail::read_id;
using detail::read_position;
using detail::read_text;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

fbw::lat_lng to_fb(lat_lng p) { return fbw::lat_lng(p.lat, p.lng); }

/// Optional strings are left out when empty (smaller frames, shorter JSON).
Offset<flatbuffers::String> opt_string(FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

/// Builds one union member; returns its type tag and offset.
struct body_encoder {
  FlatBufferBuilder& b;
  using out = std::pair<fbw::client_body, Offset<void>>;

  out operator()(const hello& m) const {
    auto token = b.CreateString(m.token);
    auto client = b.CreateString(m.client);
    return {fbw::client_body::hello, fbw::Createhello(b, token, client, m.resume).Union()};
  }
  out operator()(const go_online&) const {
    return {fbw::client_body::go_online, fbw::Creatego_online(b).Union()};
  }
  out operator()(const go_offline&) const {
    return {fbw::client_body::go_offline, fbw::Creatego_offline(b).Union()};
  }
  out operator()(const location_batch& m) const {
    std::vector<fbw::location_sample> samples;
    samples.reserve(m.samples.size());
    for (const auto& s : m.samples)
      samples.emplace_back(s.pos.lat, s.pos.lng, s.heading_deg, s.speed_mps, s.timestamp_ms);
    auto vec = b.CreateVectorOfStructs(samples);
    return {fbw::client_body::location_batch, fbw::Createlocation_batch(b, vec).Union()};
  }
  out operator()(const quote_request& m) const {
    const auto pickup = to_fb(m.pickup), dropoff = to_fb(m.dropoff);
    return {fbw::client_body::quote_request,
            fbw::Createquote_request(b, &pickup, &dropoff).Union()};
  }
  out operator()(const ride_request& m) const {
    const auto pickup = to_fb(m.pickup), dropoff = to_fb(m.dropoff);
    flatbuffers::Optional<std::uint64_t> quote = flatbuffers::nullopt;
    if (m.quote) quote = m.quote->value;
    return {fbw::client_body::ride_request,
            fbw::Createride_request(b, quote, &pickup, &dropoff).Union()};
  }
  out operator()(const accept_offer& m) const {
    return {fbw::client_body::accept_offer, fbw::Createaccept_offer(b, m.trip.value).Union()};
  }
  out operator()(const decline_offer& m) const {
    auto reason = opt_string(b, m.reason);
    return {fbw::client_body::decline_offer,
            fbw::Createdecline_offer(b, m.trip.value, reason).Union()};
  }
  out operator()(const arrived& m) const {
    return {fbw::client_body::arrived, fbw::Createarrived(b, m.trip.value).Union()};
  }
  out operator()(const start_trip& m) const {
    auto pin = b.CreateString(m.pin);
    return {fbw::client_body::start_trip, fbw::Createstart_trip(b, m.trip.value, pin).Union()};
  }
  out operator()(const complete_trip& m) const {
    return {fbw::client_body::complete_trip, fbw::Createcomplete_trip(b, m.trip.value).Union()};
  }
  out operator()(const cancel_trip& m) const {
    auto reason = opt_string(b, m.reason);
    return {fbw::client_body::cancel_trip, fbw::Createcancel_trip(b, m.trip.value, reason).Union()};
  }
  out operator()(const ping& m) const {
    return {fbw::client_body::ping, fbw::Createping(b, m.nonce).Union()};
  }
  out operator()(const fleet_positions& m) const {
    fbw::fleet_position* raw = nullptr;
    auto vec = b.CreateUninitializedVectorOfStructs(m.samples.size(), &raw);
    for (const auto& s : m.samples)
      *raw++ = fbw::fleet_position(s.driver.value, s.pos.lat, s.pos.lng, s.at_ms);
    return {fbw::client_body::fleet_positions, fbw::Createfleet_positions(b, vec).Union()};
  }
  out operator()(const nearby_batch& m) const {
    fbw::nearby_query* raw = nullptr;
    auto vec = b.CreateUninitializedVectorOfStructs(m.queries.size(), &raw);
    for (const auto& q : m.queries)
      *raw++ = fbw::nearby_query(q.center.lat, q.center.lng, q.radius_m, q.k);
    return {fbw::client_body::nearby_batch, fbw::Createnearby_batch(b, vec).Union()};
  }
};

/// Structural checks only (count); each sample is validated by the node.
result<fleet_positions> read_fleet(const fbw::fleet_positions& m, const codec_limits& limits) {
  const auto* samples = m.samples();
  if (auto a = check_aligned(samples, "fleet_positions.samples"); !a) return a.err();
  const std::size_t n = samples ? samples->size() : 0;
  if (n == 0) return error{errc::invalid_argument, "fleet_positions.samples is empty"};
  if (n > limits.max_fleet_samples)
    return error{errc::invalid_argument, "fleet_positions of " + std::to_string(n) +
                                             " samples exceeds " +
                                             std::to_string(limits.max_fleet_samples)};
  fleet_positions out;
  out.samples.resize(n);
  auto* dst = out.samples.data();
  for (const auto* s : *samples)
    *dst++ = fleet_position{driver_id{s->driver_id()}, lat_lng{s->lat(), s->lng()}, s->at_ms()};
  return out;
}

/// Structural checks only (count, total k); each query is validated by the node.
result<nearby_batch> read_nearby(const fbw::nearby_batch& m, const codec_limits& limits) {
  const auto* queries = m.queries();
  if (auto a = check_aligned(queries, "nearby_batch.queries"); !a) return a.err();
  const std::size_t n = queries ? queries->size() : 0;
  if (n == 0) return error{errc::invalid_argument, "nearby_batch.queries is empty"};
  if (n > limits.max_nearby_queries)
    return error{errc::invalid_argument, "nearby_batch of " + std::to_string(n) +
                                             " queries exceeds " +
                                             std::to_string(limits.max_nearby_queries)};
  nearby_batch out;
  out.queries.resize(n);
  auto* dst = out.queries.data();
  std::size_t k_total = 0;
  for (const auto* q : *queries) {
    k_total += q->k();
    *dst++ = nearby_query{lat_lng{q->lat(), q->lng()}, q->radius_m(), q->k()};
  }
  if (k_total > limits.max_nearby_k_total)
    return error{errc::invalid_argument, "nearby_batch asks for " + std::to_string(k_total) +
                                             " drivers in total; at most " +
                                             std::to_string(limits.max_nearby_k_total)};
  return out;
}

result<location_batch> read_batch(const fbw::location_batch& m, const codec_limits& limits) {
  const auto* samples = m.samples();
  if (auto a = check_aligned(samples, "location_batch.samples"); !a) return a.err();
  const std::size_t n = samples ? samples->size() : 0;
  if (n == 0) return error{errc::invalid_argument, "location_batch.samples is empty"};
  if (n > limits.max_batch)
    return error{errc::invalid_argument, "location_batch of " + std::to_string(n) +
                                             " samples exceeds " +
                                             std::to_string(limits.max_batch)};
  location_batch out;
  out.samples.reserve(n);
  for (const auto* s : *samples) {
    auto pos = read_position(s->lat(), s->lng(), "location_batch.samples");
    if (!pos) return pos.err();
    const float heading = s->heading_deg(), speed = s->speed_mps();
    if (!std::isfinite(heading) || heading >= 360.0f)
      return error{errc::invalid_argument, "location sample heading_deg must be finite, < 360"};
    if (!(speed >= 0.0f) || speed > 1000.0f)
      return error{errc::invalid_argument, "location sample speed_mps must be in [0, 1000]"};
    if (s->timestamp_ms() <= 0)
      return error{errc::invalid_argument, "location sample timestamp_ms must be > 0"};
    out.samples.push_back(location_sample{*pos, heading, speed, s->timestamp_ms()});
  }
  return out;
}

result<std::string> read_pin(const flatbuffers::String* s) {
  auto pin = read_text(s, "start_trip.pin", 8, true);
  if (!pin) return pin;
  for (char c : *pin)
    if (c < '0' || c > '9')
      return error{errc::invalid_argument, "start_trip.pin must be 1-8 ASCII digits"};
  return pin;
}

/// Reads `trip_id` + optional text member into T (decline_offer, cancel_trip).
template <class T, class Fb>
result<client_body> read_trip_reason(const Fb& m, std::string_view where,
                                     const codec_limits& limits) {
  auto id = read_id(m.trip_id(), std::string(where) + ".trip_id");
  if (!id) return id.err();
  auto reason = read_text(m.reason(), std::string(where) + ".reason", limits.max_text_bytes, false);
  if (!reason) return reason.err();
  return client_body{T{trip_id{*id}, std::move(*reason)}};
}

/// Reads a message that carries only a trip id.
template <class T>
result<client_body> read_trip_only(std::uint64_t raw, std::string_view where) {
  auto id = read_id(raw, std::string(where) + ".trip_id");
  if (!id) return id.err();
  return client_body{T{trip_id{*id}}};
}

result<client_body> read_body(const fbw::client_message& root, const codec_limits& limits) {
  switch (root.body_type()) {
    case fbw::client_body::hello: {
      const auto* m = root.body_as_hello();
      auto token = read_text(m->token(), "hello.token", limits.max_token_bytes, true);
      if (!token) return token.err();
      auto client = read_text(m->client(), "hello.client", limits.max_text_bytes, true);
      if (!client) return client.err();
      return client_body{hello{std::move(*token), std::move(*client), m->resume()}};
    }
    case fbw::client_body::go_online:
      return client_body{go_online{}};
    case fbw::client_body::go_offline:
      return client_body{go_offline{}};
    case fbw::client_body::location_batch: {
      auto batch = read_batch(*root.body_as_location_batch(), limits);
      if (!batch) return batch.err();
      return client_body{std::move(*batch)};
    }
    case fbw::client_body::quote_request: {
      const auto* m = root.body_as_quote_request();
      auto pickup = read_position(m->pickup()->lat(), m->pickup()->lng(), "pickup");
      if (!pickup) return pickup.err();
      auto dropoff = read_position(m->dropoff()->lat(), m->dropoff()->lng(), "dropoff");
      if (!dropoff) return dropoff.err();
      return client_body{quote_request{*pickup, *dropoff}};
    }
    case fbw::client_body::ride_request: {
      const auto* m = root.body_as_ride_request();
      ride_request out;
      if (const auto q = m->quote_id(); q.has_value()) {
        auto id = read_id(*q, "ride_request.quote_id");
        if (!id) return id.err();
        out.quote = quote_id{*id};
      }
      auto pickup = read_position(m->pickup()->lat(), m->pickup()->lng(), "pickup");
      if (!pickup) return pickup.err();
      auto dropoff = read_position(m->dropoff()->lat(), m->dropoff()->lng(), "dropoff");
      if (!dropoff) return dropoff.err();
      out.pickup = *pickup;
      out.dropoff = *dropoff;
      return client_body{out};
    }
    case fbw::client_body::accept_offer:
      return read_trip_only<accept_offer>(root.body_as_accept_offer()->trip_id(), "accept_offer");
    case fbw::client_body::decline_offer:
      return read_trip_reason<decline_offer>(*root.body_as_decline_offer(), "decline_offer",
                                             limits);
    case fbw::client_body::arrived:
      return read_trip_only<arrived>(root.body_as_arrived()->trip_id(), "arrived");
    case fbw::client_body::start_trip: {
      const auto* m = root.body_as_start_trip();
      auto id = read_id(m->trip_id(), "start_trip.trip_id");
      if (!id) return id.err();
      auto pin = read_pin(m->pin());
      if (!pin) return pin.err();
      return client_body{start_trip{trip_id{*id}, std::move(*pin)}};
    }
    case fbw::client_body::complete_trip:
      return read_trip_only<complete_trip>(root.body_as_complete_trip()->trip_id(),
                                           "complete_trip");
    case fbw::client_body::cancel_trip:
      return read_trip_reason<cancel_trip>(*root.body_as_cancel_trip(), "cancel_trip", limits);
    case fbw::client_body::ping:
      return client_body{ping{root.body_as_ping()->nonce()}};
    case fbw::client_body::fleet_positions: {
      auto fleet = read_fleet(*root.body_as_fleet_positions(), limits);
      if (!fleet) return fleet.err();
      return client_body{std::move(*fleet)};
    }
    case fbw::client_body::nearby_batch: {
      auto batch = read_nearby(*root.body_as_nearby_batch(), limits);
      if (!batch) return batch.err();
      return client_body{std::move(*batch)};
    }
    default:
      break;
  }
  return error{errc::unknown_message, "unknown client message type " +
                                          std::to_string(static_cast<unsigned>(root.body_type()))};
}

}  // namespace

result<client_message> decode_client_binary(const std::uint8_t* data, std::size_t size,
                                            const codec_limits& limits) {
  const detail::aligned_frame frame(data, size);
  auto root = detail::verify_root<fbw::client_message>(frame, limits);
  if (!root) return root.err();
  // A required union is verified present, but its type tag may still be NONE.
  if ((*root)->body() == nullptr)
    return error{errc::missing_field, "client_message.body is missing"};
  auto body = read_body(**root, limits);
  if (!body) return body.err();
  return client_message{(*root)->seq(), std::move(*body)};
}

std::vector<std::uint8_t> encode_client_binary(const client_message& msg) {
  FlatBufferBuilder b(256);
  const auto [type, body] = std::visit(body_encoder{b}, msg.body);
  b.Finish(fbw::Createclient_message(b, msg.seq, type, body));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

}  // namespace rideshard::schemas
