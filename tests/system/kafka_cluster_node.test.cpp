// System test of shard ownership in the node (issue 9 part 2, items 2, 3, 6):
// two `rideshard serve` processes with [cluster] (mutual TLS) and a real broker
// (with_kafka.sh) split the shard groups through the Kafka consumer group. A
// rider and a driver on the node owning the pickup's shard group get matched;
// a ride requested on the other node is forwarded to the owner. The owner is killed
// (-9): the survivor takes every shard group, restores the trip from the
// changelog, and the apps reconnecting to it with hello {resume: true} get the
// trip in its acknowledged state and finish the ride. Every transition a client
// was told is in Kafka (read_committed) exactly once, in order.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app_client.hpp"
#include "cluster_nodes.hpp"
#include "cluster_shards.hpp"
#include "http_call.hpp"
#include "kafka_consumer.hpp"
#include "node_process.hpp"
#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/region.hpp"
#include "rideshard/engine/shard_group.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::schemas;
using rideshard::system_test::address;
using rideshard::system_test::app_client;
using rideshard::system_test::free_port;
using rideshard::system_test::http_call;
using rideshard::system_test::node_process;
using rideshard::system_test::test_dir;
using rideshard::system_test::wait_until;
namespace http = boost::beast::http;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* test_secret = "kafka-cluster-node-system-test-secret-0123456789";
constexpr int shard_groups = 6;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string mint(const std::string& sub, auth::role r) {
  return system_test::mint_token(test_secret, sub, r);
}

std::string write_config(const std::string& dir, int id, unsigned short basp, unsigned short seed) {
  return system_test::write_shard_config(dir, id, basp, {seed}, shard_groups);
}

std::set<int> served(unsigned short http_port) { return system_test::served_groups(http_port); }

std::string show(const std::set<int>& s) { return system_test::show_groups(s); }

trip_status wait_state(app_client& c, trip_state s) {
  return c.expect<trip_status>([s](const trip_status& t) { return t.state == s; });
}

}  // namespace

