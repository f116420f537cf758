// analytics_events: the node's Kafka events besides trip lifecycle — sampled
// driver locations (driver actors), quotes and surge changes (region
// matchers). Each event becomes an outbox-only write_batch handed to the
// journal fire-and-forget (event_atom): nobody waits for it, and a lost one is
// a lost analytics sample, never acknowledged state. Nothing happens on an
// in-memory node (no ctx.journal). Internal to node/; see docs/events.md.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "node/protocol.hpp"
#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/surge.hpp"
#include "rideshard/schemas/messages.hpp"

namespace rideshard::node {

/// The next per-key event sequence: above `prev` and at least now_ms * 1000,
/// so sequences (and the event ids made from them) keep increasing across
/// passivation and restarts, where the in-memory counter starts over.
std::uint64_t next_event_sequence(std::uint64_t prev, std::int64_t now_ms);

/// One driver's location sampling; owned by its driver actor.
class location_sampler {
 public:
  /// Publishes accepted sample `s` when ctx has a journal, sampling is on
  /// (opts.location_sample_ms > 0) and the last published sample is at least
  /// location_sample_ms old (server clock). Returns whether it published.
  bool offer(const node_context& ctx, driver_id driver, const schemas::location_sample& s,
             bool available);

 private:
  bool any_ = false;
  std::int64_t last_ms_ = 0;  ///< server time of the last published sample
  std::uint64_t sequence_ = 0;
};

/// One matcher's quote and surge events.
class matcher_events {
 public:
  /// A quote as sent to the rider (final pickup ETA). Keyed by `cell`, the
  /// surge cell of the pickup (the cell whose multiplier priced it).
  void quote(const node_context& ctx, const schemas::quote& q, rider_id rider, lat_lng pickup,
             lat_lng dropoff, cell_id cell);
  /// The matcher just read `multiplier` for `cell`: publishes a surge_event
  /// when it differs from the last one published for the cell (a cell starts
  /// at 1.0x, so the first event is the first surge). Demand and supply come
  /// from `engine`'s view of the cell.
  void surge_seen(const node_context& ctx, surge_engine& engine, cell_id cell,
                  std::int32_t multiplier);

 private:
  std::unordered_map<std::uint64_t, std::uint64_t> quote_sequence_;
  struct surge_cell {
    std::int32_t published = 1000;
    std::uint64_t sequence = 0;
  };
  std::unordered_map<std::uint64_t, surge_cell> surge_;
};

}  // namespace rideshard::node
