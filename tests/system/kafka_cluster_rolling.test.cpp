// System test of a rolling restart (issue 9 part 2's tests): three `rideshard
// serve` processes with shard ownership and a real broker (with_kafka.sh) under
// the fleet simulator's load; each node in turn is drained by SIGTERM (exit 0,
// its shard groups owned elsewhere first) and started again on its data dir and
// ports, until the three split the groups again. The simulator's audit then
// reads every state a client was told back from the cluster: no acknowledged
// transition lost (double assignments are reported: see cluster_load.hpp).
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "cluster_load.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* test_secret = "kafka-cluster-rolling-system-test-secret-0123456789";

}  // namespace

TEST_CASE("a rolling restart of all three nodes under load loses no acknowledged transition") {
  three_nodes c(test_secret, broker());
  MESSAGE("broker ", c.bootstrap, ", configs and logs in ", c.dir);
  REQUIRE_MESSAGE(
      wait_until(clock_type::now() + std::chrono::seconds(60), [&] { return c.split(); }),
      show_split(c.http));
  const region reg = nyc();
  load_run run(load(c, 35), reg);
  REQUIRE_MESSAGE(run.wait_for_rides(), "no ride got under way");
  for (int i = 0; i < node_count; ++i) {
    std::string said;
    const auto t0 = clock_type::now();
    CHECK(c.terminate(i, said) == 0);
    CHECK(said.find("shard groups owned by other nodes") != std::string::npos);
    c.start(i);
    // Back in the consumer group: the three split the groups again.
    REQUIRE_MESSAGE(
        wait_until(clock_type::now() + std::chrono::seconds(60), [&] { return c.split(); }),
        show_split(c.http));
    MESSAGE("node ", i + 1, " restarted and serving again after ",
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count(),
            " ms");
  }
  check_report(run);
  std::string ignored;
  for (int i = 0; i < node_count; ++i) CHECK(c.terminate(i, ignored) == 0);
}
