// What every simulated client of one run shares: options, region, token
// authority, counters and the trip board. Owned by run_simulation, outlives
// all clients.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "auth/jwt.hpp"
#include "rideshard/engine/region.hpp"
#include "sim/options.hpp"
#include "sim/sim_stats.hpp"
#include "sim/trip_board.hpp"

namespace rideshard::sim {

/// Read-only after construction except stats and board (themselves thread-safe).
struct sim_context {
  const sim_options& opts;
  const region& reg;
  const auth::token_authority& tokens;
  sim_stats& stats;
  trip_board& board;
  boost::asio::ip::tcp::endpoint endpoint;
};

}  // namespace rideshard::sim
