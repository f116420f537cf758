// System test: `rideshard serve` on 127.0.0.1:0 driven by the fleet simulator
// (actors/sim/) for a short, dense run; the run must request, match and complete
// rides without any protocol error. No timing thresholds are asserted.
#include <doctest/doctest.h>

#include "node_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rideshard/engine/region.hpp"
#include "sim/simulator.hpp"

using namespace rideshard;
using rideshard::system_test::node_process;

namespace {

constexpr const char* test_secret = "sim-smoke-system-test-secret-0123456789abcdef";

}  // namespace

TEST_CASE("the simulator requests, matches and completes rides against the real binary") {
  node_process node(test_secret);
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
}
