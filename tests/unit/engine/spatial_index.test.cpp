// spatial_index: every bad input, edge positions, ties, and nearest() against a
// brute-force reference on uniform and hotspot data through moves and removes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "rideshard/engine/spatial_index.hpp"

using namespace rideshard;

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_v = std::numeric_limits<double>::infinity();
constexpr bounding_box nyc{{40.49, -74.26}, {40.92, -73.70}};

spatial_index_config config_for(bounding_box bounds) {
  spatial_index_config cfg;
  cfg.bounds = bounds;
  return cfg;
}

spatial_index make_index(const spatial_index_config& cfg) {
  auto r = spatial_index::create(cfg);
  REQUIRE(r.ok());
  return std::move(r).value();
}

driver_id d(std::uint64_t v) { return driver_id{v}; }

struct hit {
  std::uint64_t id;
  double distance;
};

using model = std::map<std::uint64_t, lat_lng>;  // what the test believes is indexed

// The reference: every driver's indexed position, haversine, sorted (distance, id).
std::vector<hit> brute_force(const model& indexed, lat_lng c, double radius, std::size_t k) {
  std::vector<hit> all;
  for (const auto& [id, pos] : indexed) {
    const double dist = distance_m(c, pos);
    if (dist <= radius) all.push_back({id, dist});
  }
  std::sort(all.begin(), all.end(), [](const hit& a, const hit& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
  });
  if (all.size() > k) all.resize(k);
  return all;
}

// Agreement with the reference: the same count, distances equal within `tol`
// (reported distances come from the float-stored point, positions are clamped
// into the bounds: they differ from haversine(center, pos) by micrometres)
// place by place, the same drivers strictly inside the k-th distance (drivers
// tied within `tol` at the k-th place may differ), sorted by (distance, id),
// and positions exactly as position() reports them.
void check_same(const std::vector<neighbor>& got, const std::vector<hit>& want,
                const model& indexed, double tol) {
  REQUIRE(got.size() == want.size());
  const double edge = want.empty() ? 0.0 : want.back().distance;
  std::vector<std::uint64_t> got_inner, want_inner;
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    REQUIRE(std::abs(got[i].distance_m - want[i].distance) <= tol);
    if (want[i].distance < edge - tol) want_inner.push_back(want[i].id);
    if (got[i].distance_m < edge - tol) got_inner.push_back(got[i].id.value);
    const auto it = indexed.find(got[i].id.value);
    REQUIRE(it != indexed.end());
    REQUIRE(got[i].pos == it->second);
    if (i > 0) {
      const bool ordered =
          got[i - 1].distance_m < got[i].distance_m ||
          (got[i - 1].distance_m == got[i].distance_m && got[i - 1].id < got[i].id);
      REQUIRE(ordered);
    }
  }
  std::sort(got_inner.begin(), got_inner.end());
  std::sort(want_inner.begin(), want_inner.end());
  REQUIRE(got_inner == want_inner);
}

lat_lng uniform_in(const bounding_box& bb, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> lat(bb.south_west.lat, bb.north_east.lat);
  std::uniform_real_distribution<double> lng(bb.south_west.lng, bb.north_east.lng);
  const double la = lat(rng), ln = lng(rng);
  return {la, ln > 180 ? ln - 360 : ln};  // a widened box may cross the antimeridian
}

lat_lng offset_m(lat_lng p, double north_m, double east_m) {
  constexpr double m_per_deg = 111'195.08;
  return {p.lat + north_m / m_per_deg,
          p.lng + east_m / (m_per_deg * std::cos(p.lat * 3.14159265358979 / 180))};
}

lat_lng clamp_to(const bounding_box& bb, lat_lng p) {
  return {std::clamp(p.lat, bb.south_west.lat, bb.north_east.lat),
          std::clamp(p.lng, bb.south_west.lng, bb.north_east.lng)};
}

