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

/// One fleet_positions frame split over shards. Thread-safe: each matcher
/// reports its part once; the last report answers the client (ack, or an
/// error_reply when nothing was accepted). Frees its in-flight slot when destroyed.
class fleet_ingest_job {
 public:
  fleet_ingest_job(context_ptr ctx, reply_to reply, std::shared_ptr<std::atomic<int>> slot);
  ~fleet_ingest_job();
  fleet_ingest_job(const fleet_ingest_job&) = delete;
  fleet_ingest_job& operator=(const fleet_ingest_job&) = delete;

  /// Records a rejected sample (counted in metrics; the first one is reported).
  void reject(errc code, std::string why);
  /// Sets how many parts will report; called once before any part is sent.
  void expect_parts(std::size_t parts);
  /// A matcher applied `accepted` samples of its part.
  void part_done(std::uint32_t accepted);

 private:
  void finish();

  context_ptr ctx_;
  reply_to reply_;
  std::shared_ptr<std::atomic<int>> slot_;
  std::mutex mu_;
  std::size_t parts_left_ = 0;
  std::uint32_t accepted_ = 0;
  std::uint32_t rejected_ = 0;
  errc first_code_ = errc::ok;
  std::string first_why_;
};

/// One nearby_batch frame split over shards. Thread-safe: matchers fill
/// disjoint slots of results(), then report; the last report sends the answer.
class nearby_batch_job {
 public:
  nearby_batch_job(context_ptr ctx, reply_to reply, std::size_t queries,
                   std::shared_ptr<std::atomic<int>> slot);
  ~nearby_batch_job();
  nearby_batch_job(const nearby_batch_job&) = delete;
  nearby_batch_job& operator=(const nearby_batch_job&) = delete;

  /// Slot i answers query i; each slot is written by exactly one matcher.
  std::vector<schemas::nearby_result>& results() { return out_.results; }
  void expect_parts(std::size_t parts);
  void part_done();

 private:
  context_ptr ctx_;
  reply_to reply_;
  std::shared_ptr<std::atomic<int>> slot_;
  schemas::nearby_results out_;
  std::mutex mu_;
  std::size_t parts_left_ = 0;
};

/// Handles admin messages for the facade. Thread-safe; never blocks: checks
/// and groups on the caller's (gateway) thread, then enqueues to matchers.
class fleet_feed {
 public:
  fleet_feed(context_ptr ctx, shard_router& router);

  /// An admin's frame after hello; anything but the admin kinds is forbidden.
  void on_message(const gateway::connection_ptr& c, schemas::client_message msg);
  /// Forgets the connection's in-flight counter.
  void on_close(std::uint64_t conn_id);

 private:
  std::shared_ptr<std::atomic<int>> take_slot(const gateway::connection_ptr& c, std::uint64_t seq);
  void ingest(const gateway::connection_ptr& c, std::uint64_t seq, schemas::fleet_positions& m);
  void nearby(const gateway::connection_ptr& c, std::uint64_t seq, schemas::nearby_batch& m);

  std::uint32_t shard_number(const shard_key& key);  // under fed_mu_

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
