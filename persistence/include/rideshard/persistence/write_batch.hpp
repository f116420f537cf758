// write_batch: everything one acknowledged change writes — entity snapshots,
// journal entries and outbox events — committed atomically by store::commit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/ledger.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/persistence/topics.hpp"
#include "rideshard/schemas/events.hpp"
#include "rideshard/schemas/records.hpp"

namespace rideshard::persistence {

/// Which entity a snapshot belongs to. Part of the on-disk key: never renumber.
enum class entity_kind : std::uint8_t {
  trip = 1,
  driver = 2,
  rider = 3,
  account = 4,
  payment = 5,         ///< an API payment record (actors/payments)
  payment_method = 6,  ///< a rider's card: vault token id, brand, last 4 (never the number)
  idempotency = 7,     ///< a stored Idempotency-Key answer, keyed by a hash of (caller, key)
  admin_audit = 8,     ///< an admin console action (JSON: who, what, when, from where)
  fraud_case = 9,      ///< a flagged account in the fraud review queue (actors/payments)
  ride_charge = 10,    ///< a ride's money at the PSP: intent, outcomes (actors/payments)
  /// Index of the ride_charge records that need an operator (id = trip; the
  /// largest id marks a store whose index is complete; actors/payments).
  ride_charge_attention = 11,
  /// The node's region switches as the admins left them (one record, id 1:
  /// JSON, every region with a switch ever flipped), written in the batch of the
  /// audit entry that flips one; start-up reads it instead of the audit log.
  region_switches = 12,
};

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
  // The add_*_event helpers JSON-encode an event for its topic (topics.hpp) with
  // its key and CloudEvents-style headers (docs/events.md). Errors: bad_json
  // (invalid UTF-8 in a string), invalid_argument (empty event_id).

  /// trip_events_topic, key "t-<trip>".
  [[nodiscard]] result<void> add_trip_event(const schemas::trip_lifecycle_event& ev);
  /// driver_locations_topic, key "d-<driver>".
  [[nodiscard]] result<void> add_driver_location_event(const schemas::driver_location_event& ev);
  /// quotes_topic, key "c-<pickup cell>".
  [[nodiscard]] result<void> add_quote_event(const schemas::quote_event& ev);
  /// surge_topic, key "c-<cell>".
  [[nodiscard]] result<void> add_surge_event(const schemas::surge_event& ev);

  /// An event whose JSON payload the caller encoded (e.g. payment events from
  /// actors/payments), with the same CloudEvents-style headers as the others
  /// (ce_type = `type`, ce_subject = `key`). Errors: invalid_argument (empty
  /// event_id, topic or key).
  [[nodiscard]] result<void> add_json_event(const char* topic, std::string key,
                                            const std::string& event_id, std::string type,
                                            std::int64_t occurred_at_ms, std::string payload);

  /// Adds a linked chain of ledger transfers (engine/ledger.hpp), applied all or
  /// nothing with the rest of this batch: store::commit validates every chain
  /// against the ledger (in commit order) and refuses the whole batch — trip
  /// transition, events and all — when one is invalid. A chain whose transfers
  /// all exist identically is a replay and writes nothing.
  void add_transfers(std::vector<transfer> chain);

  /// Whether store::commit waits for the WAL to reach the disk (true, the
  /// default: an acknowledged change survives an OS crash or power loss). false
  /// only for writes whose loss in such a crash is repaired from elsewhere —
  /// the ride charger's PSP records, rebuilt by reconcile() from the ledger and
  /// the PSP's answers replayed by idempotency key. Such a batch survives a
  /// process crash; a power cut may drop it, and then every later batch up to
  /// the next synced one too (a synced commit syncs the WAL up to itself, so
  /// never an older batch). The store's own sync = false overrides true.
  void set_sync(bool sync) noexcept { sync_ = sync; }
  bool sync() const noexcept { return sync_; }

  /// Moves every write of `other` to the end of this batch (group commit); the
  /// result is synced if either was.
  void append(write_batch&& other);
  /// A copy with every write but the outbox events (cluster mode: the events
  /// went to Kafka in the changelog transaction; the store's outbox must not
  /// publish them a second time).
  write_batch without_events() const;

  bool empty() const noexcept {
    return entities_.empty() && erases_.empty() && journal_.empty() && events_.empty() &&
           transfers_.empty();
  }
  const std::vector<entity_put>& entities() const noexcept { return entities_; }
  const std::vector<entity_erase>& erases() const noexcept { return erases_; }
  const std::vector<journal_append>& journal() const noexcept { return journal_; }
  const std::vector<outbox_event>& events() const noexcept { return events_; }
  const std::vector<std::vector<transfer>>& transfer_chains() const noexcept { return transfers_; }

 private:
  struct event_meta {
    const std::string& id;
    std::string type;
    std::int64_t occurred_at_ms;
  };
  result<void> add_encoded(const char* topic, std::string key, const event_meta& meta,
                           result<std::string> payload);

  std::vector<entity_put> entities_;
  std::vector<entity_erase> erases_;
  std::vector<journal_append> journal_;
  std::vector<outbox_event> events_;
  std::vector<std::vector<transfer>> transfers_;
  bool sync_ = true;
};

}  // namespace rideshard::persistence
