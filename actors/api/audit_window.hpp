// audit_window: the cluster's audit log as one node can show it. Every node
// publishes its audit entries to rideshard.admin-audit.v1; with a broker, `serve`
// follows that topic from near its end (persistence::topic_window) and add()s
// each record here. The window keeps the newest `max_entries` by id — a bound
// by construction, whatever the topic holds — and pages through them newest
// first. merge_audit_pages() joins a window page with this node's own store
// page (its newest entries may not have reached Kafka yet) without duplicates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_api.hpp"

namespace rideshard::api {

/// The audit entry of one rideshard.admin-audit.v1 payload (the JSON serve
/// writes: sequence = id, occurred_at_ms, actor, action, target, from, status,
/// node). Errors: bad_json (not an object, or no sequence).
[[nodiscard]] result<audit_entry> audit_entry_from_event(std::string_view payload);

/// Newest first by (id, node), no (node, id) twice, at most `n` — plus the
/// entries that share the last one's id, so that a `before=<id>` cursor skips
/// none of them.
std::vector<audit_entry> merge_audit_pages(std::vector<audit_entry> a, std::vector<audit_entry> b,
                                           std::size_t n);

/// Thread-safe.
class audit_window {
 public:
  explicit audit_window(std::size_t max_entries) : max_(max_entries) {}

  /// One record of the topic: kept if it is among the newest max_entries (a
  /// record seen twice — a relay's retry — is kept once). Unreadable payloads
  /// are counted and dropped.
  void add(std::string_view payload);
  /// Up to `n` entries with id < before (0: the newest), newest first, with
  /// the ties of the last one (see merge_audit_pages).
  std::vector<audit_entry> page(std::size_t n, std::uint64_t before) const;
  /// The oldest id kept, 0 when empty: older entries of other nodes are beyond
  /// the window (the topic still has them).
  std::uint64_t oldest() const;
  std::size_t size() const;
  std::uint64_t unreadable() const;

 private:
  using key = std::pair<std::uint64_t, std::uint32_t>;  // (id, node)
  const std::size_t max_;
  mutable std::mutex mu_;
  std::map<key, audit_entry> entries_;
  std::uint64_t unreadable_ = 0;
};

}  // namespace rideshard::api
