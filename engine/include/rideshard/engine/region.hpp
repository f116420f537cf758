// A region (city): bounds, shard level, pricing, surge, matching and trip rules,
// and where demand comes from. Loaded from cluster-config/regions/*.toml.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "rideshard/engine/eta.hpp"
#include "rideshard/engine/fare.hpp"
#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/matching.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/surge.hpp"
#include "rideshard/engine/trip.hpp"

namespace rideshard {

/// A place riders appear around: gaussian with spread sigma_m, `weight` = share
/// of all requests.
struct hotspot {
  std::string name;
  lat_lng center;
  double sigma_m = 1000;
  double weight = 0;
};

/// How a region's matchers dispatch: each request on its own as it arrives
/// (sequential offers), or every batch_window_ms all waiting requests at once
/// (batch_assign: minimal total pickup ETA), then sequential-style offers.
enum class dispatch_mode : std::uint8_t { sequential, batched };

/// "sequential" / "batched".
std::string_view to_string(dispatch_mode m) noexcept;
// (city_sim.hpp has its own matching_mode for the in-process demo.)

/// Everything the engine knows about one city. Plain value, immutable once loaded.
struct region {
  std::string name;
  bounding_box bounds;
  int shard_level = 12;  ///< geo.hpp grid level of shard cells
  eta_config eta;
  fare_schedule fare;  ///< fare.currency is the region's currency
  surge_config surge;
  sequential_config sequential;
  batch_config batch;
  dispatch_mode mode = dispatch_mode::sequential;  ///< [matching] mode (optional key)
  std::int64_t batch_window_ms = 2000;             ///< batched mode collects requests this long
  trip_rules trip;
  std::vector<hotspot> hotspots;           ///< weights sum to <= 1; the rest is uniform
  std::array<double, 24> hourly_demand{};  ///< relative request rate per local hour
};

/// Parses one region from TOML text. Unknown keys, missing keys and out-of-range
/// values are errors (bad_config) naming `source` and the key.
[[nodiscard]] result<region> parse_region(std::string_view toml_text, std::string_view source);

/// Reads and parses a region file. Errors: bad_config (unreadable or invalid).
[[nodiscard]] result<region> load_region_file(const std::string& path);

/// The region files a node config (TOML text) lists in `[regions] files`, each
/// resolved against `dir` unless absolute. Errors: bad_config naming `source`
/// (not TOML, no list, an entry that is not a string or does not name a file).
[[nodiscard]] result<std::vector<std::string>> node_region_files(std::string_view toml_text,
                                                                 std::string_view source,
                                                                 const std::string& dir);

/// Reads a node config (cluster-config/*.toml) and loads every file listed in its
/// `[regions] files` array, resolved relative to the node config's directory.
/// Errors: bad_config; duplicate_id (two regions with one name).
[[nodiscard]] result<std::vector<region>> load_node_regions(const std::string& node_config_path);

}  // namespace rideshard
