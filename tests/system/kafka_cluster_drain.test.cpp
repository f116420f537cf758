// System tests of the graceful drain (issue 9 part 2, item 5; issue 10's
// "drain a node"): three `rideshard serve` processes with shard ownership and a
// real broker (with_kafka.sh), the fleet simulator connected to all three and
// reconnecting on a drop. SIGTERM on the busiest node under load hands its
// shard groups to the others before it exits (exit code 0, every former group
// owned elsewhere, sessions closed with 1001 so the apps move at once); the
// simulator's audit then reads every state a client was told back from the
// cluster: nothing acknowledged may be missing, no driver on two trips. An
// admin's drain (POST /api/admin/cluster/drain) does the handoff without an
// exit, and `rideshard admin rejoin-node` undoes it.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "cluster_load.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* test_secret = "kafka-cluster-drain-system-test-secret-0123456789";

}  // namespace

TEST_CASE("SIGTERM on a node under load hands its shard groups off, exits 0, loses nothing") {
  three_nodes c(test_secret, broker());
  MESSAGE("broker ", c.bootstrap, ", configs and logs in ", c.dir);
  REQUIRE_MESSAGE(
      wait_until(clock_type::now() + std::chrono::seconds(60), [&] { return c.split(); }),
      show_split(c.http));
  const region reg = nyc();
  load_run run(load(c, 20), reg);
  REQUIRE_MESSAGE(run.wait_for_rides(), "no ride got under way");

  // The node with the most trips under way.
  int victim = 0;
  long most = -1;
  for (int i = 0; i < node_count; ++i)
    if (const long n = active_trips(c.http[i]); n > most) most = n, victim = i;
  const auto groups = served_groups(c.http[victim]);
  MESSAGE("SIGTERM node ", victim + 1, " (", most, " trips under way, shard groups ",
          show_groups(groups), ")");
  std::string said;
  const auto t0 = clock_type::now();
  CHECK(c.terminate(victim, said) == 0);
  MESSAGE("node ", victim + 1, " exited after ",
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count(),
          " ms; it said:\n", said);
  // It waited until the others owned each of its groups, then closed its sessions.
  CHECK(said.find("shard groups owned by other nodes") != std::string::npos);
  CHECK(said.find("all sessions closed") != std::string::npos);
  CHECK(c.split(victim));  // the other two serve every group between them
  check_report(run);
  std::string ignored;
  for (int i = 0; i < node_count; ++i)
    if (i != victim) CHECK(c.terminate(i, ignored) == 0);
}

TEST_CASE("an admin drains a node without stopping it, and rejoins it") {
  three_nodes c(test_secret, broker());
  MESSAGE("broker ", c.bootstrap, ", configs and logs in ", c.dir);
  REQUIRE_MESSAGE(
      wait_until(clock_type::now() + std::chrono::seconds(60), [&] { return c.split(); }),
      show_split(c.http));
  namespace http = boost::beast::http;
  const unsigned short port = c.http[1];
  const auto drain_of = [&] {
    auto r = http_call(port, http::verb::get, "/health");
    if (r.status < 0 || r.body.is_discarded()) return std::string("?");
    const auto& cl = r.body["checks"]["cluster"];
    return cl.contains("drain") ? cl["drain"].get<std::string>() : std::string();
  };
  // Riders and drivers may not; an admin may, once.
  const auto rider = mint_token(test_secret, "r-77", auth::role::rider);
  CHECK(http_call(port, http::verb::post, "/api/admin/cluster/drain", rider).status == 403);
  const auto admin = mint_token(test_secret, "ops-1", auth::role::admin);
  auto r = http_call(port, http::verb::post, "/api/admin/cluster/drain", admin);
  REQUIRE_MESSAGE(r.status == 202, r.text);
  CHECK(http_call(port, http::verb::post, "/api/admin/cluster/drain", admin).status == 409);
  // The other two own every group; node 2 stays up, serving no group.
  REQUIRE_MESSAGE(wait_until(clock_type::now() + std::chrono::seconds(60),
                             [&] { return drain_of() == "handed_off" && c.split(1); }),
                  "drain ", drain_of(), "; ", show_split(c.http));
  CHECK(served_groups(port).empty());
  auto health = http_call(port, http::verb::get, "/health");
  CHECK(health.body["status"] == "draining");
  // The action is in the audit log.
  auto audit = http_call(port, http::verb::get, "/api/admin/audit?limit=5", admin);
  CHECK(audit.text.find("POST /api/admin/cluster/drain") != std::string::npos);
  // `rideshard admin rejoin-node`: node 2 takes part in the split again.
  std::string out;
  const int rc =
      run_to_exit(std::string("RIDESHARD_JWT_SECRET=") + test_secret + " " + RIDESHARD_BINARY +
                      " admin rejoin-node --url http://127.0.0.1:" + std::to_string(port),
                  out);
  CHECK_MESSAGE(rc == 0, out);
  REQUIRE_MESSAGE(wait_until(clock_type::now() + std::chrono::seconds(60),
                             [&] { return drain_of().empty() && c.split(); }),
                  "drain ", drain_of(), "; ", show_split(c.http));
  std::string ignored;
  for (int i = 0; i < node_count; ++i) CHECK(c.terminate(i, ignored) == 0);
}
