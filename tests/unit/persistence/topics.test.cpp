// Engine topics and the write_batch helpers for every topic: topic, key,
// CloudEvents-style headers, JSON payload, and a commit/read_outbox round trip.
#include <doctest/doctest.h>

#include <map>

#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

std::map<std::string, std::string> headers_of(const outbox_event& ev) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : ev.headers) out[k] = v;
  return out;
}

schemas::driver_location_event location() {
  return {"d-7-12", 1718000001234, driver_id{7}, {40.75, -73.98}, 90.0f, 8.5f, 4242, true, 12};
}
schemas::quote_event quote() {
  return {"q-5",
          1718000000000,
          quote_id{5},
          rider_id{9},
          {40.75, -73.98},
          {40.70, -74.0},
          2489,
          "USD",
          1200,
          240,
          4242,
          3};
}
schemas::surge_event surge() { return {"c-4242-4", 1718000060000, 4242, 1500, 40, 12, 60000, 4}; }

}  // namespace

TEST_CASE("engine_topics lists every versioned topic with the configured partitions") {
  auto topics = engine_topics(6);
  REQUIRE(topics.size() == 7);
  CHECK(topics[0].name == "rideshard.trip-events.v1");
  CHECK(topics[1].name == "rideshard.driver-locations.v1");
  CHECK(topics[2].name == "rideshard.quotes.v1");
  CHECK(topics[3].name == "rideshard.surge.v1");
  CHECK(topics[4].name == "rideshard.payment-events.v1");
  CHECK(topics[6].name == "rideshard.fraud-events.v1");
  CHECK(topics[5].name == "rideshard.admin-audit.v1");
  CHECK_FALSE(is_analytics_topic(topics[5].name));  // the audit trail is never dropped
  for (const auto& t : topics) {
    CHECK(t.partitions == 6);
    CHECK(t.replication_factor == 1);
  }
  CHECK(engine_topics(1, 3).at(2).replication_factor == 3);
}

TEST_CASE("each helper writes its topic, key and CloudEvents headers") {
  write_batch b;
  REQUIRE(b.add_driver_location_event(location()).ok());
  REQUIRE(b.add_quote_event(quote()).ok());
  REQUIRE(b.add_surge_event(surge()).ok());
  trip t;
  t.id = trip_id{42};
  t.sequence = 3;
  t.state = trip_state::accepted;
  REQUIRE(b.add_trip_event(schemas::make_trip_event(t, schemas::trip_event_type::accepted,
                                                    trip_state::offered, 1718000002000))
              .ok());
  REQUIRE(b.events().size() == 4);

  struct expect {
    const char* topic;
    const char* key;
    const char* id;
    const char* type;
    const char* time;
  };
  const expect want[] = {
      {driver_locations_topic, "d-7", "d-7-12", "rideshard.driver_location.sampled",
       "2024-06-10T06:13:21.234Z"},
      {quotes_topic, "c-4242", "q-5", "rideshard.quote.issued", "2024-06-10T06:13:20.000Z"},
      {surge_topic, "c-4242", "c-4242-4", "rideshard.surge.updated", "2024-06-10T06:14:20.000Z"},
      {trip_events_topic, "t-42", "t-42-3", "rideshard.trip.accepted", "2024-06-10T06:13:22.000Z"},
  };
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& ev = b.events()[i];
    CAPTURE(i);
    CHECK(ev.topic == want[i].topic);
    CHECK(ev.key == want[i].key);
    auto h = headers_of(ev);
    CHECK(h["ce_specversion"] == "1.0");
    CHECK(h["ce_id"] == want[i].id);
    CHECK(h["ce_source"] == "rideshard");
    CHECK(h["ce_type"] == want[i].type);
    CHECK(h["ce_time"] == want[i].time);
    CHECK(h["ce_subject"] == want[i].key);
    CHECK(h["content-type"] == "application/json");
    CHECK(h["schema_version"] == "1");
    CHECK(ev.payload.find(std::string("\"event_id\": \"") + want[i].id + "\"") !=
          std::string::npos);
  }
}

TEST_CASE("helpers reject events without an id or with bad text, adding nothing") {
  write_batch b;
  auto ev = location();
  ev.event_id.clear();
  CHECK(b.add_driver_location_event(ev).code() == errc::invalid_argument);
  auto q = quote();
  q.currency = "U\xff";
  CHECK(b.add_quote_event(q).code() == errc::bad_json);
  CHECK(b.empty());
}

TEST_CASE("events of every topic commit together and read back in order") {
  test::temp_dir dir;
  store_options o;
  o.path = dir.sub("db");
  o.sync = false;
  auto s = store::open(o);
  REQUIRE(s.ok());
  write_batch b;
  REQUIRE(b.add_driver_location_event(location()).ok());
  REQUIRE(b.add_quote_event(quote()).ok());
  REQUIRE(b.add_surge_event(surge()).ok());
  auto receipt = (*s)->commit(b);
  REQUIRE(receipt.ok());
  CHECK(receipt->events == 3);
  auto rows = (*s)->read_outbox(0, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(rows->at(i).event == b.events()[i]);
}
