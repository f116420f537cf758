// Spatial index of drivers: a flat bucket grid over the region's tangent plane
// plus an open-addressing id table. Updates, removals and k-nearest queries.
//
// Layout and memory budget per driver (measured 38-39 B at 1M NYC drivers):
//   entry {id u64, east f32, north f32}       16 B x bucket capacity slack
//     (offsets from the bucket's corner, so float keeps ~15 um resolution)
//   id table slot u64 (load 0.375-0.75)       11-21 B
//   bucket headers (16 B per 250 m cell) and allocator overhead: ~1 B
// Each bucket is a small array; removal swaps the last entry into the hole and
// re-points that entry's id-table slot. A move within a bucket only overwrites
// east/north, which is most GPS updates (steps of tens of metres vs 250 m cells).
//
// Queries rank by the 3-D chord through the sphere (east, north and the derived
// up coordinate), which is monotone in great-circle distance: no planar
// approximation, so results agree with distance_m() (to ~1e-7 m in a city).
// Both hot paths are bound by cache misses, hence the software prefetching.
#include "rideshard/engine/spatial_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace rideshard {
namespace {

constexpr std::uint64_t empty_slot = ~std::uint64_t{0};
constexpr int field_bits = 24;
constexpr std::uint64_t field_mask = (std::uint64_t{1} << field_bits) - 1;
constexpr std::uint32_t max_bucket_size = static_cast<std::uint32_t>(field_mask) - 1;
constexpr std::size_t max_buckets = std::size_t{1} << 22;
constexpr double max_span_deg = 2 * tangent_plane::near_limit_deg;

std::uint64_t hash_id(std::uint64_t id) noexcept {
  // splitmix64 finaliser: ids are often sequential or Snowflake-shaped.
  id += 0x9e3779b97f4a7c15ULL;
  id = (id ^ (id >> 30)) * 0xbf58476d1ce4e5b9ULL;
  id = (id ^ (id >> 27)) * 0x94d049bb133111ebULL;
  return id ^ (id >> 31);
}
std::uint64_t tag_of(std::uint64_t hash) noexcept { return hash & 0xffff; }
std::uint64_t pack(std::uint64_t hash, std::uint64_t b, std::uint64_t s) noexcept {
  return tag_of(hash) << 48 | b << field_bits | s;
}
std::uint32_t bucket_field(std::uint64_t packed) noexcept {
  return static_cast<std::uint32_t>((packed >> field_bits) & field_mask);
}
std::uint32_t slot_field(std::uint64_t packed) noexcept {
  return static_cast<std::uint32_t>(packed & field_mask);
}

std::string format_number(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

result<void> check_config(const spatial_index_config& cfg) {
  if (auto v = validate(cfg.bounds.south_west); !v) {
    return error{v.code(), "bounds south_west: " + v.err().message};
  }
  if (auto v = validate(cfg.bounds.north_east); !v) {
    return error{v.code(), "bounds north_east: " + v.err().message};
  }
  const double lat_span = cfg.bounds.north_east.lat - cfg.bounds.south_west.lat;
  const double lng_span = cfg.bounds.north_east.lng - cfg.bounds.south_west.lng;
  if (!(lat_span > 0) || !(lng_span > 0)) {
    return error{errc::bad_config,
                 "bounds are empty: south_west must be strictly south and west of north_east"};
  }
  if (lat_span > max_span_deg || lng_span > max_span_deg) {
    return error{errc::bad_config, "bounds span more than " + format_number(max_span_deg) +
                                       " degrees; split the region into shards"};
  }
  if (!std::isfinite(cfg.bucket_size_m) || cfg.bucket_size_m < 1.0) {
    return error{errc::bad_config,
                 "bucket_size_m must be >= 1, got " + format_number(cfg.bucket_size_m)};
  }
  if (!std::isfinite(cfg.max_radius_m) || !(cfg.max_radius_m > 0)) {
    return error{errc::bad_config,
                 "max_radius_m must be > 0, got " + format_number(cfg.max_radius_m)};
  }
  if (cfg.max_k == 0) return error{errc::bad_config, "max_k must be >= 1"};
  return {};
}

}  // namespace

spatial_index::spatial_index(const spatial_index_config& cfg, const tangent_plane& frame)
    : cfg_(cfg), frame_(frame) {}

result<spatial_index> spatial_index::create(const spatial_index_config& cfg) {
  if (auto v = check_config(cfg); !v) return v.err();
  const bounding_box& bb = cfg.bounds;
  const lat_lng centre{(bb.south_west.lat + bb.north_east.lat) / 2,
                       (bb.south_west.lng + bb.north_east.lng) / 2};
  spatial_index idx(cfg, tangent_plane(centre));
  // The plane image of the box is bounded by these points: east is extreme on the
  // east/west edges (at a corner or the equator), north on the north/south edges
  // (at a corner or the centre meridian).
  const double s = bb.south_west.lat, n = bb.north_east.lat;
  const double w = bb.south_west.lng, e = bb.north_east.lng;
  std::vector<lat_lng> extremes{{s, w}, {s, e}, {n, w}, {n, e}, {s, centre.lng}, {n, centre.lng}};
  if (s < 0 && n > 0) {
    extremes.push_back({0, w});
    extremes.push_back({0, e});
  }
  double min_e = 0, max_e = 0, min_n = 0, max_n = 0;
  for (const lat_lng& p : extremes) {
    const tangent_plane::point q = idx.frame_.project(p);
    min_e = std::min(min_e, q.east);
    max_e = std::max(max_e, q.east);
    min_n = std::min(min_n, q.north);
    max_n = std::max(max_n, q.north);
  }
  // Margin for float rounding of stored coordinates (and a little more).
  const double margin = 1.0 + 1e-6 * std::max({-min_e, max_e, -min_n, max_n});
  const double nx = std::ceil((max_e - min_e + 2 * margin) / cfg.bucket_size_m);
  const double ny = std::ceil((max_n - min_n + 2 * margin) / cfg.bucket_size_m);
  if (nx * ny > static_cast<double>(max_buckets)) {
    return error{errc::bad_config, "bucket grid of " + format_number(nx * ny) + " cells exceeds " +
                                       std::to_string(max_buckets) + "; raise bucket_size_m"};
  }
  idx.grid_east0_ = min_e - margin;
  idx.grid_north0_ = min_n - margin;
  idx.bucket_m_ = cfg.bucket_size_m;
  idx.inv_bucket_m_ = 1.0 / cfg.bucket_size_m;
  // up falls with the distance from the origin, so the grid's far corner bounds it.
  idx.min_up_ =
      tangent_plane::up_of(std::max(-min_e, max_e) + margin, std::max(-min_n, max_n) + margin);
  idx.grid_nx_ = static_cast<std::int32_t>(nx);
  idx.grid_ny_ = static_cast<std::int32_t>(ny);
  idx.buckets_.resize(static_cast<std::size_t>(nx * ny));
  idx.rehash(16);
  return idx;
}

std::uint32_t spatial_index::bucket_of(double east, double north) const noexcept {
  // Clamped to be non-negative first, so truncation is floor.
  const double fx = (east - grid_east0_) * inv_bucket_m_;
  const double fy = (north - grid_north0_) * inv_bucket_m_;
  const auto ix = std::min(static_cast<std::int32_t>(std::max(fx, 0.0)), grid_nx_ - 1);
  const auto iy = std::min(static_cast<std::int32_t>(std::max(fy, 0.0)), grid_ny_ - 1);
  return static_cast<std::uint32_t>(iy) * static_cast<std::uint32_t>(grid_nx_) +
         static_cast<std::uint32_t>(ix);
}

double spatial_index::bucket_east0(std::uint32_t b) const noexcept {
  return grid_east0_ + static_cast<double>(b % static_cast<std::uint32_t>(grid_nx_)) * bucket_m_;
}
double spatial_index::bucket_north0(std::uint32_t b) const noexcept {
  return grid_north0_ + static_cast<double>(b / static_cast<std::uint32_t>(grid_nx_)) * bucket_m_;
}

lat_lng spatial_index::to_lat_lng(double east, double north) const noexcept {
  lat_lng p = frame_.unproject(east, north);
  // Float rounding may put a boundary position a hair outside the box.
  const bounding_box& bb = cfg_.bounds;
  p.lat = std::clamp(p.lat, bb.south_west.lat, bb.north_east.lat);
  p.lng = std::clamp(p.lng, bb.south_west.lng, bb.north_east.lng);
  return p;
}

// ---- id table --------------------------------------------------------------

const spatial_index::entry& spatial_index::entry_at(std::uint64_t packed) const noexcept {
  return buckets_[bucket_field(packed)].data[slot_field(packed)];
}

std::size_t spatial_index::find_slot(std::uint64_t id, std::uint64_t hash) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  const std::uint64_t tag = tag_of(hash);
  for (std::size_t i = hash >> slot_shift_;; i = (i + 1) & mask) {
    const std::uint64_t v = slots_[i];
    if (v == empty_slot) return slots_.size();
    if ((v >> 48) == tag && entry_at(v).id == id) return i;
  }
}

