// Kafka event JSON payloads and RocksDB record encoding: round trips built from
// real engine trips, and corrupt records as typed errors.
#include <doctest/doctest.h>

#include <random>

#include "rideshard/schemas/events.hpp"
#include "rideshard/schemas/records.hpp"
#include "sample_messages.hpp"

using namespace rideshard;
using namespace rideshard::schemas;

namespace {

/// A trip driven through the engine's own state machine up to completion.
trip completed_trip() {
  trip t;
  t.id = samples::trip;
  t.rider = samples::rider;
  t.pickup = samples::pickup;
  t.dropoff = samples::dropoff;
  t.pin = "4821";
  t.requested_at_ms = 1718000000000;
  const trip_rules rules;
  const driver_id d = samples::driver;
  for (const trip_event& ev :
       {trip_event{trip_event_kind::offer, 1718000001000, d, "", party::system, ""},
        trip_event{trip_event_kind::accept, 1718000002000, d, "", party::system, ""},
        trip_event{trip_event_kind::arrive, 1718000300000, d, "", party::system, ""},
        trip_event{trip_event_kind::start, 1718000360000, d, "4821", party::system, ""},
        trip_event{trip_event_kind::complete, 1718001600000, d, "", party::system, ""}}) {
    auto tr = apply(t, ev, rules);
    REQUIRE_MESSAGE(tr.ok(), tr.err().message);
  }
  return t;
}

}  // namespace

TEST_CASE("trip events: JSON payload round-trips and carries the contract fields") {
  const trip t = completed_trip();
  REQUIRE(t.state == trip_state::completed);
  auto ev = make_trip_event(t, event_type_of(trip_event_kind::complete), trip_state::in_progress,
                            1718001600000);
  ev.fare_minor = 2489;
  ev.currency = "USD";
  ev.driver_position = samples::dropoff;
  CHECK(ev.event_id == to_string(t.id) + "-" + std::to_string(t.sequence));

  auto json = encode_trip_event_json(ev);
  REQUIRE(json.ok());
  for (const char* field :
       {"\"event_id\": ", "\"event_type\": \"completed\"", "\"schema_version\": 1",
        "\"occurred_at_ms\": 1718001600000", "\"from_state\": \"in_progress\"",
        "\"to_state\": \"completed\"", "\"sequence\": ", "\"fare_minor\": 2489"}) {
    CAPTURE(field);
    CHECK(json->find(field) != std::string::npos);
  }
  CHECK(json->find('\n') == std::string::npos);  // one line per Kafka record
  auto back = decode_trip_event_json(*json);
  REQUIRE_MESSAGE(back.ok(), back.err().message);
  CHECK(*back == ev);
}

TEST_CASE("trip events: cancellation carries party, reason and fee") {
  trip t = completed_trip();
  t.state = trip_state::cancelled;
  t.cancelled_by = party::rider;
  t.cancel_reason = "changed plans";
  t.cancel_fee_minor = 500;
  auto ev = make_trip_event(t, trip_event_type::cancelled, trip_state::driver_arrived, 5);
  auto json = encode_trip_event_json(ev);
  REQUIRE(json.ok());
  CHECK(json->find("\"cancelled_by\": \"rider\"") != std::string::npos);
  CHECK(json->find("\"fee_minor\": 500") != std::string::npos);
  auto back = decode_trip_event_json(*json);
  REQUIRE(back.ok());
  CHECK(*back == ev);
  CHECK(decode_trip_event_json("{\"event_type\": \"completed\"}").code() == errc::missing_field);
  CHECK(decode_trip_event_json("{\"event_id\": \"x\", \"bogus\": 1}").code() == errc::bad_json);
}

TEST_CASE("other events encode as one JSON line") {
  auto loc = encode_driver_location_json(
      {"d-1-99", 1718000001000, samples::driver, samples::nearby, 90.0f, 8.5f, 123456, true});
  REQUIRE(loc.ok());
  CHECK(loc->find("\"available\": true") != std::string::npos);
  auto q = encode_quote_event_json({"q-5", 1718000000000, quote_id{5}, samples::rider,
                                    samples::pickup, samples::dropoff, 2489, "USD", 1200, 240});
  REQUIRE(q.ok());
  CHECK(q->find("\"surge_per_mille\": 1200") != std::string::npos);
  auto s = encode_surge_event_json({"c-77-1", 1718000000000, 77, 1500, 40, 12, 60000});
  REQUIRE(s.ok());
  CHECK(s->find("\"available_drivers\": 12") != std::string::npos);
  CHECK(encode_quote_event_json({"q\xff", 0, {}, {}, {}, {}, 0, "", 1000, 0}).code() ==
        errc::bad_json);
}

TEST_CASE("trip records round-trip every field of the engine trip") {
  trip t = completed_trip();
  t.cancelled_by = party::driver;
  t.cancel_reason = "test";
  t.cancel_fee_minor = 123;
  const auto bytes = encode_trip_record(t);
  auto back = decode_trip_record(bytes.data(), bytes.size());
  REQUIRE(back.ok());
  const trip& r = *back;
  CHECK(r.id == t.id);
  CHECK(r.rider == t.rider);
  CHECK(r.driver == t.driver);
  CHECK(r.offered_to == t.offered_to);
  CHECK(r.state == t.state);
  CHECK(r.pickup == t.pickup);
  CHECK(r.dropoff == t.dropoff);
  CHECK(r.pin == t.pin);
  CHECK(r.requested_at_ms == t.requested_at_ms);
  CHECK(r.offer_deadline_ms == t.offer_deadline_ms);
  CHECK(r.accepted_at_ms == t.accepted_at_ms);
  CHECK(r.arrived_at_ms == t.arrived_at_ms);
  CHECK(r.started_at_ms == t.started_at_ms);
  CHECK(r.ended_at_ms == t.ended_at_ms);
  CHECK(r.offers_made == t.offers_made);
  CHECK(r.sequence == t.sequence);
  CHECK(r.cancelled_by == t.cancelled_by);
  CHECK(r.cancel_reason == t.cancel_reason);
  CHECK(r.cancel_fee_minor == t.cancel_fee_minor);
}

TEST_CASE("driver and rider records round-trip") {
  driver_record d{samples::driver, driver_status::on_trip, samples::nearby,
                  1718000031000,   samples::trip,          812};
  auto db = encode_driver_record(d);
  auto d2 = decode_driver_record(db.data(), db.size());
  REQUIRE(d2.ok());
  CHECK(*d2 == d);
  d.last_position.reset();
  db = encode_driver_record(d);
  d2 = decode_driver_record(db.data(), db.size());
  REQUIRE(d2.ok());
  CHECK(*d2 == d);

  rider_record r{samples::rider, trip_id{}, 17, 500};
  auto rb = encode_rider_record(r);
  auto r2 = decode_rider_record(rb.data(), rb.size());
  REQUIRE(r2.ok());
  CHECK(*r2 == r);
}

TEST_CASE("corrupt records are malformed_buffer") {
  const auto good = encode_trip_record(completed_trip());
  for (std::size_t n = 0; n + 4 < good.size(); ++n)
    CHECK(decode_trip_record(good.data(), n).code() == errc::malformed_buffer);
  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    std::vector<std::uint8_t> junk(static_cast<std::size_t>(rng() % 200));
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    CHECK_FALSE(decode_trip_record(junk.data(), junk.size()).ok());
    CHECK_FALSE(decode_driver_record(junk.data(), junk.size()).ok());
  }
}
