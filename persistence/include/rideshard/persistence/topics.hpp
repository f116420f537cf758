// The engine's Kafka topics (versioned names, keys) and the list the node creates
// at start-up. Payloads and headers: docs/events.md.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rideshard::persistence {

/// Trip lifecycle events, key "t-<trip id>" (schemas::trip_lifecycle_event).
inline constexpr const char* trip_events_topic = "rideshard.trip-events.v1";
/// Sampled driver positions, key "d-<driver id>" (schemas::driver_location_event).
inline constexpr const char* driver_locations_topic = "rideshard.driver-locations.v1";
/// Quotes, key "c-<pickup cell id>" (schemas::quote_event).
inline constexpr const char* quotes_topic = "rideshard.quotes.v1";
/// Surge per cell and window, key "c-<cell id>" (schemas::surge_event).
inline constexpr const char* surge_topic = "rideshard.surge.v1";
/// Payments (authorized, captured, voided, refunded, ...), key "p-<payment id>"
/// (actors/payments; pseudonymous ids and amounts only, never card data).
inline constexpr const char* payment_events_topic = "rideshard.payment-events.v1";
/// Admin console actions (who, what, when, from where), key: the admin's subject.
/// Never dropped by retention (docs/events.md).
inline constexpr const char* admin_audit_topic = "rideshard.admin-audit.v1";
/// Fraud review cases opened and resolved (actors/payments/fraud_desk), key = the subject.
inline constexpr const char* fraud_events_topic = "rideshard.fraud-events.v1";

// Cluster mode only (shard_ownership.hpp, trip_changelog.hpp); never in engine_topics().
/// Shard ownership: one partition per shard group, no records; the consumer
/// group's assignment of its partitions says which node owns which shard group.
inline constexpr const char* shard_groups_topic = "rideshard.shard-groups.v1";
/// The latest snapshot of each trip (schemas trip record), key "t-<trip id>",
/// partition = the trip's shard group; compacted; written in transactions.
inline constexpr const char* trip_changelog_topic = "rideshard.trip-changelog.v1";

/// Analytics topics (driver locations, quotes, surge): the embedded default's
/// retention may drop their undelivered rows (store::drop_analytics). Trip events
/// are never dropped.
bool is_analytics_topic(std::string_view topic) noexcept;

/// A topic the engine needs, created at start-up.
struct topic_spec {
  std::string name;
  int partitions = 3;
  int replication_factor = 1;
  /// Topic-level configs set at creation (e.g. {"cleanup.policy", "compact"}).
  std::vector<std::pair<std::string, std::string>> configs;
};

/// Every topic the engine writes, each with `partitions` partitions and
/// `replication_factor` replicas (values come from the node's [kafka] config).
/// Pass the result to create_topics(). Never empty; order is stable.
std::vector<topic_spec> engine_topics(int partitions, int replication_factor = 1);

/// The cluster's topics: shard_groups_topic and trip_changelog_topic, each with
/// one partition per shard group; the changelog compacted, with
/// min.insync.replicas = replication_factor - 1 (at least 1), so acks=all
/// survives one broker down.
std::vector<topic_spec> cluster_topics(int shard_groups, int replication_factor = 1);

}  // namespace rideshard::persistence