void spatial_index::insert_slot(std::uint64_t hash, std::uint64_t packed) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash >> slot_shift_;
  while (slots_[i] != empty_slot) i = (i + 1) & mask;
  slots_[i] = packed;
}

void spatial_index::erase_slot(std::size_t index) noexcept {
  // Backward-shift deletion keeps probe sequences intact without tombstones.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = index;
  for (std::size_t j = (hole + 1) & mask; slots_[j] != empty_slot; j = (j + 1) & mask) {
    const std::size_t home = hash_id(entry_at(slots_[j]).id) >> slot_shift_;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = empty_slot;
}

void spatial_index::rehash(std::size_t capacity) {
  std::size_t cap = 16;
  int shift = 60;
  while (cap < capacity) {
    cap *= 2;
    --shift;
  }
  slots_.assign(cap, empty_slot);
  slots_.shrink_to_fit();
  slot_shift_ = shift;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    const bucket& bk = buckets_[b];
    for (std::uint32_t s = 0; s < bk.size; ++s) {
      const std::uint64_t h = hash_id(bk.data[s].id);
      insert_slot(h, pack(h, b, s));
    }
  }
}

void spatial_index::reserve(std::size_t drivers) {
  // Keep the load factor at or below 3/4.
  const std::size_t needed = drivers + drivers / 3 + 1;
  if (needed > slots_.size()) rehash(needed);
}

