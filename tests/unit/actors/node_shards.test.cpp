// Cross-shard candidate search: shard_level 12 cells (~4.9 x 3.7 km) with
// riders and drivers on both sides of a cell edge. Offers, nearby queries and
// a race for one driver between the matchers of two adjacent shards.
#include <algorithm>
#include <sstream>
#include <string>

#include "gateway/metrics.hpp"
#include "node/shard_search.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

// The east edge of the harness cell is ~1851 m east of its centre.
constexpr double edge_east_m = 1851;

struct metered {
  gateway::metrics stats;
  harness h;
  metered() : h(3s, [this](node::dispatch_options& o) { o.stats = &stats; }) {}
};

int shard_level(const harness&) { return 12; }

// Waits (bounded, on query round trips, no sleeps) until `n` drivers are indexed
// within radius of p: a go_online ack is sent just before the driver's
// announcement to its matcher.
std::vector<neighbor> wait_nearby(harness& h, lat_lng p, double radius, std::size_t k,
                                  std::size_t n) {
  std::vector<neighbor> hits;
  for (int i = 0; i < 1000; ++i) {
    auto r = h.node->nearby(p.lat, p.lng, radius, k);
    REQUIRE(r.ok());
    hits = *r;
    if (hits.size() >= n) break;
  }
  return hits;
}

}  // namespace

TEST_CASE("the harness points lie in the shards the tests assume") {
  harness h;
  const int level = shard_level(h);
  auto home = cell_of(h.near(0, edge_east_m - 50), level).value();
  CHECK(home == cell_of(h.center, level).value());
  CHECK(cell_of(h.near(0, edge_east_m + 50), level).value() != home);
  CHECK(node::distance_to_cell_m(h.near(0, edge_east_m - 50), home) == 0);
  CHECK(node::distance_to_cell_m(h.near(0, edge_east_m + 200), home) ==
        doctest::Approx(200).epsilon(0.05));
  bool overflow = true;
  auto cells = node::cells_within(h.near(0, edge_east_m - 50), 300, level,
                                  bounding_box{{40.49, -74.26}, {40.92, -73.70}}, overflow);
  CHECK_FALSE(overflow);
  CHECK(cells.size() == 2);  // home and its east neighbour
}

TEST_CASE("a rider at a shard edge gets the nearest driver, across the edge") {
  harness h;
  const lat_lng pickup = h.near(0, edge_east_m - 50);
  auto across = h.online_driver("d-1", h.near(0, edge_east_m + 250));  // ~300 m, next shard
  auto home = h.online_driver("d-2", h.near(0, 300));                  // ~1500 m, same shard
  REQUIRE(wait_nearby(h, pickup, 3000, 10, 2).size() == 2);

  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, pickup, h.near(3000, 2000)).trip;
  auto offer = h.next_offer(across);
  REQUIRE(offer);
  CHECK(offer->trip == trip);
  auto st = h.reply<schemas::trip_status>(across, h.send(across, schemas::accept_offer{trip}));
  CHECK(st.state == trip_state::accepted);
  REQUIRE(h.status(rider, trip, trip_state::accepted));
  CHECK(h.node->trip_snapshot(trip)->driver == driver_id{1});
  CHECK(home->all<schemas::offer>().empty());

  // The taken driver left its own shard's index; the other one is still there.
  auto near = h.node->nearby(pickup.lat, pickup.lng, 3000, 10);
  REQUIRE(near.ok());
  REQUIRE(near->size() == 1);
  CHECK(near->front().id == driver_id{2});
}

TEST_CASE("a declined cross-shard offer puts the driver back in its own shard") {
  harness h;
  const lat_lng pickup = h.near(0, edge_east_m - 50);
  auto across = h.online_driver("d-1", h.near(0, edge_east_m + 250));
  REQUIRE(wait_nearby(h, pickup, 3000, 10, 1).size() == 1);
  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, pickup, h.near(3000, 2000)).trip;
  REQUIRE(h.next_offer(across));
  h.reply<schemas::ack>(across, h.send(across, schemas::decline_offer{trip, "no"}));
  // Indexed again by the matcher of its own position (seen from both sides).
  auto from_home = wait_nearby(h, pickup, 3000, 10, 1);
  REQUIRE(from_home.size() == 1);
  CHECK(from_home.front().id == driver_id{1});
  auto from_there = wait_nearby(h, h.near(0, edge_east_m + 250), 100, 10, 1);
  REQUIRE(from_there.size() == 1);
}

