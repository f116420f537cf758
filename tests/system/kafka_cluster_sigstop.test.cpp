// System test of fencing at node level (issue 9 part 2, item 3): two
// `rideshard serve` processes with shard ownership and a real broker
// (with_kafka.sh). The owner of a shard group with active trips is frozen
// (SIGSTOP) for longer than the ownership session timeout; the other node takes
// the group, restores the trips and moves them on. Frames the frozen node's
// apps sent meanwhile wait in its sockets. On SIGCONT none of its late writes
// or offers takes effect: the driver's late command gets a typed refusal
// (fenced, or unavailable once the node saw its group go), no offer reaches a
// driver there for a trip the new owner ended, and Kafka (read_committed) holds
// each transition of each trip exactly once: the new owner's.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
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
using rideshard::system_test::app_client;
using rideshard::system_test::free_port;
using rideshard::system_test::node_process;
using rideshard::system_test::wait_until;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* test_secret = "kafka-cluster-sigstop-system-test-secret-0123456789";
constexpr int shard_groups = 6;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string mint(const std::string& sub, auth::role r) {
  return system_test::mint_token(test_secret, sub, r);
}

struct test_dir {
  std::string path = node_process::fresh_data_dir();
  ~test_dir() { std::system(("rm -rf " + path).c_str()); }
};

trip_status wait_state(app_client& c, trip_state s) {
  return c.expect<trip_status>([s](const trip_status& t) { return t.state == s; });
}

std::unique_ptr<app_client> connect(unsigned short port, const char* path, const std::string& sub,
                                    auth::role r, bool resume, welcome* w = nullptr) {
  auto c = std::make_unique<app_client>(port, path, r == auth::role::driver);
  c->send(hello{mint(sub, r), "sigstop-test", resume});
  const welcome got = c->expect<welcome>();
  if (w) *w = got;
  return c;
}

/// The transitions of `trip` in Kafka (one per event id), in partition order.
std::vector<system_test::consumed_event> events_of(
    const std::vector<system_test::consumed_event>& all, std::uint64_t trip) {
  std::vector<system_test::consumed_event> out;
  std::set<std::string> ids;
  for (const auto& e : all)
    if (e.trip == trip && ids.insert(e.event_id).second) out.push_back(e);
  return out;
}

std::string states_of(const std::vector<system_test::consumed_event>& ev) {
  std::string out;
  for (const auto& e : ev) out += std::to_string(e.sequence) + ":" + e.to_state + " ";
  return out;
}

}  // namespace

