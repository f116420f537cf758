// The engine's topic list and the CloudEvents-style headers of its events.
#include "rideshard/persistence/topics.hpp"

#include <cstdio>
#include <ctime>

#include "cloud_event.hpp"
#include "rideshard/schemas/events.hpp"

namespace rideshard::persistence {

std::vector<topic_spec> engine_topics(int partitions, int replication_factor) {
  std::vector<topic_spec> out;
  for (const char* name : {trip_events_topic, driver_locations_topic, quotes_topic, surge_topic,
                           payment_events_topic, admin_audit_topic, fraud_events_topic})
    out.push_back({name, partitions, replication_factor, {}});
  return out;
}

std::vector<topic_spec> cluster_topics(int shard_groups, int replication_factor) {
  const int min_isr = replication_factor > 1 ? replication_factor - 1 : 1;
  return {{shard_groups_topic, shard_groups, replication_factor, {}},
          {trip_changelog_topic,
           shard_groups,
           replication_factor,
           {{"cleanup.policy", "compact"}, {"min.insync.replicas", std::to_string(min_isr)}}}};
}

bool is_analytics_topic(std::string_view topic) noexcept {
  return topic == driver_locations_topic || topic == quotes_topic || topic == surge_topic;
}

std::string rfc3339_utc(std::int64_t epoch_ms) {
  // Floor division so times before 1970 keep a positive millisecond part.
  std::int64_t secs = epoch_ms / 1000, ms = epoch_ms % 1000;
  if (ms < 0) ms += 1000, --secs;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
  return out + frac;
}

std::vector<std::pair<std::string, std::string>> cloud_event_headers(const std::string& id,
                                                                     const std::string& type,
                                                                     std::int64_t occurred_at_ms,
                                                                     const std::string& subject) {
  return {{"ce_specversion", "1.0"},
          {"ce_id", id},
          {"ce_source", "rideshard"},
          {"ce_type", type},
          {"ce_time", rfc3339_utc(occurred_at_ms)},
          {"ce_subject", subject},
          {"content-type", "application/json"},
          {"schema_version", std::to_string(schemas::events_schema_version)}};
}

}  // namespace rideshard::persistence
