// session_registry: the node's one writer to client connections on behalf of
// actors. The gateway side (dispatch_node) registers every connection under its
// session id; actors address a session by value (session_ref, protocol.hpp) and
// hand their frames to this actor, which stamps and queues them on the
// connection. No other actor ever holds a connection. A frame for a session of
// another cluster node is passed on to that node's registry (learnt from the
// membership actor as registry_route): one hop over BASP, in order per sender;
// with no route it is dropped and counted (rideshard_cluster_unrouted_total).
// Internal to node/.
#pragma once

#include "node/protocol.hpp"

namespace rideshard::node {

/// Gateway -> registry: a connection opened. The only message that carries a
/// connection pointer, and only to this node-local actor (a session stays on
/// the node of its socket), so it is a local-only message type.
struct session_opened {
  gateway::connection_ptr conn;
};

/// Gateway -> registry: the connection closed; frames for it are dropped.
struct session_closed {
  std::uint64_t session = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_closed& x) {
  return f(caf::meta::type_name("session_closed"), x.session);
}

/// Spawns the registry of this node. Handles session_opened, session_closed,
/// session_frame (stamped by ctx: frame seq, server time) and session_close
/// (both routed by the session's node), registry_route.
/// `ctx` must outlive the actor.
session_registry_handle spawn_session_registry(caf::actor_system& sys, node_context* ctx);

}  // namespace rideshard::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rideshard::node::session_opened)
