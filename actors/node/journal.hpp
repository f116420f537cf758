// journal: the node's single writer to the RocksDB store. Trip actors ask it to
// commit a write_batch and wait for the answer before telling any client;
// analytics producers (driver locations, quotes, surge) hand it outbox-only
// batches fire-and-forget. Internal to node/.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "node/node_stats.hpp"
#include "node/protocol.hpp"
#include "rideshard/persistence/store.hpp"

namespace rideshard::persistence {
class shard_group_host;
}

namespace rideshard::node {

/// The journal's answer: ok, or why the batch is not durable (nothing written).
struct commit_outcome {
  errc code = errc::ok;
  std::string message;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, commit_outcome& x) {
  return f(caf::meta::type_name("commit_outcome"), x.code, x.message);
}

/// Default bound on analytics batches waiting for the next group commit.
inline constexpr std::size_t default_max_pending_events = 10'000;

/// Default longest wait of analytics batches for a commit to ride along with.
inline constexpr std::chrono::milliseconds default_event_flush_delay{100};

/// Spawns the journal on its own thread (detached: commit() blocks on fsync).
/// Group commit: every batch that arrives while a commit is in flight goes into
/// the next single synced WriteBatch. `s` must outlive the actor.
///
/// Its interface is journal_handle (protocol.hpp).
/// (commit_atom, batch_ptr) -> commit_outcome: acknowledged state (trip
/// transitions); the answer comes only once the batch is on disk.
/// (event_atom, batch_ptr): analytics samples; nobody waits. They ride along
/// with the next group commit of trip batches, or, if none comes within
/// `event_flush_delay`, are written on their own then: not one synced write
/// per sample. (A node stopping sends the journal a flush before its exit.)
/// At most `max_pending_events` wait at once: further ones are dropped
/// (counted, logged). A failed event batch is logged and
/// counted as storage_error in `stats` (may be null; must outlive the actor).
///
/// Cluster mode (`host` set, `shard_groups` > 0): a group commit is split by
/// shard group (a trip batch's group is its trip's, engine/shard_group.hpp) and
/// each part is one shard_group_host::write (Kafka transaction with acks=all,
/// then the local store): a transition is answered ok only once a survivor
/// can read it. A group this node no longer serves answers `fenced` (nothing
/// written; the trip actor stops). Analytics events stay in the local outbox.
/// `host` must outlive the actor.
journal_handle spawn_journal(
    caf::actor_system& sys, persistence::store& s, node_stats* stats = nullptr,
    std::size_t max_pending_events = default_max_pending_events,
    persistence::shard_group_host* host = nullptr, int shard_groups = 0,
    std::chrono::milliseconds event_flush_delay = default_event_flush_delay);

}  // namespace rideshard::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::batch_ptr)
