// The non-trip Kafka payloads (driver locations, quotes, surge): every contract
// field of docs/events.md present with its JSON type; type names and cell keys.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "rideshard/schemas/events.hpp"
#include "sample_messages.hpp"

using namespace rideshard;
using namespace rideshard::schemas;
using nlohmann::json;

namespace {

/// Parses a payload, checking it is one line and carries the common fields.
json parse_common(const result<std::string>& payload, std::string_view type) {
  REQUIRE_MESSAGE(payload.ok(), payload.err().message);
  CHECK(payload->find('\n') == std::string::npos);
  json j = json::parse(*payload);
  CHECK(j.at("event_id").is_string());
  CHECK(j.at("event_type") == type);
  CHECK(j.at("schema_version") == events_schema_version);
  CHECK(j.at("occurred_at_ms").is_number_integer());
  CHECK(j.at("sequence").is_number_unsigned());
  return j;
}

}  // namespace

TEST_CASE("driver location payload: per-driver sequence and event_type") {
  driver_location_event ev{
      "d-7-12", 1718000001000, samples::driver, samples::nearby, 90.0f, 8.5f, 123456, true, 12};
  json j = parse_common(encode_driver_location_json(ev), driver_location_event_type);
  CHECK(j.at("event_id") == "d-7-12");
  CHECK(j.at("sequence") == 12);
  CHECK(j.at("driver_id") == samples::driver.value);
  CHECK(j.at("position").at("lat") == doctest::Approx(samples::nearby.lat));
  CHECK(j.at("cell_id") == 123456);
  CHECK(j.at("available") == true);
  CHECK(j.at("heading_deg") == doctest::Approx(90.0));
}

TEST_CASE("quote payload: carries its pickup cell and per-cell sequence") {
  quote_event ev{"q-5",
                 1718000000000,
                 quote_id{5},
                 samples::rider,
                 samples::pickup,
                 samples::dropoff,
                 2489,
                 "USD",
                 1200,
                 240,
                 987654321,
                 3};
  json j = parse_common(encode_quote_event_json(ev), quote_event_type);
  CHECK(j.at("cell_id") == 987654321);
  CHECK(j.at("sequence") == 3);
  CHECK(j.at("quote_id") == 5);
  CHECK(j.at("total_minor") == 2489);
  CHECK(j.at("currency") == "USD");
  CHECK(j.at("surge_per_mille") == 1200);
  CHECK(j.at("pickup").at("lng") == doctest::Approx(samples::pickup.lng));
}

TEST_CASE("surge payload: per-cell sequence and window") {
  surge_event ev{"c-77-4", 1718000000000, 77, 1500, 40, 12, 60000, 4};
  json j = parse_common(encode_surge_event_json(ev), surge_event_type);
  CHECK(j.at("cell_id") == 77);
  CHECK(j.at("sequence") == 4);
  CHECK(j.at("surge_per_mille") == 1500);
  CHECK(j.at("window_ms") == 60000);
}

TEST_CASE("a default-valued event still writes every field") {
  json j = parse_common(encode_surge_event_json(surge_event{"c-1-0", 0, 0, 1000, 0, 0, 0, 0}),
                        surge_event_type);
  for (const char* field : {"cell_id", "open_requests", "available_drivers", "window_ms"}) {
    CAPTURE(field);
    CHECK(j.contains(field));
  }
}

TEST_CASE("trip event type names and cell keys") {
  CHECK(to_string(trip_event_type::requested) == "requested");
  CHECK(to_string(trip_event_type::offer_timed_out) == "offer_timed_out");
  CHECK(to_string(trip_event_type::expired) == "expired");
  CHECK(to_string(static_cast<trip_event_type>(200)) == "unknown");
  CHECK(cell_key(77) == "c-77");
  CHECK(cell_key(0) == "c-0");
}
