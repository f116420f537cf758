// Region definitions load from cluster-config/ and every malformed config is a
// bad_config error that names the offending key.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "rideshard/engine/region.hpp"

using namespace rideshard;

namespace {

std::string nyc_text() {
  std::ifstream in(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// nyc.toml with the first occurrence of `from` replaced by `to`.
std::string nyc_with(const std::string& from, const std::string& to) {
  std::string t = nyc_text();
  auto pos = t.find(from);
  REQUIRE_MESSAGE(pos != std::string::npos, from);
  return t.replace(pos, from.size(), to);
}

void expect_bad(const std::string& text, const std::string& mentions) {
  auto r = parse_region(text, "test.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::bad_config);
  CHECK_MESSAGE(r.err().message.find(mentions) != std::string::npos, r.err().message);
}

}  // namespace

TEST_CASE("the shipped single-node config loads the New York region") {
  auto regions =
      load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  REQUIRE_MESSAGE(regions.ok(), (regions.ok() ? "" : regions.err().message));
  REQUIRE(regions->size() == 1);
  const region& nyc = regions->front();
  CHECK(nyc.name == "nyc");
  CHECK(nyc.fare.currency == "USD");
  CHECK(nyc.bounds.contains(lat_lng{40.758, -73.9855}));     // Times Square
  CHECK_FALSE(nyc.bounds.contains(lat_lng{42.36, -71.06}));  // Boston
  CHECK(nyc.hotspots.size() == 5);
  CHECK(nyc.hourly_demand[17] == doctest::Approx(1.0));
  CHECK(nyc.sequential.k == 8);
  CHECK(nyc.trip.offer_timeout_ms == nyc.sequential.offer_timeout_ms);
  CHECK(nyc.batch.max_radius_m == nyc.sequential.max_radius_m);
  CHECK(nyc.trip.max_pin_attempts == 3);
}

TEST_CASE("trip.max_pin_attempts is optional (default 3) and bounded") {
  auto without = parse_region(nyc_with("max_pin_attempts = 3", ""), "test.toml");
  REQUIRE(without.ok());
  CHECK(without->trip.max_pin_attempts == 3);
  auto five = parse_region(nyc_with("max_pin_attempts = 3", "max_pin_attempts = 5"), "test.toml");
  REQUIRE(five.ok());
  CHECK(five->trip.max_pin_attempts == 5);
  expect_bad(nyc_with("max_pin_attempts = 3", "max_pin_attempts = 0"), "max_pin_attempts");
  expect_bad(nyc_with("max_pin_attempts = 3", "max_pin_attempts = 1000"), "max_pin_attempts");
}

TEST_CASE("malformed region configs are bad_config naming the problem") {
  expect_bad("name = \"x\"\n[bounds\n", "line");
  expect_bad(nyc_with("speed_mps = 8.3", "speed_mps = \"fast\""), "eta.speed_mps: wrong type");
  expect_bad(nyc_with("speed_mps = 8.3", "sped_mps = 8.3"), "eta.speed_mps: missing key");
  expect_bad(nyc_with("detour_factor = 1.35", "detour_factor = 1.35\ncolour = 3"),
             "eta.colour: unknown key");
  expect_bad(nyc_with("shard_level = 12", "shard_level = 12\nflavour = 1"), "region.flavour");
  expect_bad(nyc_with("south = 40.49", "south = 41.5"), "south < north");
  expect_bad(nyc_with("north = 40.92", "north = 95.0"), "bounds");
  expect_bad(nyc_with("shard_level = 12", "shard_level = 40"), "shard_level");
  expect_bad(nyc_with("weight = 0.25", "weight = 0.95"), "weights");
  expect_bad(nyc_with("lat = 40.641", "lat = 41.9"), "outside bounds");
  expect_bad(nyc_with("hourly = [0.25, ", "hourly = ["), "24 numbers");
  expect_bad(nyc_with("speed_mps = 8.3", "speed_mps = -1.0"), "eta");
  expect_bad(nyc_with("currency = \"USD\"", "currency = \"dollars\""), "fare");
}

TEST_CASE("missing and duplicate region files are reported") {
  CHECK(load_region_file("/nonexistent/region.toml").code() == errc::bad_config);
  CHECK(load_node_regions("/nonexistent/node.toml").code() == errc::bad_config);
}
