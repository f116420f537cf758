// Coordinates, haversine distance, grid cells and the tangent plane: bad input,
// known distances, cell hierarchy and projection round trips.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "rideshard/engine/geo.hpp"

using namespace rideshard;

namespace {
constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_v = std::numeric_limits<double>::infinity();
constexpr double pi = 3.14159265358979323846;
}  // namespace

TEST_CASE("make_lat_lng accepts the closed ranges") {
  for (double lat : {-90.0, -45.5, 0.0, 40.7, 90.0}) {
    for (double lng : {-180.0, -73.9, 0.0, 180.0}) {
      auto p = make_lat_lng(lat, lng);
      REQUIRE(p.ok());
      CHECK(p->lat == lat);
      CHECK(p->lng == lng);
      CHECK(validate(*p).ok());
    }
  }
}

TEST_CASE("make_lat_lng rejects out-of-range, NaN and infinite values with a message") {
  struct bad {
    double lat, lng;
    const char* mentions;
  };
  const bad cases[] = {
      {90.0001, 0, "latitude"},   {-90.0001, 0, "latitude"},   {1e9, 0, "latitude"},
      {0, 180.0001, "longitude"}, {0, -180.0001, "longitude"}, {0, -1e9, "longitude"},
      {nan_v, 0, "finite"},       {0, nan_v, "finite"},        {inf_v, 0, "finite"},
      {0, -inf_v, "finite"},      {-inf_v, inf_v, "finite"},   {nan_v, nan_v, "finite"},
  };
  for (const bad& c : cases) {
    CAPTURE(c.lat);
    CAPTURE(c.lng);
    auto p = make_lat_lng(c.lat, c.lng);
    REQUIRE_FALSE(p.ok());
    CHECK(p.code() == errc::invalid_coordinate);
    CHECK(p.err().message.find(c.mentions) != std::string::npos);
    auto v = validate(lat_lng{c.lat, c.lng});
    REQUIRE_FALSE(v.ok());
    CHECK(v.code() == errc::invalid_coordinate);
  }
  CHECK(make_lat_lng(91, 0).err().message.find("91") != std::string::npos);
}

TEST_CASE("haversine distances match known values") {
  const lat_lng jfk{40.6413, -73.7781};
  const lat_lng lax{33.9416, -118.4085};
  const double d = distance_m(jfk, lax);
  CHECK(std::abs(d - 3'974'000.0) < 0.005 * 3'974'000.0);
  CHECK(distance_m(lax, jfk) == doctest::Approx(d).epsilon(1e-12));
  CHECK(distance_m(jfk, jfk) == 0.0);
  // A quarter meridian, half the globe, and one degree of latitude.
  CHECK(distance_m({0, 0}, {90, 0}) == doctest::Approx(pi / 2 * earth_radius_m).epsilon(1e-12));
  CHECK(distance_m({0, 0}, {0, 180}) == doctest::Approx(pi * earth_radius_m).epsilon(1e-12));
  // Haversine is ill-conditioned at the antipode (~0.1 m): fine for dispatch.
  CHECK(distance_m({10, 20}, {-10, -160}) == doctest::Approx(pi * earth_radius_m).epsilon(1e-7));
  CHECK(distance_m({40, -74}, {41, -74}) == doctest::Approx(111'195.08).epsilon(1e-6));
  // Short distances keep their precision (a 1e-5 degree step is ~1.11 m).
  CHECK(distance_m({40, -74}, {40.00001, -74}) == doctest::Approx(1.1119508).epsilon(1e-6));
  // Across the antimeridian the short way round.
  CHECK(distance_m({0, 179.999}, {0, -179.999}) == doctest::Approx(222.39).epsilon(1e-3));
}

TEST_CASE("cell_of rejects bad levels and coordinates") {
  CHECK(cell_of({40.7, -74}, -1).code() == errc::invalid_argument);
  CHECK(cell_of({40.7, -74}, max_cell_level + 1).code() == errc::invalid_argument);
  CHECK(cell_of({nan_v, -74}, 12).code() == errc::invalid_coordinate);
  CHECK(cell_of({40.7, 181}, 12).code() == errc::invalid_coordinate);
  CHECK(cell_of({40.7, -74}, 0).ok());
  CHECK(cell_of({40.7, -74}, max_cell_level).ok());
}

TEST_CASE("cell layout: level 0 has two cells, corners map to the extreme rows and columns") {
  auto west = cell_of({10, -10}, 0);
  auto east = cell_of({10, 10}, 0);
  REQUIRE(west.ok());
  REQUIRE(east.ok());
  CHECK(west->value == 0);
  CHECK(east->value == 1);
  CHECK(cell_level(*east) == 0);
  CHECK(cell_parent(*east) == *east);
  for (int level : {0, 1, 12, 27, max_cell_level}) {
    CAPTURE(level);
    const std::uint64_t rows = std::uint64_t{1} << level;
    auto sw = cell_of({-90, -180}, level);
    auto ne = cell_of({90, 180}, level);
    REQUIRE(sw.ok());
    REQUIRE(ne.ok());
    CHECK(sw->value == (std::uint64_t(level) << 58));
    CHECK(ne->value == ((std::uint64_t(level) << 58) | (rows - 1) << 29 | (2 * rows - 1)));
    CHECK(cell_level(*ne) == level);
  }
}

TEST_CASE("cells nest: every point's cell at L has the point's cell at L-1 as parent") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-90, 90), lng(-180, 180);
  for (int i = 0; i < 2000; ++i) {
    const lat_lng p{lat(rng), lng(rng)};
    for (int level = max_cell_level; level > 0; --level) {
      const cell_id c = *cell_of(p, level);
      REQUIRE(cell_level(c) == level);
      REQUIRE(cell_parent(c) == *cell_of(p, level - 1));
      if (level % 4 == 0) {
        // The point lies inside its cell: within half a cell of the centre.
        const lat_lng ctr = cell_center(c);
        const double half_lat = 90.0 / std::ldexp(1.0, level);
        REQUIRE(std::abs(p.lat - ctr.lat) <= half_lat * (1 + 1e-9));
        REQUIRE(std::abs(p.lng - ctr.lng) <= half_lat * (1 + 1e-9));
        REQUIRE(*cell_of(ctr, level) == c);
      }
    }
  }
}

