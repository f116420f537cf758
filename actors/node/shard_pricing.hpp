// shard_pricing: one matcher's surge state and quotes — supply per surge cell,
// the surge engine, the multiplier a request or quote sees, and the quote and
// surge events for the outbox. Owned by one region_matcher; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "node/analytics_events.hpp"
#include "node/protocol.hpp"
#include "rideshard/engine/eta.hpp"
#include "rideshard/engine/surge.hpp"

namespace rideshard::node {

class shard_pricing {
 public:
  /// `ctx` outlives this object (the matcher's state holds it).
  shard_pricing(node_context& ctx, const region& reg);

  /// Driver `d` is available at `pos` (or no longer: nullopt): moves it between
  /// surge cells' supply counts.
  void supply_changed(driver_id d, std::optional<lat_lng> pos);
  /// A ride request at `pickup`: counted as demand; returns the multiplier it
  /// is dispatched with (1000 outside every surge cell).
  std::int32_t request_surge(lat_lng pickup);
  /// The quote for a ride; `nearest` is the nearest available driver's position
  /// (for the pickup ETA), if any.
  schemas::quote quote(lat_lng pickup, lat_lng dropoff, std::optional<lat_lng> nearest);
  /// The quote event (durable node) of a quote as sent, final ETA included.
  void quote_sent(const schemas::quote& q, rider_id rider, lat_lng pickup, lat_lng dropoff);
  /// Admin switch: while frozen, every surge cell keeps the multiplier it had
  /// when the freeze began (1.0x for cells without surge then); demand and
  /// supply are still counted, so surge follows them again once unfrozen.
  /// Freezing a frozen shard keeps the first values.
  void freeze(bool frozen);
  /// Pickup ETA in whole seconds from a driver at `from`.
  std::uint32_t pickup_eta_s(lat_lng from, lat_lng pickup) const;

  const straight_line_eta& eta() const noexcept { return eta_; }

 private:
  /// The multiplier of `cell` now (publishing a surge event when it changed).
  std::optional<std::int32_t> multiplier(cell_id cell);

  node_context& ctx_;
  const region& reg_;
  surge_engine surge_;
  straight_line_eta eta_;
  matcher_events events_;  ///< quote and surge events for the outbox (durable node)
  std::unordered_map<std::uint64_t, std::int64_t> supply_;  ///< surge cell -> drivers
  std::unordered_map<driver_id, std::uint64_t> driver_cell_;
  /// Set while frozen: surge cell -> the multiplier held.
  std::optional<std::unordered_map<std::uint64_t, std::int32_t>> frozen_;
};

}  // namespace rideshard::node
