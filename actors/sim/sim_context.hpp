// What every simulated client of one run shares: options, region, token
// authority, counters and the trip board. Owned by run_simulation, outlives
// all clients.
#pragma once

#include <cstdint>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "auth/jwt.hpp"
#include "rideshard/engine/region.hpp"
#include "sim/options.hpp"
#include "sim/sim_stats.hpp"
#include "sim/trip_board.hpp"
#include "sim/ws_client.hpp"

namespace rideshard::sim {

/// Read-only after construction except stats and board (themselves thread-safe).
struct sim_context {
  const sim_options& opts;
  const region& reg;
  const auth::token_authority& tokens;
  sim_stats& stats;
  trip_board& board;
  std::vector<boost::asio::ip::tcp::endpoint> nodes;  ///< at least one

  /// Where client `index` connects first, and its redial rule.
  ws_target target(std::uint64_t index) const {
    return ws_target{nodes, static_cast<std::size_t>(index % nodes.size()), opts.reconnect_s};
  }
};

}  // namespace rideshard::sim
