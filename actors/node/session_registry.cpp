// session_registry: session id -> connection, the frames actors send, and the
// routes to the other nodes' registries.
#include "node/session_registry.hpp"

#include <map>
#include <unordered_map>

namespace rideshard::node {
namespace {

struct registry_state {
  node_context* ctx = nullptr;
  std::unordered_map<std::uint64_t, gateway::connection_ptr> conns;
  std::map<std::uint16_t, session_registry_handle> peers;  ///< by node id (membership)
  static inline const char* name = "session_registry";
};
using registry_self = caf::stateful_actor<registry_state, session_registry_handle::base>;

// The registry of `node` (invalid if no route is known: down or never heard of).
session_registry_handle peer_of(registry_self* self, std::uint16_t node) {
  auto& peers = self->state.peers;
  auto it = peers.find(node);
  return it == peers.end() ? session_registry_handle{} : it->second;
}

session_registry_handle::behavior_type session_registry(registry_self* self, node_context* ctx) {
  self->state.ctx = ctx;
  return {
      [=](session_opened& o) {
        if (o.conn) self->state.conns[o.conn->id()] = std::move(o.conn);
      },
      [=](session_closed& c) { self->state.conns.erase(c.session); },
      [=](session_frame& f) {
        auto& st = self->state;
        if (f.session.node != st.ctx->opts.node_id) {
          if (auto to = peer_of(self, f.session.node)) return self->send(to, std::move(f));
          return st.ctx->stats.unrouted("frame");
        }
        auto it = st.conns.find(f.session.id);
        if (it == st.conns.end()) return;  // closed meanwhile: nobody to tell
        st.ctx->write(it->second, std::move(f.body), f.reply_seq);
      },
      [=](session_close& c) {
        auto& st = self->state;
        if (c.session.node != st.ctx->opts.node_id) {
          if (auto to = peer_of(self, c.session.node)) return self->send(to, std::move(c));
          return st.ctx->stats.unrouted("close");
        }
        auto it = st.conns.find(c.session.id);
        if (it == st.conns.end()) return;
        it->second->close(std::move(c.reason));
      },
      [=](registry_route& r) {
        auto& st = self->state;
        if (r.node == st.ctx->opts.node_id) return;
        if (r.registry)
          st.peers[r.node] = std::move(r.registry);
        else
          st.peers.erase(r.node);
      },
  };
}

}  // namespace

session_registry_handle spawn_session_registry(caf::actor_system& sys, node_context* ctx) {
  return sys.spawn(session_registry, ctx);
}

}  // namespace rideshard::node
