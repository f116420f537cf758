// write_batch: collecting the writes of one acknowledged change.
#include "rideshard/persistence/write_batch.hpp"

#include <string>

#include "cloud_event.hpp"

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

void write_batch::add_transfers(std::vector<transfer> chain) {
  transfers_.push_back(std::move(chain));
}

void write_batch::append(write_batch&& other) {
  auto move_all = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    from.clear();
  };
  move_all(entities_, other.entities_);
  move_all(erases_, other.erases_);
  move_all(journal_, other.journal_);
  move_all(events_, other.events_);
  move_all(transfers_, other.transfers_);
  sync_ = sync_ || other.sync_;
}

write_batch write_batch::without_events() const {
  write_batch out;
  out.entities_ = entities_;
  out.erases_ = erases_;
  out.journal_ = journal_;
  out.transfers_ = transfers_;
  out.sync_ = sync_;
  return out;
}

result<void> write_batch::add_trip_event(const schemas::trip_lifecycle_event& ev) {
  return add_encoded(trip_events_topic, to_string(ev.trip),
                     {ev.event_id, "rideshard.trip." + std::string(schemas::to_string(ev.type)),
                      ev.occurred_at_ms},
                     schemas::encode_trip_event_json(ev));
}

result<void> write_batch::add_driver_location_event(const schemas::driver_location_event& ev) {
  return add_encoded(
      driver_locations_topic, to_string(ev.driver),
      {ev.event_id, "rideshard.driver_location." + std::string(schemas::driver_location_event_type),
       ev.occurred_at_ms},
      schemas::encode_driver_location_json(ev));
}

result<void> write_batch::add_quote_event(const schemas::quote_event& ev) {
  return add_encoded(
      quotes_topic, schemas::cell_key(ev.cell),
      {ev.event_id, "rideshard.quote." + std::string(schemas::quote_event_type), ev.occurred_at_ms},
      schemas::encode_quote_event_json(ev));
}

result<void> write_batch::add_surge_event(const schemas::surge_event& ev) {
  return add_encoded(
      surge_topic, schemas::cell_key(ev.cell),
      {ev.event_id, "rideshard.surge." + std::string(schemas::surge_event_type), ev.occurred_at_ms},
      schemas::encode_surge_event_json(ev));
}

result<void> write_batch::add_json_event(const char* topic, std::string key,
                                         const std::string& event_id, std::string type,
                                         std::int64_t occurred_at_ms, std::string payload) {
  if (topic == nullptr || *topic == '\0' || key.empty())
    return error{errc::invalid_argument, "event needs a topic and a key"};
  return add_encoded(topic, std::move(key), {event_id, std::move(type), occurred_at_ms},
                     std::move(payload));
}

result<void> write_batch::add_encoded(const char* topic, std::string key, const event_meta& meta,
                                      result<std::string> payload) {
  if (meta.id.empty()) return error{errc::invalid_argument, "event needs an event_id"};
  if (!payload) return payload.err();
  outbox_event out;
  out.topic = topic;
  out.payload = std::move(*payload);
  out.headers = cloud_event_headers(meta.id, meta.type, meta.occurred_at_ms, key);
  out.key = std::move(key);
  events_.push_back(std::move(out));
  return {};
}

}  // namespace rideshard::persistence
