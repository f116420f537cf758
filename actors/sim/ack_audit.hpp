// ack_audit: after a run, checks every transition the node acknowledged to a
// simulated client against what the cluster holds now — the loss count of a
// failover demo or test. Reads GET /api/admin/trips/{id} (an admin token minted
// with the run's JWT secret) from each node until one answers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "auth/jwt.hpp"
#include "sim/sim_stats.hpp"
#include "sim/trip_board.hpp"

namespace rideshard::sim {

/// trips: trips a client was told anything about; acknowledged_lost: trips whose
/// acknowledged state the nodes do not hold; unreachable: trips no node answered
/// for (not counted lost); double_assignments: pairs of one driver's trips that
/// overlap in time; lost_examples: up to 10 "t-<id>: told X, holds Y".
using audit_report = audit_summary;

/// Whether a trip that holds `held` (with driver `held_driver`) keeps every
/// state in `told` (a bit per trip_state a client heard): an assigned state
/// only moves forward (accepted -> arrived -> in progress -> an end), so a
/// trip told `in_progress` that holds `accepted` lost a transition; a trip told
/// an end must hold that end; `offered` is not an acknowledgement (a node may
/// die before it is durable). Pure.
bool keeps_acknowledged(std::uint8_t told, driver_id told_driver, trip_state held,
                        driver_id held_driver);

/// One driver's assignment: the trip, when the driver accepted it and when it
/// ended (0: not ended).
struct assignment {
  trip_id trip;
  driver_id driver;
  std::int64_t from_ms = 0, to_ms = 0;
};
/// Pairs of assignments of one driver whose [from, to) intervals overlap (an
/// open one runs to the end of time). Pure.
std::uint64_t count_overlaps(std::vector<assignment> all);

/// Asks the nodes about every trip in `acked` (each at most `timeout_ms`
/// per request). Never throws; a node that does not answer is skipped.
audit_report audit_acknowledged(const std::vector<trip_board::acked_trip>& acked,
                                const std::vector<boost::asio::ip::tcp::endpoint>& nodes,
                                const auth::token_authority& tokens, int timeout_ms = 2000);

}  // namespace rideshard::sim
