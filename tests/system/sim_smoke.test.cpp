// System test: `rideshard serve` on 127.0.0.1:0 driven by the fleet simulator
// (actors/sim/) for a short, dense run; the run must request, match and complete
// rides without any protocol error, and — the riders having added sandbox test
// cards through the HTTP API — every ride is authorized and every completed one
// captured at the node's sandbox PSP, with no card number in the node's files or
// log. No timing thresholds are asserted.
#include <doctest/doctest.h>

#include "../unit/persistence/file_search.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "sim/card_client.hpp"
#include "test_tokens.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "rideshard/engine/region.hpp"
#include "sim/simulator.hpp"

using namespace rideshard;
using rideshard::system_test::node_process;
namespace http = boost::beast::http;

namespace {

constexpr const char* test_secret = "sim-smoke-system-test-secret-0123456789abcdef";

}  // namespace

TEST_CASE("the simulator requests, matches and completes rides against the real binary") {
  const std::string dir = node_process::fresh_data_dir();
  const std::string log = node_process::fresh_data_dir() + "/node.log";
  node_process node(test_secret, dir, log);
  auto regions =
      load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  REQUIRE(regions.ok());
  REQUIRE(!regions->empty());

  sim::sim_options o;
  o.port = std::to_string(node.port);
  o.jwt_secret = test_secret;
  o.drivers = 50;
  o.riders_per_minute = 60;
  o.duration_s = 15;
  o.drain_s = 30;      // trips matched late get time to finish; ends early when none is left
  o.time_scale = 5;    // cars cover 40-60 m/s on the wire
  o.area_m = 2000;     // a dense 2 km square around the busiest hotspot
  o.max_trip_m = 800;  // short rides so that several complete within the run
  o.id_base = 1'000'000;
  auto rep = sim::run_simulation(o, regions->front(), stderr);
  REQUIRE(rep.ok());
  sim::print_summary(stdout, *rep);

  // A completed ride and its receipt imply a connect, a request, an offer and a match.
  CHECK(rep->count("completed") >= 1);
  CHECK(rep->count("receipts") >= 1);
  CHECK(rep->count("connect_failures") == 0);  // every client got through the handshake
  CHECK(rep->count("matched") <= rep->count("requests"));
  CHECK(rep->count("completed") <= rep->count("matched"));
  CHECK(rep->samples.protocol_errors == 0);  // only races (offer_expired, ...) are allowed
  CHECK(rep->count("outbox_drops") == 0);
  // Every match carries the rider's wait from request to `accepted` (wall clock).
  REQUIRE(rep->samples.match_wait_s.size() == rep->count("matched"));
  REQUIRE_FALSE(rep->samples.match_wait_s.empty());
  CHECK(rep->samples.match_wait_s.front() >= 0.0);  // sorted: the shortest wait

  // Every rider added a test card (201) before asking for a quote (one closed by
  // the end of the run may have added its card and asked for nothing).
  CHECK(rep->count("cards_added") >= rep->count("quotes"));
  CHECK(rep->count("cards_refused") == 0);

  // The PSP calls follow the ledger on the node's payment worker: wait for its
  // backlog to empty (every transition is committed once the simulator is done).
  const std::string admin = system_test::mint_token(test_secret, "ops", auth::role::admin);
  system_test::http_reply rides;
  for (int i = 0; i < 300; ++i) {
    rides = system_test::http_call(node.port, http::verb::get,
                                   "/api/admin/payments/rides?limit=1000", admin);
    REQUIRE(rides.status == 200);
    if (rides.body["backlog"] == 0) break;
    usleep(100'000);  // polling the node's backlog gauge; nothing to block on from outside
  }
  REQUIRE(rides.body["backlog"] == 0);
  REQUIRE(rides.body["next"].is_null());  // every ride on this one page
  std::uint64_t captured = 0;
  for (const auto& r : rides.body["rides"]) {
    CHECK(r["authorization"] == "authorized");  // no ride fell back to no_method
    CHECK(r["uncollected_minor"] == 0);
    if (r["settlement"] == "captured") ++captured;
  }
  // A ride per matched request (a request cut off by the end of the run may have none).
  CHECK(rides.body["rides"].size() >= rep->count("matched"));
  CHECK(rides.body["rides"].size() <= rep->count("requests"));
  CHECK(captured >= rep->count("completed"));  // a cancel fee is captured too
  CHECK(node.terminate() == 0);

  // The numbers went into the vault only: not in a store file, the vault's files or the log.
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  CHECK_FALSE(text.str().empty());
  for (std::uint64_t i = 0; i < rep->count("riders_spawned"); ++i) {
    const std::string pan = sim::sandbox_card_number(o.id_base + i);
    CHECK(text.str().find(pan) == std::string::npos);
    CHECK_FALSE(test::any_file_contains(dir, pan));
  }
}

TEST_CASE("sandbox test cards are Luhn-valid 424242 Visas, one per rider") {
  std::set<std::string> seen;
  for (std::uint64_t n : {0ULL, 1ULL, 2ULL, 999'999'999ULL, 1'000'000'007ULL}) {
    const std::string pan = sim::sandbox_card_number(n);
    REQUIRE(pan.size() == 16);
    CHECK(pan.rfind("424242", 0) == 0);
    int sum = 0;
    for (std::size_t i = 0; i < pan.size(); ++i) {
      int d = pan[pan.size() - 1 - i] - '0';
      if (i % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    CHECK(sum % 10 == 0);
    seen.insert(pan);
  }
  CHECK(seen.size() == 5);
}
