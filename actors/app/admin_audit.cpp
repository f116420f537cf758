// node_storage's audit log: every acknowledged admin action (who, what, when,
// from where) in RocksDB and on rideshard.admin-audit.v1, read back for the
// console, and the region switches it left on, restored at start.
#include <algorithm>
#include <chrono>
#include <map>

#include <nlohmann/json.hpp>

#include "app/node_storage.hpp"
#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::app {

namespace {

// A stored entry: the same JSON as its rideshard.admin-audit.v1 event.
result<api::audit_entry> audit_entry_of(const persistence::entity_snapshot& s) {
  auto e = api::audit_entry_from_event(
      std::string_view(reinterpret_cast<const char*>(s.value.data()), s.value.size()));
  if (e) e->id = s.id;
  return e;
}

}  // namespace

result<void> node_storage::record_audit(api::audit_entry& e) {
  // Time-ordered ids, unique within this store: at least the previous id + 1.
  const auto floor =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()) *
      1000;
  auto prev = audit_seq_.load();
  do {
    e.id = std::max(prev + 1, floor);
  } while (!audit_seq_.compare_exchange_weak(prev, e.id));
  e.node = opts_.node_id;
  const nlohmann::json j{{"event_id", "audit-" + std::to_string(e.id)},
                         {"event_type", "action"},
                         {"schema_version", 1},
                         {"occurred_at_ms", e.at_ms},
                         {"sequence", e.id},
                         {"actor", e.actor},
                         {"action", e.action},
                         {"target", e.target},
                         {"from", e.from},
                         {"status", e.status},
                         {"node", e.node}};
  auto text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  persistence::write_batch b;
  b.put_entity(persistence::entity_kind::admin_audit, e.id, 0, {text.begin(), text.end()});
  if (auto ok =
          b.add_json_event(persistence::admin_audit_topic, e.actor, "audit-" + std::to_string(e.id),
                           "rideshard.admin.action", e.at_ms, text);
      !ok)
    return ok.err();
  if (auto ok = store_->commit(b); !ok) return ok.err();
  return {};
}

result<std::vector<api::audit_entry>> node_storage::recent_audit(std::size_t n,
                                                                 std::uint64_t before) const {
  // Newest first from the cursor, reading only the page's rows (an unreadable
  // row is skipped, so the page may come out one short).
  auto snaps = store_->load_entities_page(persistence::entity_kind::admin_audit, before, n, true);
  if (!snaps) return snaps.err();
  std::vector<api::audit_entry> out;
  for (const auto& s : *snaps) {
    auto e = audit_entry_of(s);
    if (!e) continue;
    if (e->node == 0) e->node = opts_.node_id;  // written before entries named their node
    out.push_back(std::move(*e));
  }
  if (!audit_window_) return out;
  return api::merge_audit_pages(std::move(out), audit_window_->page(n, before), n);
}

std::string node_storage::audit_scope() const { return audit_window_ ? "cluster" : "node"; }

std::string node_storage::audit_source() const {
  const std::string store = "this node's RocksDB store (" + opts_.data_dir + ")";
  if (!audit_window_) return store;
  const auto st = audit_follow_->state();
  std::string s = "every node: Kafka topic rideshard.admin-audit.v1 read back by this node (its " +
                  std::to_string(opts_.audit_window) + " newest entries";
  if (auto oldest = audit_window_->oldest(); oldest != 0)
    s += ", back to " + std::to_string(oldest);
  s += st.assigned ? "" : "; not following the topic yet: " + st.last_error;
  return s + "), merged with " + store;
}

result<std::vector<region_switch_state>> node_storage::region_switches_from_audit() const {
  auto snaps = store_->load_entities(persistence::entity_kind::admin_audit);
  if (!snaps) return snaps.err();
  // Oldest first (ids are time-ordered): the last acknowledged flip of each switch wins.
  std::map<std::string, region_switch_state> by_region;
  for (const auto& s : *snaps) {
    const auto got = audit_entry_of(s);
    if (!got) continue;
    const auto& e = *got;
    if (e.status != 200 || e.target.empty()) continue;
    const std::string prefix = "POST /api/admin/regions/{id}/";
    if (e.action.rfind(prefix, 0) != 0) continue;
    const std::string what = e.action.substr(prefix.size());
    auto& r = by_region[e.target];
    r.region = e.target;
    if (what == "pause-dispatch" || what == "resume-dispatch")
      r.dispatch_paused = what == "pause-dispatch";
    else if (what == "freeze-surge" || what == "unfreeze-surge")
      r.surge_frozen = what == "freeze-surge";
  }
  std::vector<region_switch_state> out;
  for (auto& [name, r] : by_region)
    if (r.dispatch_paused || r.surge_frozen) out.push_back(std::move(r));
  return out;
}

}  // namespace rideshard::app
