// Stored records (records.fbs) <-> engine trip and driver/rider records. Every
// read is verified: a corrupt value is malformed_buffer, never a crash.
#include "rideshard/schemas/records.hpp"

#include <limits>
#include <tuple>

#include "codec_support.hpp"
#include "rideshard/schemas/generated/records_generated.h"

namespace rideshard::schemas {
namespace {

namespace fbr = rideshard::records::v1;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

fbr::lat_lng to_fb(lat_lng p) { return fbr::lat_lng(p.lat, p.lng); }

Offset<flatbuffers::String> opt_string(FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

std::vector<std::uint8_t> bytes(const FlatBufferBuilder& b) {
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

/// Records are trusted to be ours, so no frame cap; verifier limits still apply.
codec_limits record_limits() {
  codec_limits l;
  l.max_frame_bytes = std::numeric_limits<std::size_t>::max();
  l.max_tables = 64;
  return l;
}

/// Any defect in a stored record is reported as malformed_buffer.
error corrupt(const error& e) { return error{errc::malformed_buffer, "record: " + e.message}; }

}  // namespace

bool operator==(const driver_record& a, const driver_record& b) {
  return std::tie(a.id, a.status, a.last_position, a.last_seen_ms, a.current_trip,
                  a.trips_completed) == std::tie(b.id, b.status, b.last_position, b.last_seen_ms,
                                                 b.current_trip, b.trips_completed);
}

bool operator==(const rider_record& a, const rider_record& b) {
  return std::tie(a.id, a.current_trip, a.trips_completed, a.unpaid_fees_minor) ==
         std::tie(b.id, b.current_trip, b.trips_completed, b.unpaid_fees_minor);
}

std::vector<std::uint8_t> encode_trip_record(const trip& t) {
  FlatBufferBuilder b(256);
  auto pin = opt_string(b, t.pin);
  auto reason = opt_string(b, t.cancel_reason);
  const auto pickup = to_fb(t.pickup), dropoff = to_fb(t.dropoff);
  b.Finish(fbr::Createtrip_record(
      b, records_schema_version, t.id.value, t.rider.value, t.driver.value, t.offered_to.value,
      static_cast<fbr::trip_state>(t.state), &pickup, &dropoff, pin, t.requested_at_ms,
      t.offer_deadline_ms, t.accepted_at_ms, t.arrived_at_ms, t.started_at_ms, t.ended_at_ms,
      t.offers_made, t.sequence, static_cast<fbr::party>(t.cancelled_by), reason,
      t.cancel_fee_minor, t.surge_permille, t.quoted_fare_minor, t.hold_minor));
  return bytes(b);
}

result<trip> decode_trip_record(const std::uint8_t* data, std::size_t size) {
  const detail::aligned_frame frame(data, size);
  auto root = detail::verify_root<fbr::trip_record>(frame, record_limits());
  if (!root) return corrupt(root.err());
  const fbr::trip_record& r = **root;
  trip t;
  t.id = trip_id{r.id()};
  t.rider = rider_id{r.rider()};
  t.driver = driver_id{r.driver()};
  t.offered_to = driver_id{r.offered_to()};
  auto state = detail::read_enum<trip_state>(r.state(), detail::trip_state_count, "state");
  if (!state) return corrupt(state.err());
  t.state = *state;
  auto pickup = detail::read_position(r.pickup()->lat(), r.pickup()->lng(), "pickup");
  if (!pickup) return pickup.err();
  auto dropoff = detail::read_position(r.dropoff()->lat(), r.dropoff()->lng(), "dropoff");
  if (!dropoff) return dropoff.err();
  t.pickup = *pickup;
  t.dropoff = *dropoff;
  auto pin = detail::read_text(r.pin(), "pin", 64, false);
  if (!pin) return corrupt(pin.err());
  t.pin = std::move(*pin);
  t.requested_at_ms = r.requested_at_ms();
  t.offer_deadline_ms = r.offer_deadline_ms();
  t.accepted_at_ms = r.accepted_at_ms();
  t.arrived_at_ms = r.arrived_at_ms();
  t.started_at_ms = r.started_at_ms();
  t.ended_at_ms = r.ended_at_ms();
  t.offers_made = r.offers_made();
  t.sequence = r.sequence();
  auto by = detail::read_enum<party>(r.cancelled_by(), detail::party_count, "cancelled_by");
  if (!by) return corrupt(by.err());
  t.cancelled_by = *by;
  auto reason = detail::read_text(r.cancel_reason(), "cancel_reason", 64 * 1024, false);
  if (!reason) return corrupt(reason.err());
  t.cancel_reason = std::move(*reason);
  t.cancel_fee_minor = r.cancel_fee_minor();
  t.surge_permille = r.surge_permille();
  t.quoted_fare_minor = r.quoted_fare_minor();
  t.hold_minor = r.hold_minor();
  return t;
}

std::vector<std::uint8_t> encode_driver_record(const driver_record& d) {
  FlatBufferBuilder b(128);
  const auto pos = to_fb(d.last_position.value_or(lat_lng{}));
  b.Finish(fbr::Createdriver_record(
      b, records_schema_version, d.id.value, static_cast<fbr::driver_status>(d.status),
      d.last_position ? &pos : nullptr, d.last_seen_ms, d.current_trip.value, d.trips_completed));
  return bytes(b);
}

result<driver_record> decode_driver_record(const std::uint8_t* data, std::size_t size) {
  const detail::aligned_frame frame(data, size);
  auto root = detail::verify_root<fbr::driver_record>(frame, record_limits());
  if (!root) return corrupt(root.err());
  const fbr::driver_record& r = **root;
  driver_record d;
  d.id = driver_id{r.id()};
  auto status = detail::read_enum<driver_status>(r.status(), 4, "status");
  if (!status) return corrupt(status.err());
  d.status = *status;
  if (const auto* p = r.last_position()) {
    auto pos = detail::read_position(p->lat(), p->lng(), "last_position");
    if (!pos) return pos.err();
    d.last_position = *pos;
  }
  d.last_seen_ms = r.last_seen_ms();
  d.current_trip = trip_id{r.current_trip()};
  d.trips_completed = r.trips_completed();
  return d;
}

std::vector<std::uint8_t> encode_rider_record(const rider_record& r) {
  FlatBufferBuilder b(64);
  b.Finish(fbr::Createrider_record(b, records_schema_version, r.id.value, r.current_trip.value,
                                   r.trips_completed, r.unpaid_fees_minor));
  return bytes(b);
}

result<rider_record> decode_rider_record(const std::uint8_t* data, std::size_t size) {
  const detail::aligned_frame frame(data, size);
  auto root = detail::verify_root<fbr::rider_record>(frame, record_limits());
  if (!root) return corrupt(root.err());
  const fbr::rider_record& r = **root;
  return rider_record{rider_id{r.id()}, trip_id{r.current_trip()}, r.trips_completed(),
                      r.unpaid_fees_minor()};
}

}  // namespace rideshard::schemas