// ---- updates ---------------------------------------------------------------

error spatial_index::update_error(driver_id id, lat_lng pos) const {
  if (!id.valid()) return error{errc::invalid_argument, "driver id 0 is not a valid id"};
  if (auto v = validate(pos); !v) return v.err();
  if (!cfg_.bounds.contains(pos)) {
    return error{errc::out_of_region, "position " + format_number(pos.lat) + ", " +
                                          format_number(pos.lng) + " of " + to_string(id) +
                                          " is outside the region bounds"};
  }
  return error{errc::unavailable, "index cell is full (" + std::to_string(max_bucket_size) +
                                      " drivers); cannot place " + to_string(id)};
}

bool spatial_index::acceptable(driver_id id, lat_lng pos) const noexcept {
  // The bounds were validated, so containment implies a valid, finite position
  // (NaN fails every comparison).
  return id.valid() && cfg_.bounds.contains(pos);
}

std::uint32_t spatial_index::push_entry(std::uint32_t b, const entry& e) {
  bucket& bk = buckets_[b];
  if (bk.size == bk.capacity) {
    // Growth by 1.5x keeps the capacity slack (counted in memory_bytes) low.
    const std::uint32_t cap = std::max<std::uint32_t>(4, bk.capacity + bk.capacity / 2);
    std::unique_ptr<entry[]> grown(new entry[cap]);
    std::copy(bk.data.get(), bk.data.get() + bk.size, grown.get());
    if (!bk.data) ++allocated_buckets_;
    entry_capacity_ += cap - bk.capacity;
    bk.data = std::move(grown);
    bk.capacity = cap;
  }
  bk.data[bk.size] = e;
  return bk.size++;
}

