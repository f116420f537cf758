// System test (issue 4, "crash safety, proven"): many concurrent rides over real
// WebSockets against the built node, `kill -9` at seeded random points, restart
// on the same data dir, and check that every trip state a client was told
// survived, nothing moved backwards, no driver holds two trips, and resumed apps
// carry on. Seed: $RIDESHARD_CRASH_SEED (printed; random when unset).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crash_fleet.hpp"
#include "node_process.hpp"

using namespace rideshard;
using namespace rideshard::system_test;

namespace {

constexpr const char* test_secret = "crash-recovery-system-test-secret-0123456789abcdef";
constexpr int kill_cycles = 4;

std::uint64_t pick_seed() {
  if (const char* env = std::getenv("RIDESHARD_CRASH_SEED"); env != nullptr && *env != '\0')
    return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

// "rideshard serve: data D (recovered N active trips of M stored), ..." -> N, M.
bool parse_recovery(const std::string& line, std::size_t& active, std::size_t& stored) {
  const auto at = line.find("(recovered ");
  if (at == std::string::npos) return false;
  unsigned long a = 0, s = 0;
  if (std::sscanf(line.c_str() + at, "(recovered %lu active trips of %lu stored)", &a, &s) != 2)
    return false;
  active = a;
  stored = s;
  return true;
}

// Restarts the node on `dir` and checks the recovery line against the fleet's model.
std::unique_ptr<node_process> restart(crash_fleet& f, const std::string& dir,
                                      const std::string& log, std::size_t& active) {
  auto node = std::make_unique<node_process>(test_secret, dir, log);
  const auto line = node->read_recovery_line();
  std::size_t stored = 0;
  REQUIRE_MESSAGE(parse_recovery(line, active, stored), "no recovery line: ", line);
  MESSAGE("cycle ", f.cycle, ": ", line.substr(0, line.find(',')));
  // Every trip a client heard of is stored; unacknowledged ones may be there too.
  CHECK(stored >= f.trips.size());
  return node;
}

}  // namespace

TEST_CASE("acknowledged trip states survive kill -9; apps resume and finish their rides") {
  const auto seed = pick_seed();
  MESSAGE("seed ", seed, " (rerun with RIDESHARD_CRASH_SEED=", seed, ")");
  const std::string dir = node_process::fresh_data_dir();
  const std::string log = dir + ".log";
  MESSAGE("data dir ", dir, ", node log ", log);
  const auto test_start = std::chrono::steady_clock::now();

  crash_fleet f(seed, test_secret);
  auto node = std::make_unique<node_process>(test_secret, dir, log);
  {
    std::size_t active = 0, stored = 0;
    REQUIRE(parse_recovery(node->read_recovery_line(), active, stored));
    CHECK(active == 0);
    CHECK(stored == 0);
  }
  f.connect_all(node->port, false);
  f.start_acting();

  std::size_t recovered_completed = 0;
  for (int c = 1; c <= kill_cycles; ++c) {
    const auto target = f.arm_kill(20, 90);
    REQUIRE_MESSAGE(f.run_until([&] { return f.kill_due; }, std::chrono::seconds(40)), "cycle ", c,
                    ": only ", f.acks_in_cycle, " of ", target,
                    " acknowledged transitions within 40 s");
    CHECK(node->kill9() == 128 + SIGKILL);
    f.on_killed();  // reads what the dead node had sent, then every app is down
    std::size_t active = 0;
    node = restart(f, dir, log, active);
    f.connect_all(node->port, true);  // riders first, then drivers; nothing acts yet
    const auto api = f.check_store(node->port);
    CHECK_MESSAGE(api.active == active, "cycle ", c, ": recovered ", active,
                  " active trips, the apps know of ", api.active);
    f.check_welcomes(api);
    MESSAGE("cycle ", c, ": killed after ", f.acks_at_kill, " acknowledged transitions; ",
            f.trips.size(), " trips so far, ", api.active, " active at restart (", api.assigned,
            " with a driver)");
    f.start_acting();
  }

  // Drain: no new rides; every trip ends (completed, or cancelled by its rider).
  f.requests_open = false;
  CHECK_MESSAGE(f.run_until([&] { return f.all_settled(); }, std::chrono::seconds(40)),
                "trips still open: ", f.open_trips());
  recovered_completed = f.completed_after_restart.size();
  MESSAGE(f.trips.size(), " trips, ", f.count(trip_state::completed), " completed, ",
          f.count(trip_state::cancelled), " cancelled; ", recovered_completed,
          " trips active at a restart were completed afterwards");
  CHECK(recovered_completed >= 1);
  CHECK(node->terminate() == 0);

  // A clean restart: nothing active, everything as the apps last heard it.
  std::size_t active = 0;
  node = restart(f, dir, log, active);
  CHECK(active == 0);
  const auto api = f.check_store(node->port);
  CHECK(api.active == 0);
  CHECK(node->terminate() == 0);

  for (const auto& p : f.problems) FAIL_CHECK(p);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - test_start);
  MESSAGE("seed ", seed, ": ", f.problems.size(), " problems, ", took.count(), " ms");
  if (f.problems.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::remove(log, ec);
  }
}
