// CloudEvents-style Kafka headers (binary content mode, ce_* names) for outbox
// events (private; the header set is documented in docs/events.md).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rideshard::persistence {

/// "2024-06-10T06:13:20.123Z" (RFC 3339, UTC, milliseconds) for ce_time.
std::string rfc3339_utc(std::int64_t epoch_ms);

/// ce_specversion, ce_id, ce_source, ce_type, ce_time, ce_subject (the Kafka key),
/// content-type and schema_version, in that order.
std::vector<std::pair<std::string, std::string>> cloud_event_headers(const std::string& id,
                                                                     const std::string& type,
                                                                     std::int64_t occurred_at_ms,
                                                                     const std::string& subject);

}  // namespace rideshard::persistence