void spatial_index::erase_entry(std::uint32_t b, std::uint32_t s) {
  bucket& bk = buckets_[b];
  const std::uint32_t last = --bk.size;
  if (s != last) {
    // Swap-remove: the last entry fills the hole; re-point its id-table slot,
    // found by its exact packed value (no entry reads needed).
    const entry moved = bk.data[last];
    bk.data[s] = moved;
    const std::uint64_t h = hash_id(moved.id);
    const std::uint64_t old_packed = pack(h, b, last);
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h >> slot_shift_;
    while (slots_[i] != old_packed) i = (i + 1) & mask;
    slots_[i] = pack(h, b, s);
  }
  if (bk.capacity > 8 && bk.size <= bk.capacity / 4) {
    const std::uint32_t cap = bk.capacity / 2;
    std::unique_ptr<entry[]> shrunk(new entry[cap]);
    std::copy(bk.data.get(), bk.data.get() + bk.size, shrunk.get());
    entry_capacity_ -= bk.capacity - cap;
    bk.data = std::move(shrunk);
    bk.capacity = cap;
  }
}

bool spatial_index::apply_upsert(driver_id id, lat_lng pos) {
  const tangent_plane::point p = frame_.project_near(pos);
  const std::uint32_t nb = bucket_of(p.east, p.north);
  const entry e{id.value, static_cast<float>(p.east - bucket_east0(nb)),
                static_cast<float>(p.north - bucket_north0(nb))};
  const std::uint64_t h = hash_id(id.value);
  const std::size_t i = find_slot(id.value, h);
  const bool known = i != slots_.size();
  std::uint32_t b = 0, s = 0;
  if (known) {
    b = bucket_field(slots_[i]);
    s = slot_field(slots_[i]);
    if (b == nb) {  // the common case: a GPS step within the same cell
      entry& cur = buckets_[b].data[s];
      cur.east = e.east;
      cur.north = e.north;
      return true;
    }
  }
  if (buckets_[nb].size >= max_bucket_size) return false;
  if (known) {
    const std::uint32_t ns = push_entry(nb, e);
    slots_[i] = pack(h, nb, ns);
    erase_entry(b, s);
    return true;
  }
  if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.size() * 2);
  const std::uint32_t ns = push_entry(nb, e);
  insert_slot(h, pack(h, nb, ns));
  ++size_;
  return true;
}

result<void> spatial_index::upsert(driver_id id, lat_lng pos) {
  if (acceptable(id, pos) && apply_upsert(id, pos)) return {};
  return update_error(id, pos);
}

// Prefetch targets for upsert_batch. They only compute addresses: the
// prefetches themselves sit in the loop, since GCC drops calls to functions
// whose only effect is a prefetch.
const void* spatial_index::slot_line(driver_id id) const noexcept {
  return &slots_[hash_id(id.value) >> slot_shift_];
}

std::uint64_t spatial_index::peek_slot(driver_id id) const noexcept {
  // A hint only: the first tag match may be another driver, which is harmless.
  const std::uint64_t h = hash_id(id.value);
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = h >> slot_shift_;
  for (int probes = 0; probes < 4; ++probes, i = (i + 1) & mask) {
    const std::uint64_t v = slots_[i];
    if (v == empty_slot || (v >> 48) == tag_of(h)) return v;
  }
  return empty_slot;
}

const void* spatial_index::header_line(driver_id id) const noexcept {
  const std::uint64_t v = peek_slot(id);
  return v == empty_slot ? nullptr : &buckets_[bucket_field(v)];
}

const void* spatial_index::entry_line(driver_id id) const noexcept {
  const std::uint64_t v = peek_slot(id);
  if (v == empty_slot) return nullptr;
  const bucket& bk = buckets_[bucket_field(v)];
  return slot_field(v) < bk.size ? bk.data.get() + slot_field(v) : nullptr;
}

