// node_stats: the node's view of the Prometheus metrics (trips by state, offers,
// request->offer latency, errors, matcher queue) over an optional gateway::metrics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "gateway/metrics.hpp"
#include "rideshard/engine/errc.hpp"
#include "rideshard/engine/trip.hpp"

namespace prometheus {
class Counter;
}

namespace rideshard::node {

/// Unix microseconds of the system clock: the stamp messages carry for
/// latency metrics (a plain value, meaningful on every node up to clock skew;
/// protocol decisions use the injected millisecond clock instead).
std::int64_t wall_clock_us();

/// How an offer to one driver ended (label of rideshard_offer_outcomes_total).
enum class offer_outcome : std::uint8_t { accepted, declined, timed_out, busy, withdrawn };

/// Thread-safe (called from every actor thread); every method is a no-op when
/// no gateway::metrics was given. The metrics object must outlive the node.
///
/// Families it adds to the registry (besides the facade's errors_total,
/// request_to_offer_seconds, trips{state}, queue_depth{queue="matcher_pending"}):
///   rideshard_offers_made_total             offers shown to a driver
///   rideshard_offer_outcomes_total{outcome} accepted|declined|timed_out|busy|withdrawn
///   rideshard_cluster_unrouted_total{what}  frames/closes/requests for another node
///                                           that no known peer could take
///   rideshard_cluster_unowned_total         requests refused: their shard group is
///                                           served elsewhere
///   rideshard_no_driver_cancels_total       requested trips the system cancelled with
///                                           reason no_driver_available (a trip_status
///                                           to the rider, not an error_reply: not in
///                                           errors_total)
class node_stats {
 public:
  explicit node_stats(gateway::metrics* m = nullptr);
  node_stats(const node_stats&) = delete;
  node_stats& operator=(const node_stats&) = delete;

  /// A typed error_reply sent to a client.
  void error(errc code);
  /// A requested trip the system cancelled because nobody was found within the
  /// largest search radius for no_driver_timeout (rideshard_no_driver_cancels_total).
  void no_driver_cancel();
  /// A trip actor came to life in `s` / moved / stopped (live trips per state).
  void trip_started(trip_state s);
  void trip_moved(trip_state from, trip_state to);
  void trip_stopped(trip_state s);
  /// An offer frame went to a driver; `request_in_us` (if > 0) is when its ride
  /// request reached the node (wall_clock_us()): observed as request->offer latency.
  void offer_made(std::int64_t request_in_us);
  void offer_closed(offer_outcome o);
  /// Cluster mode: a request for a trip or shard of a shard group this node
  /// does not serve was refused (rideshard_cluster_unowned_total).
  void unowned();
  /// Requests waiting in the matchers (all shards), by delta.
  void pending_requests(std::int64_t delta);
  /// Analytics events the journal dropped because its backlog was full:
  /// rideshard_outbox_dropped_total{reason="journal_backlog"}.
  void analytics_dropped(std::size_t events);
  /// Cluster: a session frame or close for a node no route is known to
  /// (`what` "frame" / "close"), or a message for a shard group no node owns
  /// ("request"). Dropped (frames) or refused (requests), and counted here.
  void unrouted(std::string_view what);
  /// Unrouted frames + closes + requests so far (counted without metrics too; for tests).
  std::int64_t unrouted_total() const { return unrouted_.load(); }

  /// Live trips in `s` (for tests).
  std::int64_t trips(trip_state s) const;

 private:
  static constexpr std::size_t states = 8;  // trip_state::expired + 1
  static constexpr std::size_t outcomes = 5;
  void publish(trip_state s);

  gateway::metrics* m_;
  std::mutex publish_mu_;
  std::array<std::atomic<std::int64_t>, states> trips_{};
  prometheus::Counter* offers_made_ = nullptr;
  std::atomic<std::int64_t> unrouted_{0};
  std::array<prometheus::Counter*, 3> unrouted_counters_{};  ///< frame, close, request
  prometheus::Counter* unowned_ = nullptr;
  prometheus::Counter* no_driver_ = nullptr;
  std::array<prometheus::Counter*, outcomes> outcomes_{};
};

}  // namespace rideshard::node