// Drivers around a few tight gaussian hotspots, plus exact duplicates (ties).
struct hotspot_sampler {
  std::vector<lat_lng> centres;
  std::vector<double> sigma_m;
  lat_lng operator()(const bounding_box& bb, std::mt19937_64& rng) const {
    std::uniform_int_distribution<std::size_t> pick(0, centres.size() - 1);
    std::normal_distribution<double> g(0, 1);
    const std::size_t h = pick(rng);
    return clamp_to(bb, offset_m(centres[h], g(rng) * sigma_m[h], g(rng) * sigma_m[h]));
  }
};

}  // namespace

TEST_CASE("create validates the config") {
  CHECK(spatial_index::create(config_for(nyc)).ok());
  auto bad_bounds = [](bounding_box bb) { return spatial_index::create(config_for(bb)).code(); };
  CHECK(bad_bounds({{nan_v, -74.26}, {40.92, -73.70}}) == errc::invalid_coordinate);
  CHECK(bad_bounds({{40.49, -74.26}, {40.92, inf_v}}) == errc::invalid_coordinate);
  CHECK(bad_bounds({{40.49, -74.26}, {95, -73.70}}) == errc::invalid_coordinate);
  CHECK(bad_bounds({{40.92, -74.26}, {40.49, -73.70}}) == errc::bad_config);  // inverted
  CHECK(bad_bounds({{40.49, -74.26}, {40.49, -73.70}}) == errc::bad_config);  // empty
  CHECK(bad_bounds({{40.0, -74.0}, {61.0, -73.0}}) == errc::bad_config);      // too large
  for (double size : {0.0, -250.0, 0.5, nan_v, inf_v}) {
    CAPTURE(size);
    auto cfg = config_for(nyc);
    cfg.bucket_size_m = size;
    auto r = spatial_index::create(cfg);
    CHECK(r.code() == errc::bad_config);
    CHECK_FALSE(r.ok());
  }
  auto fine = config_for(nyc);
  fine.bucket_size_m = 5;  // ~90M cells
  CHECK(spatial_index::create(fine).code() == errc::bad_config);
  for (double radius : {0.0, -1.0, nan_v, inf_v}) {
    auto cfg = config_for(nyc);
    cfg.max_radius_m = radius;
    CHECK(spatial_index::create(cfg).code() == errc::bad_config);
  }
  auto no_k = config_for(nyc);
  no_k.max_k = 0;
  CHECK(spatial_index::create(no_k).code() == errc::bad_config);
}

TEST_CASE("upsert and remove reject bad input and leave the index unchanged") {
  auto idx = make_index(config_for(nyc));
  const lat_lng midtown{40.754, -73.984};
  REQUIRE(idx.upsert(d(1), midtown).ok());
  const auto expect = [&](result<void> r, errc code) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == code);
    CHECK_FALSE(r.err().message.empty());
  };
  expect(idx.upsert(d(0), midtown), errc::invalid_argument);
  expect(idx.upsert(d(1), {nan_v, -73.9}), errc::invalid_coordinate);
  expect(idx.upsert(d(1), {40.7, nan_v}), errc::invalid_coordinate);
  expect(idx.upsert(d(1), {inf_v, -73.9}), errc::invalid_coordinate);
  expect(idx.upsert(d(1), {40.7, -inf_v}), errc::invalid_coordinate);
  expect(idx.upsert(d(1), {91, -73.9}), errc::invalid_coordinate);
  expect(idx.upsert(d(1), {40.7, -181}), errc::invalid_coordinate);
  expect(idx.upsert(d(1), {40.48, -74.0}), errc::out_of_region);
  expect(idx.upsert(d(2), {40.7, -73.69}), errc::out_of_region);
  expect(idx.upsert(d(2), {-40.7, 73.9}), errc::out_of_region);
  expect(idx.remove(d(2)), errc::unknown_driver);
  expect(idx.remove(d(0)), errc::unknown_driver);
  CHECK(idx.size() == 1);
  CHECK_FALSE(idx.contains(d(2)));
  CHECK(distance_m(*idx.position(d(1)), midtown) < 0.01);  // not moved by the failures
  REQUIRE(idx.remove(d(1)).ok());
  expect(idx.remove(d(1)), errc::unknown_driver);
  CHECK(idx.size() == 0);
  CHECK_FALSE(idx.position(d(1)).has_value());
}