TEST_CASE(
    "a frozen owner wakes after its shard group moved: none of its late writes or offers "
    "take effect") {
  const char* bootstrap_env = std::getenv("RIDESHARD_KAFKA_BOOTSTRAP");
  REQUIRE_MESSAGE(bootstrap_env != nullptr,
                  "no broker: RIDESHARD_KAFKA_BOOTSTRAP is not set (run under "
                  "tests/system/kafka/with_kafka.sh)");
  const std::string bootstrap = bootstrap_env;
  test_dir dir;
  system_test::make_certs(dir.path + "/certs", "node-1 node-2");
  const unsigned short b1 = free_port(), b2 = free_port();
  const std::vector<std::string> args{"--kafka-bootstrap", bootstrap};
  MESSAGE("broker ", bootstrap, ", configs and logs in ", dir.path);
  std::unique_ptr<node_process> nodes[2];
  nodes[0] = std::make_unique<node_process>(
      test_secret, dir.path + "/data-1", dir.path + "/node-1.log", args,
      system_test::write_shard_config(dir.path, 1, b1, {b2}, shard_groups));
  nodes[1] = std::make_unique<node_process>(
      test_secret, dir.path + "/data-2", dir.path + "/node-2.log", args,
      system_test::write_shard_config(dir.path, 2, b2, {b1}, shard_groups));
  const std::vector<unsigned short> ports{nodes[0]->port, nodes[1]->port};
  REQUIRE_MESSAGE(wait_until(clock_type::now() + std::chrono::seconds(60),
                             [&] { return system_test::groups_split(ports, shard_groups); }),
                  system_test::show_split(ports));

  auto nyc =
      load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
  REQUIRE(nyc.ok());
  const lat_lng pickup{40.7560, -73.9860};
  const lat_lng dropoff{40.7300, -73.9900};
  const lat_lng near_pickup{40.7555, -73.9855};
  auto cell = cell_of(pickup, nyc->shard_level);
  REQUIRE(cell.ok());
  const int group = shard_group_of(std::size_t{0}, cell->value, shard_groups);
  const int owner = system_test::served_groups(ports[0]).count(group) ? 0 : 1;
  const int other = 1 - owner;
  MESSAGE("pickup in shard group ", group, ", served by node ", owner + 1);

  // On the owner: trip 1 accepted by driver d-711; trip 2 requested (no free
  // driver); driver d-712 connected, offline.
  auto d1 = connect(ports[owner], "/v1/driver", "d-711", auth::role::driver, false);
  d1->send(go_online{});
  d1->expect<ack>();
  d1->send(location_batch{{location_sample{near_pickup, 90, 0, now_ms() - 30'000}}});
  d1->expect<ack>();
  auto r1 = connect(ports[owner], "/v1/rider", "r-811", auth::role::rider, false);
  r1->send(ride_request{std::nullopt, pickup, dropoff});
  const auto trip1 = wait_state(*r1, trip_state::requested).trip;
  const schemas::offer o = d1->expect<schemas::offer>();
  REQUIRE(o.trip == trip1);
  d1->send(accept_offer{trip1});
  const auto accepted = wait_state(*r1, trip_state::accepted);
  auto r2 = connect(ports[owner], "/v1/rider", "r-812", auth::role::rider, false);
  r2->send(ride_request{std::nullopt, pickup, dropoff});
  const auto trip2 = wait_state(*r2, trip_state::requested).trip;
  REQUIRE(shard_group_of(trip2.value, shard_groups) == group);
  auto d2 = connect(ports[owner], "/v1/driver", "d-712", auth::role::driver, false);

  // Freeze the owner; the other node takes every group and restores both trips.
  const auto t0 = clock_type::now();
  REQUIRE(kill(nodes[owner]->pid, SIGSTOP) == 0);
  REQUIRE_MESSAGE(
      wait_until(t0 + std::chrono::seconds(60),
                 [&] { return system_test::served_groups(ports[other]).size() == shard_groups; }),
      "the other node serves ", system_test::show_groups(system_test::served_groups(ports[other])));
  MESSAGE("node ", other + 1, " serves every group ",
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count(),
          " ms after SIGSTOP (ownership session timeout 6000 ms)");

  // The new owner moves both trips on: the driver arrives, rider 2 cancels.
  welcome w;
  auto d1_new = connect(ports[other], "/v1/driver", "d-711", auth::role::driver, true, &w);
  REQUIRE_MESSAGE(w.current_trip.has_value(), "the new owner did not restore trip 1");
  CHECK(w.current_trip->state == trip_state::accepted);
  d1_new->send(location_batch{{location_sample{pickup, 90, 0, now_ms()}}});
  d1_new->expect<ack>();
  d1_new->send(arrived{trip1});
  wait_state(*d1_new, trip_state::driver_arrived);
  auto r2_new = connect(ports[other], "/v1/rider", "r-812", auth::role::rider, true, &w);
  REQUIRE_MESSAGE(w.current_trip.has_value(), "the new owner did not restore trip 2");
  CHECK(w.current_trip->trip == trip2);
  r2_new->send(cancel_trip{trip2, "changed my mind"});
  wait_state(*r2_new, trip_state::cancelled);

  // The frozen node's apps speak meanwhile (their frames wait in its sockets):
  // the driver of trip 1 arrives there too; a driver comes online next to
  // trip 2's pickup, where the frozen node still sees trip 2 waiting.
  d1->send(arrived{trip1});
  d2->send(go_online{});
  d2->send(location_batch{{location_sample{near_pickup, 90, 0, now_ms()}}});
  REQUIRE(kill(nodes[owner]->pid, SIGCONT) == 0);

  // The late arrival gets a typed refusal, not a transition.
  for (int i = 0;; ++i) {
    REQUIRE_MESSAGE(i < 50, "no answer to the late arrived");
    auto m = d1->read();
    if (auto* t = std::get_if<trip_status>(&m.body))
      CHECK_MESSAGE(t->state == trip_state::accepted, "the woken node moved trip 1 to ",
                    to_string(t->state));
    auto* e = std::get_if<error_reply>(&m.body);
    if (!e) continue;
    CHECK_MESSAGE((e->code == errc::fenced || e->code == errc::unavailable),
                  "late arrived answered ", to_string(e->code), ": ", e->message);
    MESSAGE("late arrived on the woken node: ", to_string(e->code), " (", e->message, ")");
    break;
  }
  // The woken node rejoins the consumer group and the groups split again
  // (after it stopped every group it had lost).
  REQUIRE_MESSAGE(wait_until(clock_type::now() + std::chrono::seconds(60),
                             [&] { return system_test::groups_split(ports, shard_groups); }),
                  system_test::show_split(ports));
  // Driver 2 hears no offer of trip 2 (ended by the new owner) up to the
  // answer of a frame sent after the split.
  const auto last = d2->send(go_offline{});
  for (int i = 0;; ++i) {
    REQUIRE_MESSAGE(i < 50, "no answer to go_offline");
    auto m = d2->read();
    if (auto* of = std::get_if<schemas::offer>(&m.body))
      CHECK_MESSAGE(of->trip != trip2, "the woken node offered trip 2, which the new owner ended");
    if (std::holds_alternative<ack>(m.body) && m.reply_to == last) break;
  }

  // Kafka holds the new owner's history of each trip, each step once.
  const auto all = system_test::consume_all(bootstrap, "rideshard.trip-events.v1");
  const auto ev1 = events_of(all, trip1.value);
  const auto ev2 = events_of(all, trip2.value);
  MESSAGE("trip 1: ", states_of(ev1), "| trip 2: ", states_of(ev2));
  const std::vector<std::string> want1{"requested", "offered", "accepted", "driver_arrived"};
  const std::vector<std::string> want2{"requested", "cancelled"};
  REQUIRE(ev1.size() == want1.size());
  REQUIRE(ev2.size() == want2.size());
  for (std::size_t i = 0; i < want1.size(); ++i) {
    CHECK(ev1[i].sequence == i);
    CHECK(ev1[i].to_state == want1[i]);
  }
  for (std::size_t i = 0; i < want2.size(); ++i) {
    CHECK(ev2[i].sequence == i);
    CHECK(ev2[i].to_state == want2[i]);
  }
  CHECK(accepted.driver == driver_id{711});
  CHECK(nodes[0]->terminate() == 0);
  CHECK(nodes[1]->terminate() == 0);
}
