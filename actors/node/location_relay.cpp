// location_relay: one buffer per destination node, flushed at max_batch or at
// the end of its window (see location_relay.hpp).
#include "node/location_relay.hpp"

#include <map>
#include <unordered_map>
#include <utility>

namespace rideshard::node {
namespace {

struct node_buffer {
  location_bundle bundle;
  /// The driver actor last sent to this node per driver: an update of the same
  /// actor travels without its handle (the receiver keeps it), which saves
  /// serializing a node id and a proxy lookup per update.
  std::unordered_map<driver_id, caf::actor_addr> sent_actor;
  std::map<caf::actor_addr, std::size_t> part_of;  ///< matcher -> index in bundle.parts
  std::size_t count = 0;
  std::uint64_t window = 0;  ///< bumped at each flush: a stale timer finds another number
  bool timer = false;        ///< a location_flush for `window` is on its way
};

struct relay_state {
  location_relay_options opts;
  std::shared_ptr<location_relay_counters> counters;
  std::map<std::uint16_t, location_relay_handle> routes;
  std::map<std::uint16_t, node_buffer> buffers;
  std::unordered_map<driver_id, caf::actor> known_actor;  ///< receiving side, by driver
  static inline const char* name = "location_relay";
};
using relay_self = caf::stateful_actor<relay_state, location_relay_handle::base>;

void flush(relay_self* self, std::uint16_t node, node_buffer& b) {
  auto& st = self->state;
  ++b.window;
  b.timer = false;
  if (b.count == 0) return;
  const auto n = b.count;
  b.count = 0;
  b.part_of.clear();
  auto bundle = std::move(b.bundle);
  b.bundle = {};
  auto it = st.routes.find(node);
  if (it == st.routes.end() || !it->second) {
    st.counters->dropped += n;
    return;
  }
  self->send(it->second, std::move(bundle));
  st.counters->sent += n;
  ++st.counters->bundles;
}

// The cluster node of `m` (location_out without a node): this one, or the
// node whose relay lives on m's CAF node; 0 when no route leads there.
std::uint16_t node_of(relay_self* self, const matcher_handle& m) {
  auto& st = self->state;
  if (m->node() == self->node()) return st.opts.node;
  for (const auto& [node, relay] : st.routes)
    if (relay && relay->node() == m->node()) return node;
  return 0;
}

// Hands one update to its matcher on this node (a withdrawal as driver_unavail).
void deliver(relay_self* self, const matcher_handle& m, driver_avail&& a) {
  if (a.withdrawn) return self->send(m, driver_unavail{a.driver});
  self->send(m, std::move(a));
}

location_relay_handle::behavior_type location_relay(
    relay_self* self, location_relay_options opts,
    std::shared_ptr<location_relay_counters> counters) {
  self->state.opts = opts;
  self->state.counters = std::move(counters);
  return {
      [=](location_out& u) {
        auto& st = self->state;
        if (!u.matcher) return;
        if (u.node == 0) u.node = node_of(self, u.matcher);
        if (u.node == st.opts.node) return deliver(self, u.matcher, std::move(u.avail));
        if (st.routes.count(u.node) == 0) {
          ++st.counters->dropped;
          return;
        }
        auto& b = st.buffers[u.node];
        if (u.avail.actor) {
          auto& last = b.sent_actor[u.avail.driver];
          if (last == u.avail.actor.address())
            u.avail.actor = nullptr;  // the receiver knows it
          else
            last = u.avail.actor.address();
        }
        auto [at, fresh] = b.part_of.try_emplace(u.matcher.address(), b.bundle.parts.size());
        if (fresh) b.bundle.parts.push_back(location_part{u.matcher, {}});
        const bool withdrawn = u.avail.withdrawn;
        b.bundle.parts[at->second].avails.push_back(std::move(u.avail));
        // A withdrawal leaves at once: the driver is busy, the matcher must stop offering it.
        if (++b.count >= st.opts.max_batch || withdrawn) return flush(self, u.node, b);
        if (!b.timer) {
          b.timer = true;
          self->delayed_send(self, st.opts.window, location_flush{u.node, b.window});
        }
      },
      [=](location_flush& f) {
        auto& st = self->state;
        auto it = st.buffers.find(f.node);
        if (it == st.buffers.end() || it->second.window != f.window) return;  // flushed full
        flush(self, f.node, it->second);
      },
      [=](location_bundle& b) {
        auto& st = self->state;
        std::uint64_t n = 0;
        for (auto& part : b.parts) {
          if (!part.matcher) continue;
          for (auto& a : part.avails) {
            if (a.actor) {
              st.known_actor[a.driver] = a.actor;
            } else {
              auto it = st.known_actor.find(a.driver);
              if (it != st.known_actor.end()) a.actor = it->second;
            }
            deliver(self, part.matcher, std::move(a));
          }
          n += part.avails.size();
        }
        st.counters->received += n;
      },
      [=](relay_route& r) {
        auto& st = self->state;
        if (r.node == st.opts.node) return;
        auto known = st.routes.find(r.node);
        if (known != st.routes.end() && known->second == r.relay) return;
        // The node is down (no relay: what is buffered is dropped and counted)
        // or has another relay (the buffer goes to the old one). Either way the
        // next relay knows no driver actor: each driver's next update carries it.
        if (!r.relay) st.routes.erase(r.node);
        if (auto it = st.buffers.find(r.node); it != st.buffers.end()) {
          flush(self, r.node, it->second);
          it->second.sent_actor.clear();
        }
        if (r.relay) st.routes[r.node] = std::move(r.relay);
      },
  };
}

}  // namespace

location_relay_handle spawn_location_relay(caf::actor_system& sys, location_relay_options opts,
                                           std::shared_ptr<location_relay_counters> counters) {
  return sys.spawn(location_relay, opts, std::move(counters));
}

}  // namespace rideshard::node