TEST_CASE("nearby across shard edges returns the merged nearest set") {
  harness h;
  const lat_lng q = h.near(0, edge_east_m - 100);
  // Three shards: home, east, and north-east (the north edge is ~2443 m up).
  const std::vector<lat_lng> pos = {
      h.near(0, edge_east_m - 400),
      h.near(0, edge_east_m + 150),
      h.near(200, edge_east_m + 900),
      h.near(2600, edge_east_m + 100),
      h.near(-900, 0),
      h.near(0, -1500),
  };
  std::vector<fake_ptr> drivers;
  for (std::size_t i = 0; i < pos.size(); ++i)
    drivers.push_back(h.online_driver("d-" + std::to_string(i + 1), pos[i]));
  REQUIRE(wait_nearby(h, q, 20000, 20, pos.size()).size() == pos.size());

  std::vector<std::pair<double, std::uint64_t>> want;
  for (std::size_t i = 0; i < pos.size(); ++i)
    if (distance_m(q, pos[i]) <= 3000) want.emplace_back(distance_m(q, pos[i]), i + 1);
  std::sort(want.begin(), want.end());
  REQUIRE(want.size() >= 4);
  want.resize(4);

  auto got = h.node->nearby(q.lat, q.lng, 3000, 4);
  REQUIRE(got.ok());
  REQUIRE(got->size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK((*got)[i].id == driver_id{want[i].second});
    CHECK((*got)[i].distance_m == doctest::Approx(want[i].first).epsilon(0.001));
  }
}

TEST_CASE("two riders in adjacent shards race for one driver at the edge: one gets it") {
  // Several seeded rounds with different offsets; each is a fresh node.
  for (int round = 0; round < 6; ++round) {
    CAPTURE(round);
    metered m;
    auto& h = m.h;
    const double jitter = 20.0 * round;
    auto driver = h.online_driver("d-1", h.near(jitter, edge_east_m + 10));
    REQUIRE(wait_nearby(h, h.near(jitter, edge_east_m + 10), 50, 1, 1).size() == 1);
    auto west = h.connect("r-1");
    auto east = h.connect("r-2");
    // Both requests go out before either answer is awaited.
    const auto s1 = h.send(
        west, schemas::ride_request{{}, h.near(0, edge_east_m - 300 + jitter), h.near(3000, 0)});
    const auto s2 = h.send(
        east, schemas::ride_request{{}, h.near(0, edge_east_m + 300 - jitter), h.near(3000, 0)});
    const trip_id t1 = h.reply<schemas::trip_status>(west, s1).trip;
    const trip_id t2 = h.reply<schemas::trip_status>(east, s2).trip;

    auto offer = h.next_offer(driver);
    REQUIRE(offer);
    CHECK((offer->trip == t1 || offer->trip == t2));
    auto st =
        h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{offer->trip}));
    CHECK(st.state == trip_state::accepted);
    const trip_id loser = offer->trip == t1 ? t2 : t1;
    auto ls = h.node->trip_snapshot(loser);
    REQUIRE(ls.ok());
    CHECK(ls->state == trip_state::requested);
    CHECK_FALSE(ls->driver.valid());
    // Exactly one offer reached the driver, and no matcher offered it a second
    // time (the driver actor would have declined that one as busy).
    CHECK(driver->all<schemas::offer>().size() == 1);
    const auto text = m.stats.render_text();
    CHECK(series(text, "rideshard_offers_made_total") == 1);
    CHECK(series(text, "rideshard_offer_outcomes_total{outcome=\"busy\"}") <= 0);
  }
}

TEST_CASE("a parked request at an edge is served by a driver freed in the next shard") {
  harness h;
  const lat_lng pickup = h.near(0, edge_east_m - 50);
  auto rider = h.connect("r-1");
  // A driver exists in the east shard but is offline: the request parks.
  auto across = h.connect("d-1");
  h.reply<schemas::ack>(
      across, h.send(across, schemas::location_batch{
                                 {h.sample(h.near(0, edge_east_m + 250), h.clock->load())}}));
  auto home = h.online_driver("d-2", h.near(0, 0));
  REQUIRE(wait_nearby(h, h.near(0, 0), 10, 10, 1).size() == 1);
  const trip_id trip = h.request_ride(rider, pickup, h.near(3000, 2000)).trip;
  auto first = h.next_offer(home);
  REQUIRE(first);
  h.reply<schemas::ack>(home, h.send(home, schemas::decline_offer{trip, "no"}));
  // Once the trip is back to requested, its matcher has been told (closed) and
  // parks the request; a nearby query through that matcher is ordered after it.
  for (int i = 0; i < 1000; ++i) {
    auto snap = h.node->trip_snapshot(trip);
    REQUIRE(snap.ok());
    if (snap->state == trip_state::requested) break;
  }
  REQUIRE(h.node->trip_snapshot(trip)->state == trip_state::requested);
  REQUIRE(h.node->nearby(pickup.lat, pickup.lng, 10, 1).ok());
  CHECK(across->all<schemas::offer>().empty());
  // Now d-1 comes online in the east shard: only its own matcher hears of it.
  h.reply<schemas::ack>(across, h.send(across, schemas::go_online{}));
  auto offer = h.next_offer(across);
  REQUIRE(offer);
  CHECK(offer->trip == trip);
}
