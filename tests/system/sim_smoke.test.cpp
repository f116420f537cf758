// System test: `rideshard serve` on 127.0.0.1:0 driven by the fleet simulator
// (actors/sim/) for a short, dense run; the run must request, match and complete
// rides without any protocol error. No timing thresholds are asserted.
#include <doctest/doctest.h>

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

namespace {

constexpr const char* test_secret = "sim-smoke-system-test-secret-0123456789abcdef";

/// The node process: --listen 127.0.0.1:0, port read from stdout, SIGKILL at the end.
struct node_process {
  pid_t pid = -1;
  FILE* out = nullptr;
  unsigned short port = 0;

  node_process() {
    char dir[] = "/tmp/rideshard-sim-smoke-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      setenv("RIDESHARD_JWT_SECRET", test_secret, 1);
      const std::string config =
          std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml";
      execl(RIDESHARD_BINARY, RIDESHARD_BINARY, "serve", "--config", config.c_str(), "--listen",
            "127.0.0.1:0", "--data-dir", dir, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    char line[512];
    const char* marker = "listening on http://127.0.0.1:";
    while (port == 0 && std::fgets(line, sizeof line, out))
      if (const char* p = std::strstr(line, marker))
        port = static_cast<unsigned short>(std::atoi(p + std::strlen(marker)));
    REQUIRE_MESSAGE(port != 0, "the node did not report its port");
  }

  ~node_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out) fclose(out);
  }
};

}  // namespace

TEST_CASE("the simulator requests, matches and completes rides against the real binary") {
  node_process node;
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

  CHECK(rep->count("connects") > 0);
  CHECK(rep->count("requests") > 0);
  CHECK(rep->count("offers") > 0);
  CHECK(rep->count("matched") > 0);
  CHECK(rep->count("completed") >= 1);
  CHECK(rep->count("receipts") >= 1);
  CHECK(rep->samples.latency_us.size() > 0);
  CHECK(rep->samples.protocol_errors == 0);  // only races (offer_expired, ...) are allowed
  CHECK(rep->count("outbox_drops") == 0);
}
