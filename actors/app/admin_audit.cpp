// node_storage's audit log: every acknowledged admin action (who, what, when,
// from where) in RocksDB and on rideshard.admin-audit.v1, read back for the
// console; and the region switches it leaves on, kept in their own record
// (written with the entry that flips one) and restored at start from it.
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

using switch_map = std::map<std::string, region_switch_state>;
constexpr std::uint64_t switches_record_id = 1;  // the one region_switches row

// Applies `e` to `regions` if it is an acknowledged region switch; false if not one.
bool apply_switch(switch_map& regions, const api::audit_entry& e) {
  const std::string prefix = "POST /api/admin/regions/{id}/";
  if (e.status != 200 || e.target.empty() || e.action.rfind(prefix, 0) != 0) return false;
  const std::string what = e.action.substr(prefix.size());
  const bool dispatch = what == "pause-dispatch" || what == "resume-dispatch";
  const bool surge = what == "freeze-surge" || what == "unfreeze-surge";
  if (!dispatch && !surge) return false;
  auto& r = regions[e.target];
  r.region = e.target;
  if (dispatch) r.dispatch_paused = what == "pause-dispatch";
  if (surge) r.surge_frozen = what == "freeze-surge";
  if (!r.dispatch_paused && !r.surge_frozen) regions.erase(e.target);  // both off: no row
  return true;
}

// The record: {"regions": [{"region", "dispatch_paused", "surge_frozen"}], "audit": id}
// (the audit entry it includes, 0 when none).
std::vector<std::uint8_t> encode_switches(const switch_map& regions, std::uint64_t audit_id) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, r] : regions)
    list.push_back({{"region", name},
                    {"dispatch_paused", r.dispatch_paused},
                    {"surge_frozen", r.surge_frozen}});
  const auto text = nlohmann::json{{"regions", list}, {"audit", audit_id}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return {text.begin(), text.end()};
}

result<switch_map> decode_switches(const std::vector<std::uint8_t>& bytes) {
  try {
    const auto j = nlohmann::json::parse(bytes.begin(), bytes.end());
    switch_map out;
    for (const auto& r : j.at("regions")) {
      region_switch_state s;
      s.region = r.at("region").get<std::string>();
      s.dispatch_paused = r.at("dispatch_paused").get<bool>();
      s.surge_frozen = r.at("surge_frozen").get<bool>();
      out[s.region] = s;
    }
    return out;
  } catch (const std::exception&) {
    return error{errc::bad_json, "stored region switches record is not readable"};
  }
}

}  // namespace

result<void> node_storage::load_region_switches() {
  auto row = store_->load_entity(persistence::entity_kind::region_switches, switches_record_id);
  if (!row) return row.err();
  if (*row) {
    auto regions = decode_switches((*row)->value);
    if (!regions) return regions.err();
    switches_ = std::move(*regions);
    switch_source_ = {};
    return {};
  }
  // A store from before the record: fold the audit log once (oldest first, ids
  // are time-ordered: the last acknowledged flip of each switch wins), then
  // write the record so later starts read only it.
  auto snaps = store_->load_entities(persistence::entity_kind::admin_audit);
  if (!snaps) return snaps.err();
  switch_map regions;
  std::uint64_t last = 0;
  for (const auto& s : *snaps)
    if (const auto e = audit_entry_of(s); e && apply_switch(regions, *e)) last = s.id;
  persistence::write_batch b;
  b.put_entity(persistence::entity_kind::region_switches, switches_record_id, 0,
               encode_switches(regions, last));
  if (auto ok = store_->commit(b); !ok) return ok.err();
  switches_ = std::move(regions);
  switch_source_ = {false, snaps->size()};
  return {};
}

std::vector<region_switch_state> node_storage::region_switches() const {
  std::lock_guard<std::mutex> lock{switches_mu_};
  std::vector<region_switch_state> out;
  for (const auto& [name, r] : switches_) out.push_back(r);
  return out;
}

result<void> node_storage::record_audit(api::audit_entry& e) {
  // A switch flip rewrites the switches' record in its entry's batch: one at a
  // time, so the record follows the entries' order.
  switch_map regions;
  std::unique_lock<std::mutex> flipping{switches_mu_, std::defer_lock};
  if (switch_map probe; apply_switch(probe, e)) {
    flipping.lock();
    regions = switches_;
    apply_switch(regions, e);
  }
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
  if (flipping.owns_lock())
    b.put_entity(persistence::entity_kind::region_switches, switches_record_id, 0,
                 encode_switches(regions, e.id));
  if (auto ok = store_->commit(b); !ok) return ok.err();
  if (flipping.owns_lock()) switches_ = std::move(regions);
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

}  // namespace rideshard::app