TEST_CASE("nearest rejects bad centre, radius and k") {
  auto cfg = config_for(nyc);
  cfg.max_radius_m = 10'000;
  cfg.max_k = 50;
  auto idx = make_index(cfg);
  REQUIRE(idx.upsert(d(1), {40.7, -74}).ok());
  const lat_lng c{40.7, -74};
  CHECK(idx.nearest({nan_v, -74}, 100, 5).code() == errc::invalid_coordinate);
  CHECK(idx.nearest({40.7, inf_v}, 100, 5).code() == errc::invalid_coordinate);
  CHECK(idx.nearest({-91, -74}, 100, 5).code() == errc::invalid_coordinate);
  CHECK(idx.nearest({40.7, 200}, 100, 5).code() == errc::invalid_coordinate);
  for (double radius : {0.0, -5.0, nan_v, inf_v, -inf_v, 10'000.001, 1e12}) {
    CAPTURE(radius);
    CHECK(idx.nearest(c, radius, 5).code() == errc::invalid_radius);
  }
  CHECK(idx.nearest(c, 10'000, 5).ok());
  CHECK(idx.nearest(c, 100, 0).code() == errc::invalid_k);
  CHECK(idx.nearest(c, 100, 51).code() == errc::invalid_k);
  CHECK(idx.nearest(c, 100, 50).ok());
  std::vector<neighbor> out{neighbor{}};
  CHECK(idx.nearest(c, 100, 0, out).code() == errc::invalid_k);
  CHECK(out.empty());
}

TEST_CASE("positions round-trip within a centimetre, including the bounds' corners") {
  auto idx = make_index(config_for(nyc));
  const lat_lng corners[] = {nyc.south_west, nyc.north_east, {40.49, -73.70}, {40.92, -74.26}};
  std::uint64_t id = 1;
  for (const lat_lng& p : corners) {
    REQUIRE(idx.upsert(d(id), p).ok());
    const auto back = idx.position(d(id));
    REQUIRE(back.has_value());
    CHECK(distance_m(*back, p) < 0.01);
    CHECK(nyc.contains(*back));
    auto hits = idx.nearest(p, 1, 1);
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == 1);
    CHECK(hits->front().id == d(id));
    CHECK(hits->front().pos == *back);
    CHECK(std::abs(hits->front().distance_m - distance_m(p, *back)) < 1e-4);
    ++id;
  }
  CHECK(idx.size() == 4);
}

TEST_CASE("nearest: empty index, radius cut-off, k larger than the fleet, ties by id") {
  auto idx = make_index(config_for(nyc));
  const lat_lng c{40.75, -73.98};
  CHECK(idx.nearest(c, 2000, 10)->empty());
  REQUIRE(idx.upsert(d(7), offset_m(c, 100, 0)).ok());
  REQUIRE(idx.upsert(d(8), offset_m(c, 0, -200)).ok());
  REQUIRE(idx.upsert(d(9), offset_m(c, -300, 0)).ok());
  auto two = idx.nearest(c, 250, 10);
  REQUIRE(two->size() == 2);
  CHECK((*two)[0].id == d(7));
  CHECK((*two)[1].id == d(8));
  CHECK((*two)[0].distance_m == doctest::Approx(100).epsilon(1e-4));
  CHECK(idx.nearest(c, 1000, 1000)->size() == 3);
  CHECK(idx.nearest(c, 99, 10)->empty());
  // Five drivers on one spot: equal distances, ordered by id.
  const lat_lng spot = offset_m(c, 40, 40);
  for (std::uint64_t id : {50, 10, 40, 20, 30}) REQUIRE(idx.upsert(d(id), spot).ok());
  auto tied = idx.nearest(spot, 50, 3);
  REQUIRE(tied->size() == 3);
  CHECK((*tied)[0].id == d(10));
  CHECK((*tied)[1].id == d(20));
  CHECK((*tied)[2].id == d(30));
  CHECK((*tied)[0].distance_m == (*tied)[2].distance_m);
  auto all = idx.nearest(spot, 80, 10);
  REQUIRE(all->size() == 6);  // the five, then d-7 at ~72 m
  CHECK((*all)[4].id == d(50));
  CHECK((*all)[5].id == d(7));
}

TEST_CASE("moves within and across buckets keep one entry per driver") {
  auto idx = make_index(config_for(nyc));
  const lat_lng a{40.75, -73.98};
  REQUIRE(idx.upsert(d(1), a).ok());
  REQUIRE(idx.upsert(d(2), offset_m(a, 5, 5)).ok());
  REQUIRE(idx.upsert(d(1), offset_m(a, 20, 0)).ok());       // same bucket
  REQUIRE(idx.upsert(d(1), offset_m(a, 3000, 2000)).ok());  // far away
  CHECK(idx.size() == 2);
  auto near_a = idx.nearest(a, 500, 10);
  REQUIRE(near_a->size() == 1);
  CHECK(near_a->front().id == d(2));
  auto near_b = idx.nearest(offset_m(a, 3000, 2000), 10, 10);
  REQUIRE(near_b->size() == 1);
  CHECK(near_b->front().id == d(1));
  REQUIRE(idx.remove(d(2)).ok());
  CHECK(idx.nearest(a, 500, 10)->empty());
}

TEST_CASE("queries outside the bounds: near the edge, far away, across the globe") {
  auto idx = make_index(config_for(nyc));
  const lat_lng edge{40.70, -73.70};  // on the east edge
  REQUIRE(idx.upsert(d(1), edge).ok());
  auto outside = idx.nearest(offset_m(edge, 0, 500), 1000, 5);  // 500 m east, out of region
  REQUIRE(outside->size() == 1);
  CHECK(outside->front().distance_m == doctest::Approx(500).epsilon(1e-3));
  CHECK(idx.nearest(offset_m(edge, 0, 1500), 1000, 5)->empty());
  CHECK(idx.nearest({51.5, -0.12}, 50'000, 5)->empty());     // London
  CHECK(idx.nearest({-40.70, 106.30}, 50'000, 5)->empty());  // the antipode
}

TEST_CASE("upsert_batch applies the valid updates and reports the rejected ones") {
  auto idx = make_index(config_for(nyc));
  const std::vector<driver_position> batch{
      {d(1), {40.7, -74.0}}, {d(2), {91, -74.0}},   {d(3), {40.8, -73.9}},
      {d(4), {10, -74.0}},   {d(0), {40.7, -74.0}}, {d(1), {40.71, -74.0}},
  };
  auto r = idx.upsert_batch(batch);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::invalid_coordinate);
  CHECK(r.err().message.find("3 of 6") != std::string::npos);
  CHECK(idx.size() == 2);
  CHECK(distance_m(*idx.position(d(1)), {40.71, -74.0}) < 0.01);
  CHECK(idx.contains(d(3)));
  CHECK(idx.upsert_batch(batch.data(), 1).ok());
  CHECK(idx.upsert_batch(nullptr, 0).ok());
}

namespace {

// Inserts, queries, moves (single and batched), removes, re-inserts and queries
// again; every query is compared with the brute-force reference.
template <class Sampler>
void run_scenario(const bounding_box& bb, Sampler&& sample, std::size_t drivers,
                  std::size_t queries_per_round, std::uint64_t seed, double tol,
                  double bucket_m = 250) {
  auto cfg = config_for(bb);
  cfg.bucket_size_m = bucket_m;
  auto idx = make_index(cfg);
  std::mt19937_64 rng(seed);
  model truth;  // positions as upserted
  std::vector<std::uint64_t> ids;
  const auto add = [&](std::uint64_t id, lat_lng p) {
    REQUIRE(idx.upsert(d(id), p).ok());
    truth[id] = p;
  };
  for (std::size_t i = 0; i < drivers; ++i) {
    const std::uint64_t id = (i % 2 == 0) ? i + 1 : (rng() | 1);  // sequential and random
    ids.push_back(id);
    // 2% exact duplicates of an earlier position: distance ties.
    add(id, (i > 10 && i % 50 == 0) ? truth[ids[i / 2]] : sample(bb, rng));
  }
  const auto check_round = [&] {
    REQUIRE(idx.size() == truth.size());
    model indexed;
    for (const auto& [id, p] : truth) {
      const auto pos = idx.position(d(id));
      REQUIRE(pos.has_value());
      REQUIRE(distance_m(*pos, p) < 2e-7 * bucket_m);  // float offsets in a bucket
      indexed[id] = *pos;
    }
    const std::size_t ks[] = {1, 3, 10, 25, 100, 1000};
    const double radii[] = {30, 250, 1000, 2000, 5000, 50000};
    std::uniform_int_distribution<std::size_t> pick(0, 5);
    bounding_box wide = bb;  // queries also come from just outside the region
    wide.south_west = offset_m(wide.south_west, -3000, -3000);
    wide.north_east = offset_m(wide.north_east, 3000, 3000);
    std::vector<neighbor> out;
    for (std::size_t q = 0; q < queries_per_round; ++q) {
      lat_lng c = q % 3 == 0 ? sample(bb, rng) : uniform_in(wide, rng);
      if (q % 7 == 0) {  // exactly on a driver
        const auto it = indexed.lower_bound(rng());
        c = (it == indexed.end() ? indexed.begin() : it)->second;
      }
      if (q % 11 == 0) c = q % 2 ? bb.south_west : bb.north_east;
      const std::size_t k = ks[pick(rng)];
      const double radius = radii[pick(rng)];
      CAPTURE(q);
      CAPTURE(k);
      CAPTURE(radius);
      REQUIRE(idx.nearest(c, radius, k, out).ok());
      check_same(out, brute_force(indexed, c, radius, k), indexed, tol);
    }
  };
  check_round();

  std::uniform_real_distribution<double> step(10, 40), angle(0, 2 * 3.14159265358979);
  std::uniform_int_distribution<std::size_t> pick(0, ids.size() - 1);
  for (int round = 0; round < 3; ++round) {
    std::vector<driver_position> batch;
    for (std::size_t m = 0; m < drivers * 2; ++m) {
      const std::uint64_t id = ids[pick(rng)];
      if (!truth.count(id)) continue;
      lat_lng p = truth[id];
      if (m % 100 == 0) {
        p = sample(bb, rng);  // a jump across the region
      } else {
        const double s = step(rng), a = angle(rng);
        p = clamp_to(bb, offset_m(p, s * std::cos(a), s * std::sin(a)));
      }
      truth[id] = p;
      // Alternate blocks of single and batched updates, in stream order.
      if ((m / 1000) % 2 == 0) {
        REQUIRE(idx.upsert_batch(batch).ok());
        batch.clear();
        REQUIRE(idx.upsert(d(id), p).ok());
      } else {
        batch.push_back({d(id), p});
        if (batch.size() == 500) {
          REQUIRE(idx.upsert_batch(batch).ok());
          batch.clear();
        }
      }
    }
    REQUIRE(idx.upsert_batch(batch).ok());
    // Remove a quarter of the live drivers, re-insert some under new ids.
    for (std::size_t r = 0; r < drivers / 4; ++r) {
      const std::uint64_t id = ids[pick(rng)];
      if (truth.erase(id)) {
        REQUIRE(idx.remove(d(id)).ok());
        CHECK_FALSE(idx.contains(d(id)));
      } else {
        CHECK(idx.remove(d(id)).code() == errc::unknown_driver);
      }
    }
    for (std::size_t a = 0; a < drivers / 8; ++a) {
      const std::uint64_t id = rng() | 1;
      ids.push_back(id);
      add(id, sample(bb, rng));
    }
    pick = std::uniform_int_distribution<std::size_t>(0, ids.size() - 1);
    check_round();
  }
}

}  // namespace

TEST_CASE("nearest matches brute force: uniform drivers in New York") {
  run_scenario(nyc, uniform_in, 20'000, 250, 1, 1e-4);
}

TEST_CASE("nearest matches brute force: hotspot-skewed drivers in New York") {
  const hotspot_sampler hot{{{40.754, -73.984},
                             {40.708, -74.011},
                             {40.641, -73.778},
                             {40.776, -73.874},
                             {40.912, -73.71}},  // the last one straddles the north-east corner
                            {300, 150, 500, 60, 400}};
  run_scenario(nyc, hot, 20'000, 250, 2, 1e-4);
}

TEST_CASE("nearest matches brute force: fine buckets make cell-edge mistakes likely") {
  // 10 m buckets over ~4 km: most k-th neighbours sit a few cells away, so a
  // wrong cell or ring bound shows up quickly.
  const bounding_box midtown{{40.74, -74.00}, {40.776, -73.955}};
  const hotspot_sampler hot{{{40.754, -73.984}, {40.76, -73.97}}, {200, 40}};
  run_scenario(midtown, hot, 5000, 300, 6, 1e-5, 10);
  run_scenario(midtown, uniform_in, 5000, 300, 7, 1e-5, 10);
}

TEST_CASE("nearest matches brute force: equator, antimeridian and a 20-degree region") {
  SUBCASE("across the equator") {
    run_scenario(bounding_box{{-0.3, 103.6}, {1.5, 104.1}}, uniform_in, 3000, 150, 3, 1e-4);
  }
  SUBCASE("against the antimeridian, queries from the other side") {
    const bounding_box fiji{{-18.5, 177.0}, {-16.0, 180.0}};
    run_scenario(fiji, uniform_in, 3000, 150, 4, 1e-4);
    auto idx = make_index(config_for(fiji));
    REQUIRE(idx.upsert(d(1), {-17.0, 179.999}).ok());
    auto hits = idx.nearest({-17.0, -179.999}, 500, 1);  // 213 m east, across 180
    REQUIRE(hits->size() == 1);
    CHECK(hits->front().distance_m == doctest::Approx(212.7).epsilon(1e-3));
  }
  SUBCASE("a maximal 20 x 20 degree region at high latitude") {
    // Ranking uses a truncated series for the up coordinate: exact to ~1 cm here.
    run_scenario(bounding_box{{50.0, 10.0}, {70.0, 30.0}}, uniform_in, 3000, 150, 5, 0.02, 5000);
  }
}

TEST_CASE("memory accounting tracks growth") {
  auto idx = make_index(config_for(nyc));
  const std::size_t empty_bytes = idx.memory_bytes();
  CHECK(empty_bytes > 0);
  std::mt19937_64 rng(9);
  idx.reserve(5000);
  for (std::uint64_t id = 1; id <= 5000; ++id)
    REQUIRE(idx.upsert(d(id), uniform_in(nyc, rng)).ok());
  CHECK(idx.memory_bytes() >= empty_bytes + 5000 * 16);
  for (std::uint64_t id = 1; id <= 5000; ++id) REQUIRE(idx.remove(d(id)).ok());
  CHECK(idx.size() == 0);
  CHECK(idx.nearest({40.7, -74}, 50'000, 10)->empty());
}
