// Geographic primitives: validated coordinates, great-circle distance, grid cell
// ids used as shard keys and index buckets, and bounding boxes.
#pragma once

#include <cstdint>

#include "rideshard/engine/result.hpp"

namespace rideshard {

/// A WGS84 position in degrees. Construct through make_lat_lng() to validate.
struct lat_lng {
  double lat = 0;
  double lng = 0;
};

inline bool operator==(lat_lng a, lat_lng b) { return a.lat == b.lat && a.lng == b.lng; }

/// Validates lat in [-90, 90], lng in [-180, 180], both finite.
[[nodiscard]] result<lat_lng> make_lat_lng(double lat, double lng);
[[nodiscard]] result<void> validate(lat_lng p);

/// Mean Earth radius (IUGG), metres.
inline constexpr double earth_radius_m = 6371008.8;

/// Great-circle (haversine) distance in metres. Inputs must be valid.
double distance_m(lat_lng a, lat_lng b) noexcept;

/// An axis-aligned lat/lng box (no antimeridian crossing).
struct bounding_box {
  lat_lng south_west;
  lat_lng north_east;
  bool contains(lat_lng p) const noexcept {
    return p.lat >= south_west.lat && p.lat <= north_east.lat && p.lng >= south_west.lng &&
           p.lng <= north_east.lng;
  }
};

/// A cell of a hierarchical equal-angle grid over the globe: level L splits
/// latitude into 2^L rows and longitude into 2^(L+1) columns (level 12 cells are
/// ~4.9 km x ~4.9 km·cos(lat)), the shard key. Encoded as level (5 bits) << 58 |
/// row << 29 | column. Max level 28.
struct cell_id {
  std::uint64_t value = 0;
  friend bool operator==(cell_id a, cell_id b) { return a.value == b.value; }
  friend bool operator!=(cell_id a, cell_id b) { return a.value != b.value; }
  friend bool operator<(cell_id a, cell_id b) { return a.value < b.value; }
};

inline constexpr int max_cell_level = 28;

/// The cell at `level` containing p. p must be valid, level in [0, max_cell_level].
[[nodiscard]] result<cell_id> cell_of(lat_lng p, int level);
int cell_level(cell_id c) noexcept;
/// The centre of a cell.
lat_lng cell_center(cell_id c) noexcept;
/// The parent cell one level up (level 0 returns itself).
cell_id cell_parent(cell_id c) noexcept;

/// A local east/north/up frame (metres) tangent to the sphere at `origin`: a
/// rotation of 3-D space, so the straight-line (chord) distance between two
/// projected points is exact and monotone in their great-circle distance.
/// Immutable after construction; safe to share between threads.
class tangent_plane {
 public:
  struct point {
    double east = 0;
    double north = 0;
    double up = 0;  ///< 0 at the origin, negative elsewhere (the sphere curves away)
  };

  explicit tangent_plane(lat_lng origin) noexcept;

  lat_lng origin() const noexcept { return origin_; }
  /// Projects any valid point.
  point project(lat_lng p) const noexcept;
  /// Projects a valid point within near_limit_deg of the origin in both latitude
  /// and longitude, without calling libm (series expansion, ~1e-15 relative).
  point project_near(lat_lng p) const noexcept;
  /// The point of the origin's hemisphere with these east/north coordinates.
  lat_lng unproject(double east, double north) const noexcept;
  /// The up coordinate of the origin-hemisphere point at (east, north).
  static double up_of(double east, double north) noexcept;

  static constexpr double near_limit_deg = 10.0;

 private:
  point from_offsets(double sin_dlat, double vers_dlat, double sin_dlng,
                     double vers_dlng) const noexcept;
  lat_lng origin_;
  double sin_lat0_ = 0;
  double cos_lat0_ = 1;
};

/// Chord length (metres) of a great-circle distance, and back.
double chord_of_distance_m(double distance_m) noexcept;
double distance_of_chord_m(double chord_m) noexcept;

}  // namespace rideshard
