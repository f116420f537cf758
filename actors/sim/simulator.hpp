// The fleet simulator's entry point: drives a running node with N driver and a
// stream of rider WebSocket clients for a bounded time and reports what it saw.
#pragma once

#include <cstdio>

#include "rideshard/engine/region.hpp"
#include "rideshard/engine/result.hpp"
#include "sim/options.hpp"
#include "sim/sim_stats.hpp"

namespace rideshard::sim {

/// Runs one simulation against the node at opts.host:opts.port in region `reg`
/// and blocks until it is over: ramp-up, opts.duration_s of load, up to
/// opts.drain_s for trips in flight, then every connection closed (bounded).
/// Prints a progress line per second to `progress` (nullptr: silent).
/// Errors: invalid_argument (options out of range), unavailable (the address
/// does not resolve), bad_config (the JWT secret). Thread-safe: one run per call.
[[nodiscard]] result<sim_report> run_simulation(const sim_options& opts, const region& reg,
                                                std::FILE* progress);

}  // namespace rideshard::sim