TEST_CASE("level 12 cells are about 4.9 km tall and neighbours differ") {
  const cell_id a = *cell_of({40.75, -73.98}, 12);
  const lat_lng ctr = cell_center(a);
  const lat_lng north{ctr.lat + 180.0 / 4096, ctr.lng};
  const cell_id b = *cell_of(north, 12);
  CHECK(a != b);
  CHECK(a == cell_parent(cell_parent(*cell_of(ctr, 14))));
  CHECK(distance_m(ctr, cell_center(b)) == doctest::Approx(4886).epsilon(0.01));
}

TEST_CASE("tangent plane: exact chords, round trips, series agrees with libm") {
  const tangent_plane tp({40.705, -73.98});
  CHECK(tp.project(tp.origin()).east == 0.0);
  CHECK(tp.project(tp.origin()).up == 0.0);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> off(-tangent_plane::near_limit_deg,
                                             tangent_plane::near_limit_deg);
  for (int i = 0; i < 5000; ++i) {
    const lat_lng a{40.705 + off(rng), -73.98 + off(rng)};
    const lat_lng b{40.705 + off(rng) * 0.01, -73.98 + off(rng) * 0.01};
    const auto pa = tp.project(a), na = tp.project_near(a);
    REQUIRE(std::abs(pa.east - na.east) < 1e-6);
    REQUIRE(std::abs(pa.north - na.north) < 1e-6);
    REQUIRE(std::abs(pa.up - na.up) < 1e-6);
    REQUIRE(std::abs(tangent_plane::up_of(pa.east, pa.north) - pa.up) < 1e-6);
    const lat_lng back = tp.unproject(pa.east, pa.north);
    REQUIRE(distance_m(a, back) < 1e-6);
    const auto pb = tp.project(b);
    const double chord = std::sqrt((pa.east - pb.east) * (pa.east - pb.east) +
                                   (pa.north - pb.north) * (pa.north - pb.north) +
                                   (pa.up - pb.up) * (pa.up - pb.up));
    const double d = distance_m(a, b);
    REQUIRE(distance_of_chord_m(chord) == doctest::Approx(d).epsilon(1e-9));
    REQUIRE(chord_of_distance_m(d) == doctest::Approx(chord).epsilon(1e-9));
  }
  // Points far away (other hemisphere) project with a very negative up.
  CHECK(tp.project({-40.705, 106.02}).up == doctest::Approx(-2 * earth_radius_m));
  CHECK(chord_of_distance_m(pi * earth_radius_m) == doctest::Approx(2 * earth_radius_m));
  CHECK(distance_of_chord_m(3 * earth_radius_m) == doctest::Approx(pi * earth_radius_m));
}
