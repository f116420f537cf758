// write_batch: everything one acknowledged change writes — entity snapshots,
// journal entries and outbox events — committed atomically by store::commit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/schemas/events.hpp"
#include "rideshard/schemas/records.hpp"

namespace rideshard::persistence {

/// Which entity a snapshot belongs to. Part of the on-disk key: never renumber.
enum class entity_kind : std::uint8_t { trip = 1, driver = 2, rider = 3 };

/// Topics written by the engine (versioned; see DESIGN.md "Kafka").
inline constexpr const char* trip_events_topic = "rideshard.trip-events.v1";

/// One event waiting in the outbox for the Kafka relay.
struct outbox_event {
  std::string topic;
  std::string key;      ///< Kafka message key (partitioning and per-key order)
  std::string payload;  ///< JSON
  std::vector<std::pair<std::string, std::string>> headers;
};
bool operator==(const outbox_event& a, const outbox_event& b);

/// A batch of writes for store::commit. A plain value; not thread-safe.
class write_batch {
 public:
  struct entity_put {
    entity_kind kind;
    std::uint64_t id;
    std::uint64_t sequence;  ///< journal sequence the snapshot includes
    std::vector<std::uint8_t> value;
  };
  struct entity_erase {
    entity_kind kind;
    std::uint64_t id;
  };
  struct journal_append {
    trip_id trip;
    std::uint64_t sequence;  ///< > 0; the trip's own sequence after the transition
    std::vector<std::uint8_t> value;
  };

  /// Snapshot of any entity as opaque bytes (normally a schemas record).
  void put_entity(entity_kind kind, std::uint64_t id, std::uint64_t sequence,
                  std::vector<std::uint8_t> value);
  /// Snapshot of a trip (schemas::encode_trip_record); sequence = t.sequence.
  void put_trip(const trip& t);
  void put_driver(const schemas::driver_record& r);
  void put_rider(const schemas::rider_record& r);
  void erase_entity(entity_kind kind, std::uint64_t id);
  /// Appends one journal entry for `trip` (normally the trip record after the step).
  void append_journal(trip_id trip, std::uint64_t sequence, std::vector<std::uint8_t> value);
  /// Appends the trip record `t` to its journal at t.sequence.
  void append_trip_journal(const trip& t);
  void add_event(outbox_event ev);
  /// JSON-encodes `ev` for trip_events_topic, keyed by trip id, with
  /// CloudEvents-style headers. Errors: bad_json (invalid UTF-8 in a string).
  [[nodiscard]] result<void> add_trip_event(const schemas::trip_lifecycle_event& ev);

  bool empty() const noexcept {
    return entities_.empty() && erases_.empty() && journal_.empty() && events_.empty();
  }
  const std::vector<entity_put>& entities() const noexcept { return entities_; }
  const std::vector<entity_erase>& erases() const noexcept { return erases_; }
  const std::vector<journal_append>& journal() const noexcept { return journal_; }
  const std::vector<outbox_event>& events() const noexcept { return events_; }

 private:
  std::vector<entity_put> entities_;
  std::vector<entity_erase> erases_;
  std::vector<journal_append> journal_;
  std::vector<outbox_event> events_;
};

}  // namespace rideshard::persistence
