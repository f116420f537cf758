// The console's cluster-wide audit log (api/audit_window): the newest entries of
// rideshard.admin-audit.v1 kept by (id, node) within a bound, paged newest first
// without skipping entries that share an id, and merged with this node's own
// store page without duplicates.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/audit_window.hpp"

using namespace rideshard;

namespace {

std::string event(std::uint64_t id, std::uint32_t node, const std::string& actor = "a-1") {
  return nlohmann::json{{"event_id", "audit-" + std::to_string(id)},
                        {"sequence", id},
                        {"occurred_at_ms", static_cast<std::int64_t>(id / 1000)},
                        {"actor", actor},
                        {"action", "POST /api/admin/regions/{id}/pause-dispatch"},
                        {"target", "nyc"},
                        {"from", "127.0.0.1"},
                        {"status", 200},
                        {"node", node}}
      .dump();
}

std::vector<std::pair<std::uint64_t, std::uint32_t>> keys(const std::vector<api::audit_entry>& v) {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> out;
  for (const auto& e : v) out.emplace_back(e.id, e.node);
  return out;
}

using kv = std::vector<std::pair<std::uint64_t, std::uint32_t>>;

}  // namespace

TEST_CASE("an audit event reads back as the entry the API lists") {
  auto e = api::audit_entry_from_event(event(1750000000000001, 3, "a-7"));
  REQUIRE(e.ok());
  CHECK(e->id == 1750000000000001);
  CHECK(e->node == 3);
  CHECK(e->actor == "a-7");
  CHECK(e->at_ms == 1750000000000);
  CHECK(e->target == "nyc");
  CHECK(e->status == 200);
  CHECK(api::audit_entry_from_event("[]").code() == errc::bad_json);
  CHECK(api::audit_entry_from_event(R"({"actor":"a-1"})").code() == errc::bad_json);
  CHECK(api::audit_entry_from_event("not json").code() == errc::bad_json);
}

TEST_CASE("the window keeps the newest entries by id, once each, within its bound") {
  api::audit_window w(4);
  for (std::uint64_t id : {10, 30, 20, 50, 40}) w.add(event(id, 1));
  w.add(event(40, 1));  // a relay's retry
  w.add(event(5, 2));   // older than everything kept: not taken
  w.add("garbage");
  CHECK(w.size() == 4);
  CHECK(w.oldest() == 20);
  CHECK(w.unreadable() == 1);
  CHECK(keys(w.page(10, 0)) == kv{{50, 1}, {40, 1}, {30, 1}, {20, 1}});
  CHECK(keys(w.page(2, 0)) == kv{{50, 1}, {40, 1}});
  CHECK(keys(w.page(2, 40)) == kv{{30, 1}, {20, 1}});
  CHECK(w.page(2, 20).empty());
  CHECK(w.page(0, 0).empty());
  w.add(event(60, 2));  // a newer one pushes the oldest out
  CHECK(w.oldest() == 30);
  CHECK(keys(w.page(1, 0)) == kv{{60, 2}});
}

TEST_CASE("entries of two nodes sharing an id stay on one page") {
  api::audit_window w(10);
  for (auto [id, node] : kv{{10, 1}, {20, 1}, {20, 2}, {30, 2}}) w.add(event(id, node));
  // A page of 2 ends on id 20: the other node's 20 comes along, so before=20 misses none.
  CHECK(keys(w.page(2, 0)) == kv{{30, 2}, {20, 2}, {20, 1}});
  CHECK(keys(w.page(2, 20)) == kv{{10, 1}});
}

TEST_CASE("a window page and this node's store page merge newest first without duplicates") {
  api::audit_window w(10);
  for (auto [id, node] : kv{{10, 2}, {20, 1}, {30, 2}}) w.add(event(id, node));
  std::vector<api::audit_entry> local;  // node 1's store: 20 also relayed, 40 not yet
  for (std::uint64_t id : {40, 20, 15}) local.push_back(*api::audit_entry_from_event(event(id, 1)));
  CHECK(keys(api::merge_audit_pages(local, w.page(3, 0), 3)) == kv{{40, 1}, {30, 2}, {20, 1}});
  CHECK(keys(api::merge_audit_pages(local, w.page(10, 0), 10)) ==
        kv{{40, 1}, {30, 2}, {20, 1}, {15, 1}, {10, 2}});
  CHECK(api::merge_audit_pages({}, {}, 5).empty());
}
