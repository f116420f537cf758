// The state of one region_matcher actor: its parts (shard_index,
// shard_pricing), the pending requests of its dispatcher and the scratch of a
// cross-shard search. Private to the matcher's files (region_matcher.cpp,
// matcher_*.cpp); no other actor sees it.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "node/region_matcher.hpp"
#include "node/shard_directory.hpp"
#include "node/shard_index.hpp"
#include "node/shard_pricing.hpp"
#include "rideshard/engine/matching.hpp"

namespace rideshard::node {

/// One ride request waiting for (or holding) an offer.
struct pending_request {
  std::optional<sequential_dispatch> dispatch;
  trip_handle trip_actor;
  lat_lng pickup;
  driver_id offered;    ///< driver holding the open offer, if any
  lat_lng offered_pos;  ///< its indexed position, to put it back
  std::uint32_t attempt = 0;
  std::int32_t surge = no_surge_permille;
  bool parked = false;                     ///< no driver found; retried when supply changes
  std::int64_t requested_at_ms = 0;        ///< batched mode: waiting time counts
  std::uint32_t windows_lost = 0;          ///< batched mode: windows lost with a driver in reach
  std::unordered_set<driver_id> excluded;  ///< declined or timed out: never again
  bool searching = false;                  ///< probing neighbour shards for candidates
  bool reserving = false;                  ///< `offered` is a remote driver being reserved
  std::uint64_t ticket = 0;                ///< the search / reservation in flight
  std::uint32_t shown_radius_m = 0;        ///< the largest search radius the trip was told
  /// now_ms when a search first found nobody within max_radius_m since the
  /// last offer: no_driver_timeout runs from here.
  std::optional<std::int64_t> nobody_since_ms;
};

/// A driver out of the index for an open offer: where to put it back, and its
/// owning matcher when it belongs to another shard (invalid: ours).
struct held_driver {
  lat_lng pos;
  matcher_handle owner;
};

/// The dispatcher's book: requests by trip and the drivers held for offers.
/// The offer's deadline is not here: the trip actor owns it (offer_deadline_ms
/// and its timer) and tells us how the offer closed (offer_closed).
struct dispatch_book {
  std::unordered_map<trip_id, pending_request> pending;
  std::unordered_map<driver_id, held_driver> on_offer;  ///< removed for an offer
  std::size_t reported_pending = 0;                     ///< pending.size() last added to the gauge
  bool window_armed = false;                            ///< batched mode: a batch_window is due
  bool window_searching = false;  ///< batched mode: a window waits for neighbour probes
  bool window_rearm = false;      ///< a window was asked for during that wait
  bool retry_armed = false;       ///< a parked_retry is due (parked requests near an edge)
  bool check_armed = false;       ///< a no_driver_check is due (requests counting)
  std::uint64_t next_ticket = 0;
};

/// Candidates of one cross-shard decision (ours and the neighbours'); emptied after.
struct search_scratch {
  std::optional<spatial_index> index;
  std::vector<driver_id> ids;
  std::unordered_map<driver_id, matcher_handle> owner;  ///< remote candidates only
};

struct matcher_state {
  context_ptr ctx;
  const region* reg = nullptr;
  shard_key key;       ///< our shard
  shard_table shards;  ///< every shard's matcher (shard_added, from the directory)
  std::optional<shard_pricing> pricing;
  std::optional<shard_index> drivers;
  std::optional<flush_schedule> flushes;  ///< timed flushes of drivers' location buffer
  dispatch_book book;
  search_scratch scratch;
  static inline const char* name = "region_matcher";
};
using matcher_self = matcher_handle::stateful_pointer<matcher_state>;

}  // namespace rideshard::node
