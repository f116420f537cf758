// Pre-encoded request streams for both peers, split over the client
// connections the same way: connection c gets the c-th contiguous slice.
#pragma once

#include <string_view>
#include <vector>

#include "peer/fleet_data.hpp"
#include "peer/load_driver.hpp"

namespace rideshard::peer {

/// One request list per connection.
using work_set = std::vector<std::vector<wire_request>>;

/// Redis: GEOADD key lng lat member [lng lat member ...], `members` per command.
work_set redis_geoadd_work(const std::vector<driver_fix>& drivers, std::size_t clients,
                           std::size_t members, std::string_view key);

/// Redis: GEOSEARCH key FROMLONLAT lng lat BYRADIUS r m ASC COUNT k, one command
/// per query, `pipeline` commands written together as one request (answered by
/// its last reply), the way a nearby_batch frame carries several queries.
work_set redis_geosearch_work(const std::vector<lat_lng>& queries, std::size_t count,
                              std::size_t clients, std::size_t pipeline, double radius_m,
                              std::uint32_t k, std::string_view key);

/// rideshard: fleet_positions frames of `batch` samples. Seqs grow across calls:
/// encode a phase's work just before running it.
work_set rideshard_fleet_work(const std::vector<driver_fix>& drivers, std::size_t clients,
                              std::size_t batch);

/// rideshard: nearby_batch frames of `batch` queries.
work_set rideshard_nearby_work(const std::vector<lat_lng>& queries, std::size_t count,
                               std::size_t clients, std::size_t batch, double radius_m,
                               std::uint32_t k);

}  // namespace rideshard::peer
