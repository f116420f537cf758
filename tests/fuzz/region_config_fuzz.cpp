// Fuzz target: region config TOML (cluster-config/regions/*.toml), as
// load_region_file parses it at node start.
// Properties: never crashes or throws; a region that loads is usable as the
// engine uses it: its fare schedule prices the longest trip at the highest surge,
// its ETA model is valid and the shard grid holds its corners.
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "rideshard/engine/eta.hpp"
#include "rideshard/engine/fare.hpp"
#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/region.hpp"

using namespace rideshard;
using rideshard::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = parse_region(text, "fuzz.toml");
  if (!r) {
    check(r.code() == errc::bad_config, "a refused region is bad_config");
    return 0;
  }
  for (const std::int32_t surge : {1000, r->surge.cap_permille}) {
    auto fare = compute_fare(r->fare, max_fare_distance_m, max_fare_duration_s, surge);
    check(fare.ok() || surge != 1000, "a loaded fare schedule prices the longest trip");
    if (fare) check(fare->total_minor >= fare->booking_fee_minor, "a fare is not negative");
  }
  auto eta = straight_line_eta::create(r->eta);
  check(eta.ok(), "a loaded region's ETA config is valid");
  (void)eta->estimate_s(r->bounds.south_west, r->bounds.north_east);
  check(cell_of(r->bounds.south_west, r->shard_level).ok() &&
            cell_of(r->bounds.north_east, r->shard_level).ok(),
        "a loaded region's corners have shard cells");
  return 0;
}
