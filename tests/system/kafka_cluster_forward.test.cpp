// System test of cross-node forwarding (issue 9 part 2, item 4): three
// `rideshard serve` processes with [cluster] (mutual TLS) and a real broker
// (with_kafka.sh) split the shard groups through the Kafka consumer group, and
// any node accepts any app. A rider on one node and a driver on another ride a
// trip whose pickup's shard group a third node owns: the rider's node forwards
// the request to the owner's directory, the driver's positions reach the
// owner's matcher through the location relay, the offer reaches the driver on
// its node. Then the fleet simulator spreads its apps over the three nodes
// (client i on node i mod 3): requests reach non-owners two times in three,
// none is refused, and the audit finds every acknowledged state and no driver
// on two trips. No timing thresholds are asserted.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app_client.hpp"
#include "cluster_nodes.hpp"
#include "cluster_shards.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/region.hpp"
#include "rideshard/engine/shard_group.hpp"
#include "sim/simulator.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::schemas;
using rideshard::system_test::app_client;
using rideshard::system_test::free_port;
using rideshard::system_test::http_call;
using rideshard::system_test::node_process;
using rideshard::system_test::served_groups;
using rideshard::system_test::test_dir;
using rideshard::system_test::wait_until;
namespace http = boost::beast::http;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* test_secret = "kafka-cluster-forward-system-test-secret-0123456789";
constexpr int shard_groups = 6;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string mint(const std::string& sub, auth::role r) {
  return system_test::mint_token(test_secret, sub, r);
}

trip_status wait_state(app_client& c, trip_state s) {
  return c.expect<trip_status>([s](const trip_status& t) { return t.state == s; });
}

// A counter of a node's /metrics (an unlabelled one), -1 if absent.
double metric(unsigned short port, const std::string& name) {
  auto r = http_call(port, http::verb::get, "/metrics");
  const auto at = r.text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atof(r.text.c_str() + at + name.size() + 2);
}

}  // namespace

