// session_registry: session id -> connection, and the frames actors send.
#include "node/session_registry.hpp"

#include <unordered_map>

namespace rideshard::node {
namespace {

struct registry_state {
  node_context* ctx = nullptr;
  std::unordered_map<std::uint64_t, gateway::connection_ptr> conns;
  static inline const char* name = "session_registry";
};
using registry_self = caf::stateful_actor<registry_state, session_registry_handle::base>;

session_registry_handle::behavior_type session_registry(registry_self* self, node_context* ctx) {
  self->state.ctx = ctx;
  return {
      [=](session_opened& o) {
        if (o.conn) self->state.conns[o.conn->id()] = std::move(o.conn);
      },
      [=](session_closed& c) { self->state.conns.erase(c.session); },
      [=](session_frame& f) {
        auto& st = self->state;
        auto it = st.conns.find(f.session);
        if (it == st.conns.end()) return;  // closed meanwhile: nobody to tell
        st.ctx->write(it->second, std::move(f.body), f.reply_seq);
      },
      [=](session_close& c) {
        auto& st = self->state;
        auto it = st.conns.find(c.session);
        if (it == st.conns.end()) return;
        it->second->close(std::move(c.reason));
      },
  };
}

}  // namespace

session_registry_handle spawn_session_registry(caf::actor_system& sys, node_context* ctx) {
  return sys.spawn(session_registry, ctx);
}

}  // namespace rideshard::node
