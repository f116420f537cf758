// location_relay: location updates across nodes in batches per destination
// node. A driver actor whose shard's matcher lives on another cluster node
// hands each update (driver_avail) to its node's relay as location_out; the
// relay keeps one buffer per destination node and sends it as one
// location_bundle to that node's relay when it holds max_batch updates or
// when its window (the first update's arrival + window) ends, whichever is
// first. The receiving relay hands each update to its matcher (local sends).
// One buffer per node, flushed whole, in arrival order: the updates of one
// driver stay in order. An update for this node's own matcher is sent to it at
// once; one for a node without a route (not up) is dropped and counted (a
// position is re-sent with the driver's next fix). Internal to node/.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "node/region_matcher.hpp"

namespace rideshard::node {

/// Driver actor -> its node's relay: an update for `matcher` on node `node`.
struct location_out {
  std::uint16_t node = 0;
  matcher_handle matcher;
  driver_avail avail;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, location_out& x) {
  return f(caf::meta::type_name("location_out"), x.node, x.matcher, x.avail);
}

/// The updates of one window for one matcher (in arrival order).
struct location_part {
  matcher_handle matcher;
  std::vector<driver_avail> avails;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, location_part& x) {
  return f(caf::meta::type_name("location_part"), x.matcher, x.avails);
}

/// Relay -> the relay of the destination node: one window's updates for that
/// node, grouped by matcher (each matcher handle crosses the wire once).
struct location_bundle {
  std::vector<location_part> parts;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, location_bundle& x) {
  return f(caf::meta::type_name("location_bundle"), x.parts);
}

/// The relay's own timer: the window of node `node`'s buffer number `window` ended.
struct location_flush {
  std::uint16_t node = 0;
  std::uint64_t window = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, location_flush& x) {
  return f(caf::meta::type_name("location_flush"), x.node, x.window);
}

struct relay_route;

using location_relay_handle =
    caf::typed_actor<caf::reacts_to<location_out>, caf::reacts_to<location_bundle>,
                     caf::reacts_to<location_flush>, caf::reacts_to<relay_route>>;

/// Membership -> relay: the relay of cluster node `node` (invalid: the node is
/// down; its buffer is dropped and counted).
struct relay_route {
  std::uint16_t node = 0;
  location_relay_handle relay;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relay_route& x) {
  return f(caf::meta::type_name("relay_route"), x.node, x.relay);
}

struct location_relay_options {
  std::uint16_t node = 0;               ///< this node's id
  std::size_t max_batch = 1024;         ///< updates per bundle at most (bounds each buffer)
  std::chrono::milliseconds window{5};  ///< longest an update waits in a buffer
};

/// What the relay did (atomics: read by tests and the bench from any thread).
struct location_relay_counters {
  std::atomic<std::uint64_t> sent{0};      ///< updates that left in bundles
  std::atomic<std::uint64_t> bundles{0};   ///< bundles sent
  std::atomic<std::uint64_t> received{0};  ///< updates that arrived in bundles
  std::atomic<std::uint64_t> dropped{0};   ///< updates for a node without a route
};

location_relay_handle spawn_location_relay(caf::actor_system& sys, location_relay_options opts,
                                           std::shared_ptr<location_relay_counters> counters);

}  // namespace rideshard::node