result<void> spatial_index::upsert_batch(const driver_position* updates, std::size_t count) {
  // Three-stage software pipeline over the dependent loads of an update: the
  // id-table line 24 updates ahead, the bucket header (found through it) 16
  // ahead, the driver's entry 8 ahead; the update itself then mostly hits cache.
  constexpr std::size_t slot_ahead = 24, header_ahead = 16, entry_ahead = 8;
  std::size_t rejected = 0;
  error first;
  for (std::size_t i = 0; i < count; ++i) {
    // (Prefetching a null address is a no-op.)
    if (i + slot_ahead < count) __builtin_prefetch(slot_line(updates[i + slot_ahead].id));
    if (i + header_ahead < count) __builtin_prefetch(header_line(updates[i + header_ahead].id));
    if (i + entry_ahead < count) __builtin_prefetch(entry_line(updates[i + entry_ahead].id), 1);
    const driver_position& u = updates[i];
    if (acceptable(u.id, u.pos) && apply_upsert(u.id, u.pos)) continue;
    if (rejected++ == 0) first = update_error(u.id, u.pos);
  }
  if (rejected == 0) return {};
  return error{first.code, std::to_string(rejected) + " of " + std::to_string(count) +
                               " updates rejected; first: " + first.message};
}

result<void> spatial_index::remove(driver_id id) {
  const std::uint64_t h = hash_id(id.value);
  const std::size_t i = find_slot(id.value, h);
  if (i == slots_.size()) {
    return error{errc::unknown_driver, to_string(id) + " is not in the index"};
  }
  const std::uint64_t v = slots_[i];
  erase_entry(bucket_field(v), slot_field(v));  // before erase_slot: it reads entries
  erase_slot(i);
  --size_;
  return {};
}

bool spatial_index::contains(driver_id id) const noexcept {
  return find_slot(id.value, hash_id(id.value)) != slots_.size();
}

std::optional<lat_lng> spatial_index::position(driver_id id) const noexcept {
  const std::size_t i = find_slot(id.value, hash_id(id.value));
  if (i == slots_.size()) return std::nullopt;
  const std::uint32_t b = bucket_field(slots_[i]);
  const entry& e = entry_at(slots_[i]);
  return to_lat_lng(bucket_east0(b) + e.east, bucket_north0(b) + e.north);
}

std::size_t spatial_index::size() const noexcept { return size_; }

std::size_t spatial_index::memory_bytes() const noexcept {
  // Each bucket array is one malloc chunk: count ~16 B of allocator overhead.
  return entry_capacity_ * sizeof(entry) + allocated_buckets_ * 16 +
         buckets_.capacity() * sizeof(bucket) + slots_.capacity() * sizeof(std::uint64_t);
}

// ---- queries ---------------------------------------------------------------

struct spatial_index::candidate {
  double d2;  // squared chord, metres^2
  std::uint64_t id;
  double east;
  double north;
};

struct spatial_index::ring_cell {
  double lb2;  // squared lower bound on the chord to any point of the cell
  std::uint32_t bucket;
};

struct spatial_index::query_state {
  tangent_plane::point q;
  double up_lb2 = 0;  // squared lower bound on |up difference| to any driver
  double bound2 = 0;  // squared chord a driver must not exceed to enter the heap
  std::size_t k = 0;
  std::vector<candidate>& heap;   // max-heap of the best k so far
  std::vector<ring_cell>& cells;  // scratch: the cells of the ring in progress

  static bool closer(const candidate& a, const candidate& b) noexcept {
    return a.d2 < b.d2 || (a.d2 == b.d2 && a.id < b.id);
  }
  void offer(const candidate& c) {
    std::vector<candidate>& h = heap;
    if (h.size() < k) {
      h.push_back(c);
      std::push_heap(h.begin(), h.end(), closer);
      if (h.size() == k) bound2 = h.front().d2;
      return;
    }
    if (!closer(c, h.front())) return;
    // Replace the farthest (the root) and sift down in one pass.
    std::size_t i = 0;
    for (std::size_t child = 1; child < h.size(); child = 2 * i + 1) {
      if (child + 1 < h.size() && closer(h[child], h[child + 1])) ++child;
      if (!closer(c, h[child])) break;
      h[i] = h[child];
      i = child;
    }
    h[i] = c;
    bound2 = h.front().d2;
  }
};

