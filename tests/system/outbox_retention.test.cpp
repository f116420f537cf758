// System test: the embedded default (no broker) bounds its outbox. The built node
// runs with a 40-row analytics bound; the fleet simulator makes it publish quotes
// and driver-location samples; retention must drop the excess analytics events
// (counted in /health and rideshard_outbox_dropped_total), keep the trip events,
// and /health must report the outbox near its bound (degraded).
#include <doctest/doctest.h>

#include "http_call.hpp"
#include "node_process.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "rideshard/engine/region.hpp"
#include "sim/simulator.hpp"

using namespace rideshard;
using rideshard::system_test::http_call;
using rideshard::system_test::node_process;
namespace http = boost::beast::http;

namespace {

constexpr const char* test_secret = "outbox-retention-system-test-secret-0123456789";
constexpr int max_rows = 40;

void replace(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "single-node.toml lacks: ", from);
  text.replace(at, from.size(), to);
}

/// single-node.toml with a small analytics bound, frequent retention passes and
/// one location sample per driver per second; written next to the data dir.
std::string small_bound_config(const std::string& dir) {
  const std::string source_dir = RIDESHARD_SOURCE_DIR;
  std::ifstream in(source_dir + "/cluster-config/single-node.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  replace(config, "analytics_max_rows = 100000",
          "analytics_max_rows = " + std::to_string(max_rows));
  replace(config, "# retention_interval_ms = 1000", "retention_interval_ms = 50");
  replace(config, "# location_sample_s = 30", "location_sample_s = 1");
  replace(config, "\"regions/nyc.toml\"", "\"" + source_dir + "/cluster-config/regions/nyc.toml\"");
  const std::string path = dir + "/node.toml";
  std::ofstream(path) << config;
  return path;
}

nlohmann::json outbox_check(unsigned short port) {
  auto r = http_call(port, http::verb::get, "/health");
  REQUIRE(r.status == 200);
  return r.body;
}

}  // namespace

TEST_CASE("without a broker the node drops analytics events past the bound and says so") {
  const std::string dir = node_process::fresh_data_dir();
  node_process node(test_secret, dir + "/data", {}, {}, small_bound_config(dir));
  auto regions =
      load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  REQUIRE(regions.ok());

  sim::sim_options o;
  o.port = std::to_string(node.port);
  o.jwt_secret = test_secret;
  o.drivers = 30;
  o.riders_per_minute = 120;
  o.duration_s = 6;
  o.drain_s = 0;
  o.time_scale = 5;
  o.area_m = 2000;
  o.id_base = 2'000'000;
  auto rep = sim::run_simulation(o, regions->front(), stderr);
  REQUIRE(rep.ok());
  REQUIRE(rep->count("requests") > 0);  // each request commits a trip event

  // Traffic has stopped: wait (bounded) for a retention pass to bring the
  // analytics rows back within the bound.
  nlohmann::json h;
  for (int i = 0; i < 400; ++i) {
    h = outbox_check(node.port);
    if (h["checks"]["outbox"]["retention"]["analytics_rows"].get<int>() <= max_rows) break;
    usleep(50'000);  // the retention pass runs every 50 ms on the node's own thread
  }
  INFO(h.dump());
  const auto& outbox = h["checks"]["outbox"];
  const auto& retention = outbox["retention"];
  CHECK(outbox["broker"] == "not_configured");
  CHECK(retention["max_rows"] == max_rows);
  CHECK(retention["analytics_rows"].get<int>() <= max_rows);
  CHECK(retention["dropped"].get<int>() > 0);
  // Trip events are never dropped: the outbox holds more than the analytics.
  CHECK(outbox["depth"].get<int>() > retention["analytics_rows"].get<int>());
  // A 40-row bound fills at once under this load: near the bound, degraded.
  CHECK(retention["near_bound"] == true);
  CHECK(outbox["status"] == "near_bound");
  CHECK(h["status"] == "degraded");

  auto metrics = http_call(node.port, http::verb::get, "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.text.find("rideshard_outbox_dropped_total{reason=\"size\"}") != std::string::npos);
  CHECK(metrics.text.find("rideshard_queue_depth{queue=\"outbox_analytics\"}") !=
        std::string::npos);
  CHECK(node.terminate() == 0);
}
