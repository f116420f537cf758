// journal: the node's single writer to the RocksDB store. Trip actors ask it to
// commit a write_batch and wait for the answer before telling any client.
// Internal to node/.
#pragma once

#include <memory>
#include <string>

#include "node/protocol.hpp"
#include "rideshard/persistence/store.hpp"

namespace rideshard::node {

using commit_atom = caf::atom_constant<caf::atom("commit")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

/// A batch travelling to the journal (shared: CAF messages are copy-on-write).
using batch_ptr = std::shared_ptr<persistence::write_batch>;

/// The journal's answer: ok, or why the batch is not durable (nothing written).
struct commit_outcome {
  errc code = errc::ok;
  std::string message;
};

/// Spawns the journal on its own thread (detached: commit() blocks on fsync).
/// Group commit: every batch that arrives while a commit is in flight goes into
/// the next single synced WriteBatch. `s` must outlive the actor.
caf::actor spawn_journal(caf::actor_system& sys, persistence::store& s);

}  // namespace rideshard::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::commit_outcome)