namespace {

// Series for the up coordinate of a stored point from rho^2 = east^2 + north^2:
// -R (x/2 + x^2/8 + x^3/16), x = rho^2/R^2; exact to ~1e-7 m at city scale.
constexpr double up_c1 = -1.0 / (2 * earth_radius_m);
constexpr double up_c2 = up_c1 / (4 * earth_radius_m * earth_radius_m);
constexpr double up_c3 = up_c2 / (2 * earth_radius_m * earth_radius_m);
// Cell and ring bounds are widened by this much to absorb rounding.
constexpr double bound_slack_m = 1e-3;

double sq(double v) noexcept { return v * v; }
// Distance from v to the interval [lo, hi], less the slack, never negative.
double gap(double v, double lo, double hi) noexcept {
  return std::max(0.0, std::max(lo - v, v - hi) - bound_slack_m);
}

}  // namespace

void spatial_index::scan_bucket(std::uint32_t b, query_state& qs) const {
  const bucket& bk = buckets_[b];
  const double east0 = bucket_east0(b), north0 = bucket_north0(b);
  const double de0 = east0 - qs.q.east, dn0 = north0 - qs.q.north;
  for (const entry *it = bk.data.get(), *end = it + bk.size; it != end; ++it) {
    // The planar part of the chord is a lower bound that rejects most drivers
    // before the up coordinate is derived.
    const double de = de0 + it->east, dn = dn0 + it->north;
    const double planar2 = de * de + dn * dn;
    if (planar2 > qs.bound2) continue;
    const double e = east0 + it->east, n = north0 + it->north;
    const double rho2 = e * e + n * n;
    const double up = rho2 * (up_c1 + rho2 * (up_c2 + rho2 * up_c3));
    const double d2 = planar2 + sq(up - qs.q.up);
    if (d2 <= qs.bound2) qs.offer(candidate{d2, it->id, e, n});
  }
}

