// How the node's CAF scheduler runs its worker threads ([scheduler] of the node
// config): thread count and CAF 0.17's work-stealing poll/sleep strategy. Plain
// values, no CAF type.
#pragma once

#include <chrono>
#include <cstddef>

#include "rideshard/engine/result.hpp"

namespace rideshard::node {

/// CAF 0.17's work-stealing scheduler, as the node configures it (besides its
/// thread count, dispatch_options::worker_threads). A worker
/// whose queue ran dry polls it `aggressive_poll_attempts` times without
/// sleeping, then `moderate_poll_attempts` times with a `moderate_sleep`
/// between two polls, then waits on its condition variable (woken by any
/// message sent from outside the actor system, e.g. the gateway, the clock or
/// a detached actor) for at most `relaxed_sleep` at a time, stealing from
/// another worker every `relaxed_steal_interval` timeouts. A message one actor
/// sends to another goes to the sending worker's own queue and wakes nobody:
/// an idle worker finds it only by stealing.
///
/// CAF's own defaults (100 / 500 x 50 us / 10 ms) keep a worker that sees a
/// message every few ms polling with 50 us sleeps: ~6,000 context switches a
/// second per worker at the dispatch_load shape, and an idle node wakes each
/// worker 100 times a second. The node's defaults skip the moderate phase and
/// steal every 100 ms (measured: bench/load/README.md).
struct scheduler_options {
  /// Polls without sleeping before the moderate phase; steals every `aggressive_steal_interval`.
  std::size_t aggressive_poll_attempts = 100;
  std::size_t aggressive_steal_interval = 10;
  /// Polls with `moderate_sleep` between them; steals every `moderate_steal_interval`.
  std::size_t moderate_poll_attempts = 0;
  std::size_t moderate_steal_interval = 5;
  std::chrono::microseconds moderate_sleep{50};
  /// Longest wait on the worker's condition variable before it tries to steal.
  std::chrono::microseconds relaxed_sleep{100'000};
  std::size_t relaxed_steal_interval = 1;
};

/// bad_config when a steal interval is 0 (CAF divides by it), a sleep is
/// negative or relaxed_sleep is 0 (a worker would never block).
[[nodiscard]] result<void> validate(const scheduler_options& s);

/// The settings of the actor systems that dispatch_node::create starts from now
/// on (one per process in `rideshard serve`, which sets them from [scheduler]
/// before creating its node). Validated (bad_config, nothing changed). Not
/// thread-safe against a concurrent dispatch_node::create. The number of
/// workers is dispatch_options::worker_threads ([scheduler] threads).
[[nodiscard]] result<void> set_process_scheduler(const scheduler_options& s);

/// What set_process_scheduler last set, or the defaults above.
scheduler_options process_scheduler();

}  // namespace rideshard::node