TEST_CASE("any node accepts any app: rides across three nodes, nothing refused or lost") {
  const char* bootstrap = std::getenv("RIDESHARD_KAFKA_BOOTSTRAP");
  REQUIRE_MESSAGE((bootstrap != nullptr && *bootstrap != '\0'),
                  "no broker: RIDESHARD_KAFKA_BOOTSTRAP is not set (run under "
                  "tests/system/kafka/with_kafka.sh)");
  test_dir dir;
  system_test::make_certs(dir.path + "/certs", "node-1 node-2 node-3");
  const unsigned short basp[3] = {free_port(), free_port(), free_port()};
  const std::vector<std::string> args{"--kafka-bootstrap", bootstrap};
  MESSAGE("broker ", std::string(bootstrap), ", configs and logs in ", dir.path);
  std::vector<std::unique_ptr<node_process>> nodes;
  std::vector<std::string> data_dirs;
  for (int i = 0; i < 3; ++i) {
    std::vector<unsigned short> seeds;
    for (int j = 0; j < 3; ++j)
      if (j != i) seeds.push_back(basp[j]);
    data_dirs.push_back(node_process::fresh_data_dir());
    nodes.push_back(std::make_unique<node_process>(
        test_secret, data_dirs.back(), dir.path + "/node-" + std::to_string(i + 1) + ".log", args,
        system_test::write_shard_config(dir.path, i + 1, basp[i], seeds, shard_groups)));
  }

  // The consumer group splits the shard groups over the three nodes: each
  // serves some, none twice, none left out.
  const std::vector<unsigned short> ports{nodes[0]->port, nodes[1]->port, nodes[2]->port};
  const auto split = [&] { return system_test::groups_split(ports, shard_groups); };
  REQUIRE_MESSAGE(
      wait_until(clock_type::now() + std::chrono::seconds(60), split),
      "the shard groups were not split over the three nodes: ", system_test::show_split(ports));

  // A pickup, its shard group and owner; the rider on a second node, the driver on the third.
  auto nyc =
      load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
  REQUIRE(nyc.ok());
  const lat_lng pickup{40.7560, -73.9860};
  const lat_lng dropoff{40.7300, -73.9900};
  const lat_lng near_pickup{40.7555, -73.9855};
  auto cell = cell_of(pickup, nyc->shard_level);
  REQUIRE(cell.ok());
  const int group = shard_group_of(std::size_t{0}, cell->value, shard_groups);
  int owner = 0;
  while (owner < 3 && served_groups(nodes[owner]->port).count(group) == 0) ++owner;
  REQUIRE(owner < 3);
  const int rider_node = (owner + 1) % 3, driver_node = (owner + 2) % 3;
  MESSAGE("pickup in shard group ", group, " (node ", owner + 1, "); rider on node ",
          rider_node + 1, ", driver on node ", driver_node + 1);
  {
    app_client driver(nodes[driver_node]->port, "/v1/driver", true);
    driver.send(hello{mint("d-711", auth::role::driver), "forward-test", false});
    driver.expect<welcome>();
    driver.send(go_online{});
    driver.expect<ack>();
    driver.send(location_batch{{location_sample{near_pickup, 90, 0, now_ms() - 30'000}}});
    driver.expect<ack>();
    app_client rider(nodes[rider_node]->port, "/v1/rider", false);
    rider.send(hello{mint("r-811", auth::role::rider), "forward-test", false});
    rider.expect<welcome>();
    rider.send(quote_request{pickup, dropoff});  // answered by the owner's matcher
    const quote q = rider.expect<quote>();
    rider.send(ride_request{q.id, pickup, dropoff});
    const auto requested = wait_state(rider, trip_state::requested);
    CHECK(shard_group_of(requested.trip.value, shard_groups) == group);
    // The driver's position reached the owner's matcher (relay); the offer comes back.
    const schemas::offer o = driver.expect<schemas::offer>();
    CHECK(o.trip == requested.trip);
    driver.send(accept_offer{o.trip});
    const auto accepted = wait_state(rider, trip_state::accepted);
    CHECK(accepted.driver == driver_id{711});
    driver.expect<trip_status>(
        [](const trip_status& t) { return t.state == trip_state::accepted; });
    driver.send(arrived{o.trip});
    wait_state(rider, trip_state::driver_arrived);
    driver.send(start_trip{o.trip, accepted.pin});
    wait_state(rider, trip_state::in_progress);
    driver.send(complete_trip{o.trip});
    const receipt r = rider.expect<receipt>();
    CHECK(r.final_state == trip_state::completed);
  }

  // The simulator over all three nodes.
  auto regions =
      load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  REQUIRE(regions.ok());
  sim::sim_options o;
  o.port = std::to_string(nodes[0]->port);
  o.more_nodes = {{"127.0.0.1", std::to_string(nodes[1]->port)},
                  {"127.0.0.1", std::to_string(nodes[2]->port)}};
  o.jwt_secret = test_secret;
  o.drivers = 90;
  o.riders_per_minute = 120;
  o.duration_s = 15;
  o.drain_s = 30;  // ends early once no matched trip is left
  o.time_scale = 5;
  o.area_m = 3000;
  o.max_trip_m = 800;
  o.id_base = 3'000'000;
  o.reconnect_s = 20;
  o.audit = true;
  o.card_share = 0;
  auto rep = sim::run_simulation(o, regions->front(), stderr);
  REQUIRE(rep.ok());
  sim::print_summary(stdout, *rep);
  CHECK(rep->count("requests") >= 10);
  // Two requests in three reach a node that does not own their pickup's
  // group: without forwarding at most a third could be matched.
  CHECK(rep->count("matched") * 2 > rep->count("requests"));
  for (const auto& [code, n] : rep->samples.errors) {
    CAPTURE(code);
    CHECK((code != "unavailable" || n == 0));
  }
  REQUIRE(rep->audit.has_value());
  CHECK(rep->audit->trips >= 5);
  CHECK(rep->audit->unreachable == 0);
  CHECK(rep->audit->acknowledged_lost == 0);
  for (const auto& ex : rep->audit->lost_examples) MESSAGE("lost " << ex);
  CHECK(rep->audit->double_assignments == 0);
  CHECK(rep->samples.protocol_errors == 0);
  for (auto& n : nodes) {
    CHECK(metric(n->port, "rideshard_cluster_unowned_total") == 0);
    CHECK(n->terminate() == 0);
  }
  for (const auto& d : data_dirs) std::system(("rm -rf " + d).c_str());
}
