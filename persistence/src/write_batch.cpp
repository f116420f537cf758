// write_batch: collecting the writes of one acknowledged change.
#include "rideshard/persistence/write_batch.hpp"

#include <string>

namespace rideshard::persistence {

bool operator==(const outbox_event& a, const outbox_event& b) {
  return a.topic == b.topic && a.key == b.key && a.payload == b.payload && a.headers == b.headers;
}

void write_batch::put_entity(entity_kind kind, std::uint64_t id, std::uint64_t sequence,
                             std::vector<std::uint8_t> value) {
  entities_.push_back({kind, id, sequence, std::move(value)});
}

void write_batch::put_trip(const trip& t) {
  put_entity(entity_kind::trip, t.id.value, t.sequence, schemas::encode_trip_record(t));
}

void write_batch::put_driver(const schemas::driver_record& r) {
  put_entity(entity_kind::driver, r.id.value, 0, schemas::encode_driver_record(r));
}

void write_batch::put_rider(const schemas::rider_record& r) {
  put_entity(entity_kind::rider, r.id.value, 0, schemas::encode_rider_record(r));
}

void write_batch::erase_entity(entity_kind kind, std::uint64_t id) {
  erases_.push_back({kind, id});
}

void write_batch::append_journal(trip_id trip, std::uint64_t sequence,
                                 std::vector<std::uint8_t> value) {
  journal_.push_back({trip, sequence, std::move(value)});
}

void write_batch::append_trip_journal(const trip& t) {
  append_journal(t.id, t.sequence, schemas::encode_trip_record(t));
}

void write_batch::add_event(outbox_event ev) { events_.push_back(std::move(ev)); }

result<void> write_batch::add_trip_event(const schemas::trip_lifecycle_event& ev) {
  auto json = schemas::encode_trip_event_json(ev);
  if (!json) return json.err();
  outbox_event out;
  out.topic = trip_events_topic;
  out.key = to_string(ev.trip);
  out.payload = std::move(*json);
  // CloudEvents binary-mode header names (ce_*), as Kafka bindings spell them.
  out.headers = {{"ce_specversion", "1.0"},
                 {"ce_id", ev.event_id},
                 {"ce_source", "rideshard"},
                 {"ce_type", "rideshard.trip." + std::to_string(static_cast<int>(ev.type))},
                 {"ce_time_ms", std::to_string(ev.occurred_at_ms)},
                 {"content-type", "application/json"},
                 {"schema_version", std::to_string(schemas::events_schema_version)}};
  events_.push_back(std::move(out));
  return {};
}

}  // namespace rideshard::persistence