TEST_CASE("a killed owner's shard groups move; the survivor restores the trip and finishes it") {
  REQUIRE_MESSAGE(env("RIDESHARD_KAFKA_BOOTSTRAP"),
                  "no broker: RIDESHARD_KAFKA_BOOTSTRAP is not set (run under "
                  "tests/system/kafka/with_kafka.sh)");
  const std::string bootstrap = env("RIDESHARD_KAFKA_BOOTSTRAP");
  test_dir dir;
  system_test::make_certs(dir.path + "/certs", "node-1 node-2");
  const unsigned short b1 = free_port(), b2 = free_port();
  const std::vector<std::string> args{"--kafka-bootstrap", bootstrap};
  MESSAGE("broker ", bootstrap, ", configs and logs in ", dir.path);
  std::unique_ptr<node_process> nodes[2];
  nodes[0] = std::make_unique<node_process>(test_secret, node_process::fresh_data_dir(),
                                            dir.path + "/node-1.log", args,
                                            write_config(dir.path, 1, b1, b2));
  nodes[1] = std::make_unique<node_process>(test_secret, node_process::fresh_data_dir(),
                                            dir.path + "/node-2.log", args,
                                            write_config(dir.path, 2, b2, b1));

  // The consumer group splits the shard groups: each node serves some, no group
  // is served twice, none is left out.
  const auto split = [&] {
    const auto s1 = served(nodes[0]->port), s2 = served(nodes[1]->port);
    if (s1.empty() || s2.empty() || s1.size() + s2.size() != shard_groups) return false;
    for (int g : s1)
      if (s2.count(g)) return false;
    return true;
  };
  REQUIRE_MESSAGE(wait_until(clock_type::now() + std::chrono::seconds(60), split),
                  "served: ", show(served(nodes[0]->port)), " / ", show(served(nodes[1]->port)));

  // The pickup's shard group (region 0's cell at its shard level) and its owner.
  auto nyc =
      load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
  REQUIRE(nyc.ok());
  const lat_lng pickup{40.7560, -73.9860};
  const lat_lng dropoff{40.7300, -73.9900};
  const lat_lng near_pickup{40.7555, -73.9855};
  auto cell = cell_of(pickup, nyc->shard_level);
  REQUIRE(cell.ok());
  REQUIRE(cell_of(near_pickup, nyc->shard_level)->value == cell->value);
  const int group = shard_group_of(std::size_t{0}, cell->value, shard_groups);
  const int owner = served(nodes[0]->port).count(group) ? 0 : 1;
  const int other = 1 - owner;
  REQUIRE(served(nodes[owner]->port).count(group) == 1);
  MESSAGE("pickup in shard group ", group, ", served by node ", owner + 1);

  // The other node forwards the pickup to the owner: the trip is created in the
  // pickup's group (on the owner) and the rider on the other node hears it; no
  // refusal is counted. It cancels, so the ride below has the driver to itself.
  {
    app_client stranger(nodes[other]->port, "/v1/rider", false);
    stranger.send(hello{mint("r-902", auth::role::rider), "cluster-test", false});
    stranger.expect<welcome>();
    stranger.send(ride_request{std::nullopt, pickup, dropoff});
    const auto requested = wait_state(stranger, trip_state::requested);
    CHECK(shard_group_of(requested.trip.value, shard_groups) == group);
    stranger.send(cancel_trip{requested.trip, "changed my mind"});
    wait_state(stranger, trip_state::cancelled);
    auto metrics = http_call(nodes[other]->port, http::verb::get, "/metrics");
    CHECK(metrics.text.find("rideshard_cluster_unowned_total 0") != std::string::npos);
  }

  // Rider and driver on the owner: matched, accepted (acknowledged).
  std::vector<std::string> told;  // every state the rider was told, in order
  trip_status accepted;
  {
    app_client driver(nodes[owner]->port, "/v1/driver", true);
    driver.send(hello{mint("d-701", auth::role::driver), "cluster-test", false});
    driver.expect<welcome>();
    driver.send(go_online{});
    driver.expect<ack>();
    driver.send(location_batch{{location_sample{near_pickup, 90, 0, now_ms() - 30'000}}});
    driver.expect<ack>();
    app_client rider(nodes[owner]->port, "/v1/rider", false);
    rider.send(hello{mint("r-801", auth::role::rider), "cluster-test", false});
    rider.expect<welcome>();
    rider.send(ride_request{std::nullopt, pickup, dropoff});
    const auto requested = wait_state(rider, trip_state::requested);
    told.push_back("requested");
    CHECK(shard_group_of(requested.trip.value, shard_groups) == group);  // the trip's group
    const schemas::offer o = driver.expect<schemas::offer>();
    CHECK(o.trip == requested.trip);
    driver.send(accept_offer{o.trip});
    accepted = wait_state(rider, trip_state::accepted);
    told.push_back("accepted");
    CHECK(accepted.driver == driver_id{701});
  }

  // kill -9 the owner: after the session timeout the survivor serves every group.
  const auto t0 = clock_type::now();
  nodes[owner]->kill9();
  const auto all_moved = [&] { return served(nodes[other]->port).size() == shard_groups; };
  REQUIRE_MESSAGE(wait_until(t0 + std::chrono::seconds(60), all_moved), "survivor serves ",
                  show(served(nodes[other]->port)));
  MESSAGE("survivor serves all ", shard_groups, " shard groups ",
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count(),
          " ms after kill -9 (ownership session timeout 6000 ms)");

  // The apps reconnect to the survivor: hello {resume: true} gives them the trip
  // in its acknowledged state, and the ride goes on to its end.
  const unsigned short port = nodes[other]->port;
  app_client rider(port, "/v1/rider", false);
  rider.send(hello{mint("r-801", auth::role::rider), "cluster-test", true});
  const welcome rw = rider.expect<welcome>();
  CHECK(rw.resumed);
  REQUIRE_MESSAGE(rw.current_trip.has_value(), "the survivor does not know the rider's trip");
  CHECK(rw.current_trip->trip == accepted.trip);
  CHECK(rw.current_trip->state == trip_state::accepted);
  CHECK(rw.current_trip->driver == driver_id{701});
  CHECK(rw.current_trip->pin == accepted.pin);
  app_client driver(port, "/v1/driver", true);
  driver.send(hello{mint("d-701", auth::role::driver), "cluster-test", true});
  const welcome dw = driver.expect<welcome>();
  REQUIRE(dw.current_trip.has_value());
  CHECK(dw.current_trip->trip == accepted.trip);
  driver.send(location_batch{{location_sample{pickup, 90, 0, now_ms()}}});
  driver.expect<ack>();
  driver.send(arrived{accepted.trip});
  wait_state(rider, trip_state::driver_arrived);
  told.push_back("driver_arrived");
  driver.send(start_trip{accepted.trip, accepted.pin});
  wait_state(rider, trip_state::in_progress);
  told.push_back("in_progress");
  driver.send(complete_trip{accepted.trip});
  const receipt rr = rider.expect<receipt>();
  CHECK(rr.trip == accepted.trip);
  CHECK(rr.final_state == trip_state::completed);
  told.push_back("completed");

  // Nothing acknowledged is lost: every transition of the trip is in the trip
  // events (read_committed: only committed changelog transactions), once each
  // by event id, sequences in order, every state the rider was told among them.
  const auto events = system_test::consume_all(bootstrap, "rideshard.trip-events.v1");
  std::vector<const system_test::consumed_event*> mine;
  std::set<std::string> ids;
  for (const auto& e : events)
    if (e.trip == accepted.trip.value && ids.insert(e.event_id).second) mine.push_back(&e);
  std::vector<std::string> states;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    CHECK(mine[i]->sequence == i);
    states.push_back(mine[i]->to_state);
  }
  std::string all;
  for (const auto& s : states) all += s + " ";
  MESSAGE("trip events: ", all);
  for (const auto& s : told)
    CHECK_MESSAGE(std::count(states.begin(), states.end(), s) == 1, s, " not once in ", all);
  REQUIRE_FALSE(states.empty());
  CHECK(states.back() == "completed");
  CHECK(nodes[other]->terminate() == 0);
}
