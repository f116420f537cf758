// The /v1/admin side of the node: a fleet operator's bulk position feed and
// batched nearby queries, split per shard and gathered back into one answer.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/protocol.hpp"
#include "node/shard_router.hpp"

namespace rideshard::node {

/// Most unanswered fleet_positions / nearby_batch frames per admin connection;
/// beyond, a frame is refused (unavailable) so matcher mailboxes stay bounded.
inline constexpr int max_admin_frames_in_flight = 64;

/// Handles admin messages for the facade. Thread-safe; never blocks: checks
/// and groups on the caller's (gateway) thread, then spawns one gatherer actor
/// per frame that asks each shard's matcher for its part (request/response,
/// bounded by dispatch_options::query_timeout) and answers the session once
/// every part answered or failed. No object is shared with the matchers.
class fleet_feed {
 public:
  fleet_feed(caf::actor_system& sys, context_ptr ctx, shard_router& router);

  /// An admin's frame after hello; anything but the admin kinds is forbidden.
  void on_message(const gateway::connection_ptr& c, schemas::client_message msg);
  /// Forgets the connection's in-flight counter.
  void on_close(std::uint64_t conn_id);

 private:
  std::shared_ptr<std::atomic<int>> take_slot(const gateway::connection_ptr& c, std::uint64_t seq);
  void ingest(const gateway::connection_ptr& c, std::uint64_t seq, schemas::fleet_positions& m);
  void nearby(const gateway::connection_ptr& c, std::uint64_t seq, schemas::nearby_batch& m);

  std::uint32_t shard_number(const shard_key& key);  // under fed_mu_

  caf::actor_system& sys_;
  context_ptr ctx_;
  shard_router& router_;
  std::mutex mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<std::atomic<int>>> in_flight_;
  // Which shard holds each fed driver, so a move across shards drops the old
  // entry. Held for the grouping loop of one frame.
  std::mutex fed_mu_;
  std::vector<shard_key> shards_;
  std::map<shard_key, std::uint32_t> shard_numbers_;
  std::unordered_map<std::uint64_t, std::uint32_t> fed_shard_;
};

}  // namespace rideshard::node
