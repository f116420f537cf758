// Geographic primitives: coordinate validation, haversine distance and the
// hierarchical equal-angle grid (cell ids) described in geo.hpp.
#include "rideshard/engine/geo.hpp"

#include <cmath>
#include <cstdio>
#include <string>

namespace rideshard {
namespace {

constexpr double deg_to_rad = 3.14159265358979323846 / 180.0;

// Formats a double for error messages; keeps "nan"/"inf" readable.
std::string format_number(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

constexpr int row_shift = 29;
constexpr int level_shift = 58;
constexpr std::uint64_t field_mask = (std::uint64_t{1} << 29) - 1;

std::uint64_t row_of(cell_id c) noexcept { return (c.value >> row_shift) & field_mask; }
std::uint64_t col_of(cell_id c) noexcept { return c.value & field_mask; }

cell_id make_cell(int level, std::uint64_t row, std::uint64_t col) noexcept {
  return cell_id{(static_cast<std::uint64_t>(level) << level_shift) | (row << row_shift) | col};
}

// floor(t * 2^bits) clamped to [0, 2^bits - 1], where t in [0, 1]. Scaling by a
// power of two is exact, so the index at level L-1 is always the index at L
// shifted right by one: a cell's parent contains every point of the cell.
std::uint64_t grid_index(double t, int bits) noexcept {
  const double scaled = std::floor(std::ldexp(t, bits));
  const std::uint64_t limit = (std::uint64_t{1} << bits) - 1;
  if (scaled <= 0) return 0;
  const auto idx = static_cast<std::uint64_t>(scaled);
  return idx > limit ? limit : idx;
}

}  // namespace

result<void> validate(lat_lng p) {
  if (!std::isfinite(p.lat) || !std::isfinite(p.lng)) {
    return error{errc::invalid_coordinate, "coordinate must be finite, got lat " +
                                               format_number(p.lat) + ", lng " +
                                               format_number(p.lng)};
  }
  if (p.lat < -90.0 || p.lat > 90.0) {
    return error{errc::invalid_coordinate,
                 "latitude " + format_number(p.lat) + " is outside [-90, 90]"};
  }
  if (p.lng < -180.0 || p.lng > 180.0) {
    return error{errc::invalid_coordinate,
                 "longitude " + format_number(p.lng) + " is outside [-180, 180]"};
  }
  return {};
}

result<lat_lng> make_lat_lng(double lat, double lng) {
  const lat_lng p{lat, lng};
  if (auto v = validate(p); !v) return v.err();
  return p;
}

double distance_m(lat_lng a, lat_lng b) noexcept {
  // Haversine: well conditioned for the short distances dispatch cares about.
  const double phi1 = a.lat * deg_to_rad;
  const double phi2 = b.lat * deg_to_rad;
  const double s_dphi = std::sin((phi2 - phi1) * 0.5);
  const double s_dlam = std::sin((b.lng - a.lng) * deg_to_rad * 0.5);
  double h = s_dphi * s_dphi + std::cos(phi1) * std::cos(phi2) * s_dlam * s_dlam;
  if (h > 1.0) h = 1.0;
  return 2.0 * earth_radius_m * std::asin(std::sqrt(h));
}

result<cell_id> cell_of(lat_lng p, int level) {
  if (level < 0 || level > max_cell_level) {
    return error{errc::invalid_argument, "cell level " + std::to_string(level) +
                                             " is outside [0, " + std::to_string(max_cell_level) +
                                             "]"};
  }
  if (auto v = validate(p); !v) return v.err();
  const std::uint64_t row = grid_index((p.lat + 90.0) / 180.0, level);
  const std::uint64_t col = grid_index((p.lng + 180.0) / 360.0, level + 1);
  return make_cell(level, row, col);
}

int cell_level(cell_id c) noexcept { return static_cast<int>(c.value >> level_shift); }

lat_lng cell_center(cell_id c) noexcept {
  const int level = cell_level(c);
  const double lat = std::ldexp(static_cast<double>(row_of(c)) + 0.5, -level) * 180.0 - 90.0;
  const double lng = std::ldexp(static_cast<double>(col_of(c)) + 0.5, -(level + 1)) * 360.0 - 180.0;
  return lat_lng{lat, lng};
}

cell_id cell_parent(cell_id c) noexcept {
  const int level = cell_level(c);
  if (level == 0) return c;
  return make_cell(level - 1, row_of(c) >> 1, col_of(c) >> 1);
}

// ---- tangent plane ---------------------------------------------------------

namespace {

// sin x and versine 1 - cos x for |x| <= ~0.2 rad by Taylor series; the first
// omitted terms are below 1e-19 relative there.
// Below 0.02 rad (~130 km) four terms suffice, which is every city region.
double series_sin(double x) noexcept {
  const double x2 = x * x;
  if (std::abs(x) < 0.02) return x * (1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42)));
  return x * (1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72 * (1 - x2 / 110)))));
}
double series_vers(double x) noexcept {
  const double x2 = x * x;
  if (std::abs(x) < 0.02) return x2 / 2 * (1 - x2 / 12 * (1 - x2 / 30 * (1 - x2 / 56)));
  return x2 / 2 * (1 - x2 / 12 * (1 - x2 / 30 * (1 - x2 / 56 * (1 - x2 / 90 * (1 - x2 / 132)))));
}
// asin and atan for |x| <= 0.05 by Taylor series (first omitted term < 1e-19).
double series_asin(double x) noexcept {
  const double x2 = x * x;
  return x * (1 + x2 * (1.0 / 6 + x2 * (3.0 / 40 + x2 * (15.0 / 336 + x2 * (105.0 / 3456 +
                                                                            x2 * 945.0 / 42240)))));
}
double series_atan(double x) noexcept {
  const double x2 = x * x;
  return x * (1 - x2 * (1.0 / 3 - x2 * (1.0 / 5 - x2 * (1.0 / 7 - x2 * (1.0 / 9 - x2 / 11)))));
}
constexpr double series_inverse_limit = 0.05;
double fast_asin(double x) noexcept {
  return std::abs(x) <= series_inverse_limit ? series_asin(x) : std::asin(x);
}
double exact_vers(double x) noexcept {
  const double s = std::sin(x * 0.5);
  return 2 * s * s;
}
// Longitude difference b - a in degrees, wrapped into [-180, 180].
double wrap_dlng(double a, double b) noexcept {
  double d = b - a;
  if (d > 180.0) d -= 360.0;
  if (d < -180.0) d += 360.0;
  return d;
}

}  // namespace

