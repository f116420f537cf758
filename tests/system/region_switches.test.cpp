// Region switches survive a restart of the built binary: an admin pauses
// dispatch and freezes surge in nyc, the node is stopped and started again on
// the same data directory, and both switches are still on (the overview says
// so and a ride request is refused with dispatch_paused) until they are turned
// off — which a second restart keeps too. Their record is a row of its own,
// written with each flip's audit entry: a start reads that row, not the audit
// log (the audit rows deleted, the switches still come back), and a store from
// before the row gets it from the audit log once (the row deleted, it is
// rebuilt, and then the log is no longer needed).
#include <doctest/doctest.h>

#include <string>

#include "http_call.hpp"
#include "node_process.hpp"
#include "rideshard/persistence/store.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;

namespace {

constexpr const char* test_secret = "region-switches-system-test-secret-0123456789";
const std::string ride =
    R"({"pickup":{"lat":40.754,"lng":-73.984},"dropoff":{"lat":40.774,"lng":-73.974}})";

nlohmann::json nyc(unsigned short port, const std::string& admin) {
  auto o = http_call(port, http::verb::get, "/api/admin/overview", admin);
  REQUIRE(o.status == 200);
  for (const auto& r : o.body["regions"])
    if (r["name"] == "nyc") return r;
  FAIL("no nyc region in the overview");
  return {};
}

int flip(unsigned short port, const std::string& admin, const std::string& what) {
  return http_call(port, http::verb::post, "/api/admin/regions/nyc/" + what, admin).status;
}

// Deletes every row of `kind` from the stopped node's store; returns how many.
std::size_t erase_all(const std::string& dir, persistence::entity_kind kind) {
  persistence::store_options o;
  o.path = dir;
  o.create_if_missing = false;
  auto s = persistence::store::open(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  auto rows = (*s)->load_entities(kind);
  REQUIRE(rows.ok());
  persistence::write_batch b;
  for (const auto& r : *rows) b.erase_entity(kind, r.id);
  REQUIRE((*s)->commit(b).ok());
  return rows->size();
}

}  // namespace

TEST_CASE("paused dispatch and frozen surge hold across restarts until turned off") {
  const std::string dir = node_process::fresh_data_dir();
  const std::string admin = mint_token(test_secret, "ops", auth::role::admin);
  {
    node_process node(test_secret, dir);
    CHECK(nyc(node.port, admin)["dispatch_paused"] == false);
    REQUIRE(flip(node.port, admin, "pause-dispatch") == 200);
    REQUIRE(flip(node.port, admin, "freeze-surge") == 200);
    CHECK(flip(node.port, admin, "pause-dispatch-everywhere") == 404);  // no such switch
    CHECK(node.terminate() == 0);
  }
  {
    node_process node(test_secret, dir);
    const auto r = nyc(node.port, admin);
    CHECK(r["dispatch_paused"] == true);
    CHECK(r["surge_frozen"] == true);
    auto refused = http_call(node.port, http::verb::post, "/api/trips",
                             mint_token(test_secret, "r-71", auth::role::rider), ride);
    CHECK(refused.status == 503);
    CHECK(refused.body["error"]["code"] == "dispatch_paused");
    REQUIRE(flip(node.port, admin, "resume-dispatch") == 200);
    CHECK(node.kill9() == 137);  // not even a clean stop loses the acknowledged resume
  }
  {
    node_process node(test_secret, dir);
    const auto r = nyc(node.port, admin);
    CHECK(r["dispatch_paused"] == false);
    CHECK(r["surge_frozen"] == true);  // still frozen: only dispatch was resumed
    auto ok = http_call(node.port, http::verb::post, "/api/trips",
                        mint_token(test_secret, "r-72", auth::role::rider), ride);
    CHECK_MESSAGE(ok.status == 201, ok.text);
    REQUIRE(flip(node.port, admin, "unfreeze-surge") == 200);
    CHECK(nyc(node.port, admin)["surge_frozen"] == false);
    CHECK(node.terminate() == 0);
  }
}

TEST_CASE(
    "a start reads the switches' own record, not the audit log; an older store gets it once") {
  using persistence::entity_kind;
  const std::string dir = node_process::fresh_data_dir();
  const std::string admin = mint_token(test_secret, "ops", auth::role::admin);
  {
    node_process node(test_secret, dir);
    REQUIRE(flip(node.port, admin, "pause-dispatch") == 200);
    REQUIRE(flip(node.port, admin, "freeze-surge") == 200);
    REQUIRE(flip(node.port, admin, "unfreeze-surge") == 200);
    CHECK(node.terminate() == 0);
  }
  // The layout before the record: only the audit log holds the switches.
  CHECK(erase_all(dir, entity_kind::region_switches) == 1);
  {
    node_process node(test_secret, dir);  // folds the log once, writes the record
    const auto r = nyc(node.port, admin);
    CHECK(r["dispatch_paused"] == true);
    CHECK(r["surge_frozen"] == false);
    CHECK(node.terminate() == 0);
  }
  CHECK(erase_all(dir, entity_kind::admin_audit) >= 3);
  {
    node_process node(test_secret, dir);  // no audit entry left: the record alone
    const auto r = nyc(node.port, admin);
    CHECK(r["dispatch_paused"] == true);
    CHECK(r["surge_frozen"] == false);
    REQUIRE(flip(node.port, admin, "resume-dispatch") == 200);
    CHECK(node.terminate() == 0);
  }
  CHECK(erase_all(dir, entity_kind::admin_audit) == 1);  // just the resume
  {
    node_process node(test_secret, dir);
    CHECK(nyc(node.port, admin)["dispatch_paused"] == false);
    CHECK(node.terminate() == 0);
  }
}