result<void> spatial_index::nearest(lat_lng center, double radius_m, std::size_t k,
                                    std::vector<neighbor>& out) const {
  out.clear();
  if (auto v = validate(center); !v) return v;
  if (!std::isfinite(radius_m) || !(radius_m > 0) || radius_m > cfg_.max_radius_m) {
    return error{errc::invalid_radius, "radius_m must be in (0, " +
                                           format_number(cfg_.max_radius_m) + "], got " +
                                           format_number(radius_m)};
  }
  if (k == 0 || k > cfg_.max_k) {
    return error{errc::invalid_k,
                 "k must be in [1, " + std::to_string(cfg_.max_k) + "], got " + std::to_string(k)};
  }
  thread_local std::vector<candidate> heap;  // scratch, reused across queries
  thread_local std::vector<ring_cell> ring_cells;
  heap.clear();
  query_state qs{{}, 0, 0, 0, heap, ring_cells};
  const bool near = std::abs(center.lat - frame_.origin().lat) <= tangent_plane::near_limit_deg &&
                    std::abs(center.lng - frame_.origin().lng) <= tangent_plane::near_limit_deg;
  qs.q = near ? frame_.project_near(center) : frame_.project(center);
  qs.up_lb2 = sq(gap(qs.q.up, min_up_, 0.0));
  qs.bound2 = sq(chord_of_distance_m(radius_m) + bound_slack_m);
  qs.k = k;

  const double b = bucket_m_;
  const double grid_e1 = grid_east0_ + grid_nx_ * b, grid_n1 = grid_north0_ + grid_ny_ * b;
  if (sq(gap(qs.q.east, grid_east0_, grid_e1)) + sq(gap(qs.q.north, grid_north0_, grid_n1)) +
          qs.up_lb2 >
      qs.bound2) {
    return {};  // the whole region is out of reach
  }
  // Ring search outward from the query's cell (which may lie outside the grid).
  const auto qx = static_cast<std::int64_t>(std::floor((qs.q.east - grid_east0_) / b));
  const auto qy = static_cast<std::int64_t>(std::floor((qs.q.north - grid_north0_) / b));
  const std::int64_t nx = grid_nx_, ny = grid_ny_;
  const std::int64_t r_max = std::max({qx, nx - 1 - qx, qy, ny - 1 - qy});
  // Appends the cells of ring r that lie in the grid and may hold a driver
  // within the current bound.
  std::vector<ring_cell>& cells = qs.cells;
  const auto collect_ring = [&](std::int64_t r) {
    const auto cell = [&](std::int64_t x, std::int64_t y) {
      const double x0 = grid_east0_ + static_cast<double>(x) * b;
      const double y0 = grid_north0_ + static_cast<double>(y) * b;
      const double lb2 =
          sq(gap(qs.q.east, x0, x0 + b)) + sq(gap(qs.q.north, y0, y0 + b)) + qs.up_lb2;
      if (lb2 <= qs.bound2) cells.push_back({lb2, static_cast<std::uint32_t>(y * nx + x)});
    };
    const auto row = [&](std::int64_t y, std::int64_t x_lo, std::int64_t x_hi) {
      if (y < 0 || y >= ny) return;
      for (std::int64_t x = std::max<std::int64_t>(x_lo, 0); x <= std::min(x_hi, nx - 1); ++x) {
        cell(x, y);
      }
    };
    const auto column = [&](std::int64_t x, std::int64_t y_lo, std::int64_t y_hi) {
      if (x < 0 || x >= nx) return;
      for (std::int64_t y = std::max<std::int64_t>(y_lo, 0); y <= std::min(y_hi, ny - 1); ++y) {
        cell(x, y);
      }
    };
    if (r == 0) return row(qy, qx, qx);
    row(qy - r, qx - r, qx + r);
    row(qy + r, qx - r, qx + r);
    column(qx - r, qy - r + 1, qy + r - 1);
    column(qx + r, qy - r + 1, qy + r - 1);
  };
  for (std::int64_t r = 0; r <= r_max; ++r) {
    if (r > 0) {
      // Every cell of ring r lies outside the block of rings < r around q.
      const double inner =
          std::min({qs.q.east - (grid_east0_ + static_cast<double>(qx - r + 1) * b),
                    grid_east0_ + static_cast<double>(qx + r) * b - qs.q.east,
                    qs.q.north - (grid_north0_ + static_cast<double>(qy - r + 1) * b),
                    grid_north0_ + static_cast<double>(qy + r) * b - qs.q.north});
      const double lb = std::max(0.0, inner - bound_slack_m);
      if (sq(lb) + qs.up_lb2 > qs.bound2) break;
    }
    cells.clear();
    collect_ring(r);
    const std::size_t in_ring = cells.size();
    if (r == 0) collect_ring(1);  // load ring 1 while ring 0 is scanned
    // Cache misses dominate a query: start loading all of a ring's buckets
    // before scanning any (ring 1's were started with ring 0).
    if (r != 1) {
      for (const ring_cell& c : cells) {
        const bucket& bk = buckets_[c.bucket];
        const char* data = reinterpret_cast<const char*>(bk.data.get());
        const std::size_t bytes = std::min<std::size_t>(bk.size * sizeof(entry), 512);
        for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(data + off);
      }
    }
    for (std::size_t i = 0; i < in_ring; ++i) {
      if (cells[i].lb2 <= qs.bound2) scan_bucket(cells[i].bucket, qs);
    }
  }

  // Great-circle distances from the exact chord (they equal distance_m(center,
  // n.pos) to ~1e-9 m, without its trigonometry); order by them, ties by id.
  out.reserve(heap.size());
  for (const candidate& c : heap) {
    const double up = tangent_plane::up_of(c.east, c.north);
    const double chord2 = sq(c.east - qs.q.east) + sq(c.north - qs.q.north) + sq(up - qs.q.up);
    const double d = distance_of_chord_m(std::sqrt(chord2));
    if (d <= radius_m) out.push_back(neighbor{driver_id{c.id}, to_lat_lng(c.east, c.north), d});
  }
  std::sort(out.begin(), out.end(), [](const neighbor& a, const neighbor& c) {
    return a.distance_m < c.distance_m || (a.distance_m == c.distance_m && a.id < c.id);
  });
  return {};
}

result<std::vector<neighbor>> spatial_index::nearest(lat_lng center, double radius_m,
                                                     std::size_t k) const {
  std::vector<neighbor> out;
  if (auto v = nearest(center, radius_m, k, out); !v) return v.err();
  return out;
}

}  // namespace rideshard