tangent_plane::tangent_plane(lat_lng origin) noexcept
    : origin_(origin),
      sin_lat0_(std::sin(origin.lat * deg_to_rad)),
      cos_lat0_(std::cos(origin.lat * deg_to_rad)) {}

tangent_plane::point tangent_plane::from_offsets(double sin_dlat, double vers_dlat, double sin_dlng,
                                                 double vers_dlng) const noexcept {
  // With dlat = lat - lat0 and dlng = lng - lng0, the rotation of the unit
  // vector into the origin's east/north/up axes, written with versines so that
  // nothing cancels for nearby points.
  const double cos_lat = cos_lat0_ * (1 - vers_dlat) - sin_lat0_ * sin_dlat;
  point out;
  out.east = earth_radius_m * cos_lat * sin_dlng;
  out.north = earth_radius_m * (sin_dlat + cos_lat * sin_lat0_ * vers_dlng);
  out.up = -earth_radius_m * (vers_dlat + cos_lat * cos_lat0_ * vers_dlng);
  return out;
}

tangent_plane::point tangent_plane::project(lat_lng p) const noexcept {
  const double dlat = (p.lat - origin_.lat) * deg_to_rad;
  const double dlng = wrap_dlng(origin_.lng, p.lng) * deg_to_rad;
  return from_offsets(std::sin(dlat), exact_vers(dlat), std::sin(dlng), exact_vers(dlng));
}

tangent_plane::point tangent_plane::project_near(lat_lng p) const noexcept {
  const double dlat = (p.lat - origin_.lat) * deg_to_rad;
  const double dlng = (p.lng - origin_.lng) * deg_to_rad;
  return from_offsets(series_sin(dlat), series_vers(dlat), series_sin(dlng), series_vers(dlng));
}

double tangent_plane::up_of(double east, double north) noexcept {
  const double rho2 = east * east + north * north;
  const double r2 = earth_radius_m * earth_radius_m;
  if (rho2 >= r2) return -earth_radius_m;
  return -rho2 / (earth_radius_m + std::sqrt(r2 - rho2));
}

lat_lng tangent_plane::unproject(double east, double north) const noexcept {
  const double radial = earth_radius_m + up_of(east, north);  // distance from the axis plane
  const double z = north * cos_lat0_ + radial * sin_lat0_;    // R sin(lat)
  const double x = radial * cos_lat0_ - north * sin_lat0_;    // R cos(lat) cos(dlng)
  double lat, lng;
  const double sin_lat = z / earth_radius_m;
  if (std::abs(sin_lat) < 0.9) {
    // lat = lat0 + asin(sin(lat - lat0)): a series near the origin, no libm.
    const double cos_lat = std::sqrt(1 - sin_lat * sin_lat);
    lat = origin_.lat + fast_asin(sin_lat * cos_lat0_ - cos_lat * sin_lat0_) / deg_to_rad;
  } else {
    lat = std::atan2(z, std::hypot(east, x)) / deg_to_rad;
  }
  const double t = east / x;
  const double dlng =
      (x > 0 && std::abs(t) <= series_inverse_limit) ? series_atan(t) : std::atan2(east, x);
  lng = origin_.lng + dlng / deg_to_rad;
  if (lng > 180.0) lng -= 360.0;
  if (lng < -180.0) lng += 360.0;
  if (lat > 90.0) lat = 90.0;
  if (lat < -90.0) lat = -90.0;
  return lat_lng{lat, lng};
}

double chord_of_distance_m(double distance_m) noexcept {
  constexpr double pi = 3.14159265358979323846;
  double angle = distance_m / earth_radius_m;
  if (angle > pi) angle = pi;
  if (angle < 0) angle = 0;
  return 2 * earth_radius_m * std::sin(angle * 0.5);
}

double distance_of_chord_m(double chord_m) noexcept {
  double half = chord_m / (2 * earth_radius_m);
  if (half > 1) half = 1;
  if (half < 0) half = 0;
  return 2 * earth_radius_m * fast_asin(half);
}

}  // namespace rideshard
