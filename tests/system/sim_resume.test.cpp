// System test: apps outlive a crash. The fleet simulator drives `rideshard
// serve` on a fixed loopback port; while rides are in flight the node is
// killed (SIGKILL) and started again on the same data dir and port. Every
// client redials, says hello with resume and carries on with the trip the node
// gives back; afterwards the audit reads every trip a client was told about
// back from the node: no acknowledged state may be missing and no driver may
// hold two trips at once. No timing thresholds are asserted.
#include <doctest/doctest.h>

#include "node_process.hpp"

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rideshard/engine/region.hpp"
#include "sim/simulator.hpp"

using namespace rideshard;
using rideshard::system_test::node_process;

namespace {

constexpr const char* test_secret = "sim-resume-system-test-secret-0123456789abcdef";

}  // namespace

TEST_CASE("apps resume their trips after kill -9 and nothing they were told is lost") {
  const unsigned short port = system_test::free_port();
  const std::vector<std::string> listen{"--listen", "127.0.0.1:" + std::to_string(port)};
  const std::string dir = node_process::fresh_data_dir();
  auto node = std::make_unique<node_process>(test_secret, dir, "", listen);
  REQUIRE(node->port == port);
  auto regions =
      load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  REQUIRE(regions.ok());
  REQUIRE(!regions->empty());

  sim::sim_options o;
  o.port = std::to_string(port);
  o.jwt_secret = test_secret;
  o.drivers = 60;
  o.riders_per_minute = 90;
  o.duration_s = 16;
  o.drain_s = 40;  // ends early once no matched trip is left
  o.time_scale = 5;
  o.area_m = 2000;
  o.max_trip_m = 800;
  o.id_base = 2'000'000;
  o.reconnect_s = 30;
  o.audit = true;
  // The pacing thread tells us once rides are under way; the kill happens here.
  std::mutex mu;
  std::condition_variable cv;
  bool rides_under_way = false;
  o.on_tick = [&](double elapsed_s, sim::sim_stats& stats) {
    if (elapsed_s < 5 || stats.trips_active.load() < 3) return;
    std::lock_guard<std::mutex> lock(mu);
    rides_under_way = true;
    cv.notify_one();
  };
  result<sim::sim_report> rep = error{errc::internal, "not run"};
  std::thread run([&] { rep = sim::run_simulation(o, regions->front(), stderr); });
  {
    std::unique_lock<std::mutex> lock(mu);
    const bool ok = cv.wait_for(lock, std::chrono::seconds(40), [&] { return rides_under_way; });
    if (!ok) {
      run.join();
      FAIL("no ride got under way before the kill");
    }
  }
  CHECK(node->kill9() == 128 + SIGKILL);
  node = std::make_unique<node_process>(test_secret, dir, "", listen);
  run.join();
  REQUIRE(rep.ok());
  sim::print_summary(stdout, *rep);

  // Every client lost its connection at the kill and found the node again.
  CHECK(rep->count("reconnects") >= 1);
  CHECK(rep->count("reconnect_failures") == 0);
  // Riders and drivers in a ride got it back from the restarted node.
  CHECK(rep->count("resumed_trips") >= 1);
  CHECK(rep->count("completed") >= 1);
  REQUIRE(rep->audit.has_value());
  CHECK(rep->audit->trips >= 3);
  CHECK(rep->audit->unreachable == 0);
  CHECK(rep->audit->acknowledged_lost == 0);
  for (const auto& ex : rep->audit->lost_examples) MESSAGE("lost " << ex);
  CHECK(rep->audit->double_assignments == 0);
  CHECK(rep->samples.protocol_errors == 0);
  CHECK(node->terminate() == 0);
}
