// Analytics events (events.fbs): built from engine trips, written as the
// schema's JSON mapping for Kafka payloads, and parsed back strictly.
#include "rideshard/schemas/events.hpp"

#include <limits>
#include <tuple>

#include "codec_support.hpp"
#include "json_schema.hpp"
#include "rideshard/schemas/generated/events_generated.h"

namespace rideshard::schemas {
namespace {

namespace fbe = rideshard::events::v1;
using detail::json_schema;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

fbe::lat_lng to_fb(lat_lng p) { return fbe::lat_lng(p.lat, p.lng); }

Offset<flatbuffers::String> opt_string(FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

/// Renders a finished builder as one JSON line of root `root`.
result<std::string> render(const FlatBufferBuilder& b, const char* root) {
  auto& schema = json_schema::for_thread(json_schema::which::events);
  return schema.render(b.GetBufferPointer(), root, json_style::compact);
}

auto tie_event(const trip_lifecycle_event& e) {
  return std::tie(e.event_id, e.type, e.occurred_at_ms, e.trip, e.sequence, e.from, e.to, e.driver,
                  e.offered_to, e.rider, e.pickup, e.dropoff, e.driver_position, e.fare_minor,
                  e.fee_minor, e.currency, e.cancelled_by, e.reason);
}

}  // namespace

bool operator==(const trip_lifecycle_event& a, const trip_lifecycle_event& b) {
  return tie_event(a) == tie_event(b);
}

trip_event_type event_type_of(trip_event_kind kind) noexcept {
  switch (kind) {
    case trip_event_kind::offer:
      return trip_event_type::offered;
    case trip_event_kind::decline:
      return trip_event_type::declined;
    case trip_event_kind::offer_timeout:
      return trip_event_type::offer_timed_out;
    case trip_event_kind::accept:
      return trip_event_type::accepted;
    case trip_event_kind::arrive:
      return trip_event_type::driver_arrived;
    case trip_event_kind::start:
      return trip_event_type::started;
    case trip_event_kind::complete:
      return trip_event_type::completed;
    case trip_event_kind::cancel:
      return trip_event_type::cancelled;
    case trip_event_kind::expire:
      return trip_event_type::expired;
  }
  return trip_event_type::requested;
}

std::string_view to_string(trip_event_type type) noexcept {
  const auto v = static_cast<fbe::trip_event_type>(type);
  if (v < fbe::trip_event_type::MIN || v > fbe::trip_event_type::MAX) return "unknown";
  return fbe::EnumNametrip_event_type(v);
}

std::string cell_key(std::uint64_t cell) { return "c-" + std::to_string(cell); }

trip_lifecycle_event make_trip_event(const trip& t, trip_event_type type, trip_state from,
                                     std::int64_t occurred_at_ms) {
  trip_lifecycle_event ev;
  ev.event_id = to_string(t.id) + "-" + std::to_string(t.sequence);
  ev.type = type;
  ev.occurred_at_ms = occurred_at_ms;
  ev.trip = t.id;
  ev.sequence = t.sequence;
  ev.from = from;
  ev.to = t.state;
  ev.driver = t.driver;
  ev.offered_to = t.offered_to;
  ev.rider = t.rider;
  ev.pickup = t.pickup;
  ev.dropoff = t.dropoff;
  ev.fee_minor = t.cancel_fee_minor;
  ev.cancelled_by = t.cancelled_by;
  ev.reason = t.cancel_reason;
  return ev;
}

result<std::string> encode_trip_event_json(const trip_lifecycle_event& ev) {
  FlatBufferBuilder b(512);
  auto id = b.CreateString(ev.event_id);
  auto currency = opt_string(b, ev.currency);
  auto reason = opt_string(b, ev.reason);
  const auto pickup = to_fb(ev.pickup), dropoff = to_fb(ev.dropoff);
  const auto driver_pos = to_fb(ev.driver_position.value_or(lat_lng{}));
  b.Finish(fbe::Createtrip_event(
      b, id, static_cast<fbe::trip_event_type>(ev.type), events_schema_version, ev.occurred_at_ms,
      ev.trip.value, ev.sequence, static_cast<fbe::trip_state>(ev.from),
      static_cast<fbe::trip_state>(ev.to), ev.driver.value, ev.offered_to.value, ev.rider.value,
      &pickup, &dropoff, ev.driver_position ? &driver_pos : nullptr, ev.fare_minor, ev.fee_minor,
      currency, static_cast<fbe::party>(ev.cancelled_by), reason));
  return render(b, "trip_event");
}

result<std::string> encode_driver_location_json(const driver_location_event& ev) {
  FlatBufferBuilder b(256);
  auto id = b.CreateString(ev.event_id);
  const auto pos = to_fb(ev.position);
  b.Finish(fbe::Createdriver_location_event(
      b, id, events_schema_version, ev.occurred_at_ms, ev.driver.value, &pos, ev.heading_deg,
      ev.speed_mps, ev.cell, ev.available, ev.sequence, fbe::driver_location_event_type::sampled));
  return render(b, "driver_location_event");
}

result<std::string> encode_quote_event_json(const quote_event& ev) {
  FlatBufferBuilder b(256);
  auto id = b.CreateString(ev.event_id);
  auto currency = opt_string(b, ev.currency);
  const auto pickup = to_fb(ev.pickup), dropoff = to_fb(ev.dropoff);
  b.Finish(fbe::Createquote_event(b, id, events_schema_version, ev.occurred_at_ms, ev.quote.value,
                                  ev.rider.value, &pickup, &dropoff, ev.total_minor, currency,
                                  ev.surge_per_mille, ev.pickup_eta_s, ev.cell, ev.sequence,
                                  fbe::quote_event_type::issued));
  return render(b, "quote_event");
}

result<std::string> encode_surge_event_json(const surge_event& ev) {
  FlatBufferBuilder b(128);
  auto id = b.CreateString(ev.event_id);
  b.Finish(fbe::Createsurge_event(b, id, events_schema_version, ev.occurred_at_ms, ev.cell,
                                  ev.surge_per_mille, ev.open_requests, ev.available_drivers,
                                  ev.window_ms, ev.sequence, fbe::surge_event_type::updated));
  return render(b, "surge_event");
}

result<trip_lifecycle_event> decode_trip_event_json(std::string_view text) {
  auto& schema = json_schema::for_thread(json_schema::which::events);
  auto parsed = schema.parse(text, "trip_event", std::numeric_limits<std::size_t>::max());
  if (!parsed) return parsed.err();
  codec_limits limits;
  limits.max_frame_bytes = std::numeric_limits<std::size_t>::max();
  const detail::aligned_frame frame(parsed->data, parsed->size);
  auto root = detail::verify_root<fbe::trip_event>(frame, limits);
  if (!root) return error{errc::bad_json, root.err().message};
  const fbe::trip_event& m = **root;

  trip_lifecycle_event ev;
  auto id = detail::read_text(m.event_id(), "event_id", 256, true);
  if (!id) return id.err();
  ev.event_id = std::move(*id);
  auto type = detail::read_enum<trip_event_type>(m.event_type(), 10, "event_type");
  auto from = detail::read_enum<trip_state>(m.from_state(), detail::trip_state_count, "from");
  auto to = detail::read_enum<trip_state>(m.to_state(), detail::trip_state_count, "to");
  auto by = detail::read_enum<party>(m.cancelled_by(), detail::party_count, "cancelled_by");
  if (!type) return type.err();
  if (!from) return from.err();
  if (!to) return to.err();
  if (!by) return by.err();
  ev.type = *type;
  ev.from = *from;
  ev.to = *to;
  ev.cancelled_by = *by;
  ev.occurred_at_ms = m.occurred_at_ms();
  ev.trip = trip_id{m.trip_id()};
  ev.sequence = m.sequence();
  ev.driver = driver_id{m.driver_id()};
  ev.offered_to = driver_id{m.offered_to()};
  ev.rider = rider_id{m.rider_id()};
  for (auto [fb, out, name] : {std::tuple{m.pickup(), &ev.pickup, "pickup"},
                               std::tuple{m.dropoff(), &ev.dropoff, "dropoff"}}) {
    if (fb == nullptr) continue;
    auto p = detail::read_position(fb->lat(), fb->lng(), name);
    if (!p) return p.err();
    *out = *p;
  }
  if (const auto* p = m.driver_position()) {
    auto pos = detail::read_position(p->lat(), p->lng(), "driver_position");
    if (!pos) return pos.err();
    ev.driver_position = *pos;
  }
  ev.fare_minor = m.fare_minor();
  ev.fee_minor = m.fee_minor();
  auto currency = detail::read_text(m.currency(), "currency", 16, false);
  auto reason = detail::read_text(m.reason(), "reason", 1024, false);
  if (!currency) return currency.err();
  if (!reason) return reason.err();
  ev.currency = std::move(*currency);
  ev.reason = std::move(*reason);
  return ev;
}

}  // namespace rideshard::schemas
