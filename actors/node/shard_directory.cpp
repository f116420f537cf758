// shard_directory: shard lookup, the entity directory (spawn, revive, release)
// and forwarding, owned by one actor: no lock, no call into it from actor code.
#include "node/shard_directory.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <utility>

#include "node/driver_actor.hpp"
#include "node/rider_actor.hpp"
#include "node/shard_search.hpp"

namespace rideshard::node {

std::optional<shard_key> shard_of(const std::vector<region>& regions, lat_lng p) {
  if (!validate(p)) return std::nullopt;
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const region& r = regions[i];
    if (!r.bounds.contains(p)) continue;
    auto cell = cell_of(p, r.shard_level);
    if (!cell) return std::nullopt;
    return shard_key{i, *cell};
  }
  return std::nullopt;
}

std::vector<matcher_handle> neighbours(const shard_table& table, const std::vector<region>& regions,
                                       const shard_key& own, lat_lng center, double radius_m) {
  if (own.region >= regions.size()) return {};
  const region& r = regions[own.region];
  bool overflow = false;
  auto cells = cells_within(center, radius_m, r.shard_level, r.bounds, overflow);
  std::vector<std::pair<double, matcher_handle>> found;
  if (!overflow) {
    for (auto c : cells) {
      if (c == own.cell) continue;
      auto it = table.find(shard_key{own.region, c});
      if (it != table.end()) found.emplace_back(distance_to_cell_m(center, c), it->second);
    }
  } else {  // a huge circle: scan the live shards of the region instead
    for (auto it = table.lower_bound(shard_key{own.region, cell_id{0}});
         it != table.end() && it->first.region == own.region; ++it) {
      if (it->first.cell == own.cell) continue;
      auto d = distance_to_cell_m(center, it->first.cell);
      if (d <= radius_m) found.emplace_back(d, it->second);
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<matcher_handle> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

namespace {

/// A request for a shard group without an owner, waiting for one: `go` runs
/// with the directory to ask (this one once the group is served here, or the
/// owner's), or with an invalid handle when the wait is over.
struct held_request {
  int group = 0;
  std::function<void(const caf::actor&)> go;
};

struct directory_state {
  context_ptr ctx;
  std::shared_ptr<directory_counters> counters;
  bool stopped = false;
  std::map<shard_key, matcher_handle> shards;
  std::unordered_map<driver_id, driver_handle> drivers;
  std::unordered_map<rider_id, rider_handle> riders;
  std::unordered_map<trip_id, trip_handle> trips;
  std::map<std::uint32_t, owner_route> owners;  ///< cluster mode: from membership
  std::map<std::uint64_t, held_request> held;   ///< by hold number
  std::uint64_t holds = 0;                      ///< hold numbers handed out
  static inline const char* name = "shard_directory";
};
using directory_self = caf::stateful_actor<directory_state, directory_handle::base>;

void count(directory_self* self);

// Counts the actor until it terminates.
template <class Handle>
Handle track(directory_self* self, Handle a, int kind) {
  if (!a) return a;
  auto counts = self->state.counters;
  ++counts->running[kind];
  a->attach_functor([counts, kind] { --counts->running[kind]; });
  return a;
}

// Cluster mode: whether this node serves the shard group of `key` (always when not clustered).
bool serves(const directory_self* self, const shard_key& key) {
  const auto& groups = *self->state.ctx->groups;
  return groups.serves(shard_group_of(key, groups.groups()));
}

// ---- forwarding (cluster mode) ------------------------------------------------

// Where a request for `group` goes now: this directory when the group is
// served here, else the owner's directory, else nowhere (no owner: held).
caf::actor route_of(directory_self* self, int group) {
  auto& st = self->state;
  if (st.ctx->groups->serves(group)) return caf::actor_cast<caf::actor>(self);
  auto it = st.owners.find(static_cast<std::uint32_t>(group));
  if (it == st.owners.end() || it->second.node == st.ctx->opts.node_id) return {};
  return it->second.directory;
}

// A request another node's directory forwarded here: never forwarded again
// (its table and ours disagree for a moment; the asker refuses).
bool from_peer(directory_self* self) {
  const auto& from = self->current_sender();
  return from && from->node() != self->node();
}

caf::error unowned_error(int group) {
  return caf::make_error(caf::sec::request_timeout,
                         "shard group " + std::to_string(group) + " has no owner");
}

void retry_held(directory_self* self) {
  auto& st = self->state;
  for (auto it = st.held.begin(); it != st.held.end();) {
    auto to = route_of(self, it->second.group);
    if (!to) {
      ++it;
      continue;
    }
    auto go = std::move(it->second.go);
    it = st.held.erase(it);
    go(to);
  }
}

// Answers the request (xs...) for shard group `group` from the directory that
// serves it: this one, the owner's (bounded by connection_timeout: a lost
// peer need not answer), or, while the group has no owner, after waiting up
// to handoff_wait for one.
template <class T, class... Xs>
caf::result<T> forward(directory_self* self, int group, Xs... xs) {
  auto rp = self->make_response_promise<T>();
  if (from_peer(self)) return rp.deliver(T{});
  const auto timeout = self->state.ctx->opts.cluster.connection_timeout;
  auto go = [self, rp, group, timeout, xs...](const caf::actor& to) mutable {
    if (!to) {
      self->state.ctx->stats.unowned();
      rp.deliver(unowned_error(group));
      return;
    }
    self->request(caf::actor_cast<directory_handle>(to), timeout, xs...)
        .then([rp](T& h) mutable { rp.deliver(std::move(h)); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  };
  if (auto to = route_of(self, group)) {
    go(to);
    return rp;
  }
  auto& st = self->state;
  const auto n = ++st.holds;
  st.held.emplace(n, held_request{group, std::move(go)});
  self->delayed_send(self, st.ctx->opts.cluster.handoff_wait, handoff_expired{n});
  return rp;
}

void expire_hold(directory_self* self, std::uint64_t n) {
  auto& st = self->state;
  auto it = st.held.find(n);
  if (it == st.held.end()) return;  // an owner came in time
  auto go = std::move(it->second.go);
  st.held.erase(it);
  go({});
}

// Membership's new owner table: cached handles of other nodes' matchers may be
// stale (the facade and driver actors ask again), held requests may go now.
void set_owners(directory_self* self, group_owners& x) {
  auto& st = self->state;
  std::map<std::uint32_t, owner_route> owners;
  for (auto& o : x.owners) owners[o.group] = std::move(o);
  auto same = [](const auto& a, const auto& b) {
    return a.first == b.first && a.second.node == b.second.node &&
           a.second.directory == b.second.directory;
  };
  if (!std::equal(owners.begin(), owners.end(), st.owners.begin(), st.owners.end(), same))
    st.ctx->groups->owners_changed();
  st.owners = std::move(owners);
  retry_held(self);
}

// ---- local ----------------------------------------------------------------------

matcher_handle shard(directory_self* self, const shard_key& key) {
  auto& st = self->state;
  if (!serves(self, key)) return {};
  auto it = st.shards.find(key);
  if (it != st.shards.end()) return it->second;
  if (st.stopped) return {};
  // A matcher of a region whose surge an admin froze starts frozen (the facade
  // tells the running ones with surge_freeze).
  const bool frozen = st.ctx->switches && st.ctx->switches->surge_frozen(key.region);
  auto m =
      track(self, spawn_region_matcher(self->system(), st.ctx, key.region, key.cell, frozen), 0);
  // The newcomer learns every existing shard, and every matcher learns it.
  for (const auto& kv : st.shards) {
    caf::anon_send(m, shard_added{kv.first, kv.second});
    caf::anon_send(kv.second, shard_added{key, m});
  }
  caf::anon_send(m, shard_added{key, m});
  st.shards.emplace(key, m);
  return m;
}

driver_handle driver(directory_self* self, driver_id id) {
  auto& st = self->state;
  if (st.stopped) return {};
  auto& slot = st.drivers[id];
  if (!slot) {
    slot = track(self, spawn_driver_actor(self->system(), st.ctx, id), 1);
    count(self);
  }
  return slot;
}

rider_handle rider(directory_self* self, rider_id id) {
  auto& st = self->state;
  if (st.stopped) return {};
  auto& slot = st.riders[id];
  if (!slot) {
    slot = track(self, spawn_rider_actor(self->system(), st.ctx, id), 2);
    count(self);
  }
  return slot;
}

// Spawns a new or recovered trip with its matcher (and, recovered with a
// driver, its driver and rider) already looked up.
trip_handle spawn_trip(directory_self* self, trip_init& init) {
  auto& st = self->state;
  if (st.stopped) return {};
  const auto id = init.recovered ? init.recovered->id : init.id;
  if (!st.ctx->groups->serves_trip(id.value)) return {};
  const auto pickup = init.recovered ? init.recovered->pickup : init.pickup;
  if (auto key = shard_of(st.ctx->regions, pickup)) init.matcher = shard(self, *key);
  if (init.recovered) {
    init.rider_actor = rider(self, init.recovered->rider);
    if (init.recovered->driver.valid()) init.driver = driver(self, init.recovered->driver);
  }
  auto t = track(self, spawn_trip_actor(self->system(), st.ctx, std::move(init)), 3);
  st.trips[id] = t;
  count(self);
  return t;
}

template <class Map, class Id, class Handle>
bool release(directory_self* self, Map& map, Id id, const Handle& who) {
  auto it = map.find(id);
  if (it == map.end() || it->second != who) return false;
  map.erase(it);
  count(self);
  return true;
}

void stop_all(directory_self* self) {
  auto& st = self->state;
  st.stopped = true;
  for (auto& kv : st.shards) caf::anon_send_exit(kv.second, caf::exit_reason::user_shutdown);
  auto stop = [](auto& map) {
    for (auto& kv : map) caf::anon_send_exit(kv.second, caf::exit_reason::user_shutdown);
    map.clear();
  };
  stop(st.drivers);
  stop(st.riders);
  stop(st.trips);
  st.shards.clear();
  count(self);
  auto held = std::move(st.held);
  for (auto& h : held) h.second.go({});
}

// Cluster mode: shard group `g` is served here now; its restored trips come back.
std::vector<trip_handle> serve_group(directory_self* self, group_serve& x) {
  auto& st = self->state;
  std::vector<trip_handle> out;
  if (st.stopped) return out;
  st.ctx->groups->set(x.group, true);
  retry_held(self);
  for (auto& t : x.trips) {
    trip_init init;
    init.id = t.id;
    init.rider = t.rider;
    init.pickup = t.pickup;
    init.dropoff = t.dropoff;
    init.recovered = std::move(t);
    if (auto h = spawn_trip(self, init)) out.push_back(std::move(h));
  }
  return out;
}

// Cluster mode: shard group `g` left this node. Its matchers get an exit; its
// trips a stop_atom behind what their mailboxes hold, so a command that reached
// a trip before the group left still gets an answer (its commit is refused:
// the host refuses the group's writes from the listener's return on; fenced).
std::uint64_t stop_group(directory_self* self, const group_stop& x) {
  auto& st = self->state;
  const int n = st.ctx->groups->groups();
  st.ctx->groups->set(x.group, false);
  std::uint64_t stopped = 0;
  for (auto it = st.trips.begin(); it != st.trips.end();) {
    if (shard_group_of(it->first.value, n) != x.group) {
      ++it;
      continue;
    }
    caf::anon_send(it->second, stop_atom::value);
    it = st.trips.erase(it);
    ++stopped;
  }
  for (auto it = st.shards.begin(); it != st.shards.end();) {
    if (shard_group_of(it->first, n) != x.group) {
      ++it;
      continue;
    }
    caf::anon_send_exit(it->second, caf::exit_reason::user_shutdown);
    it = st.shards.erase(it);
    ++stopped;
  }
  count(self);
  return stopped;
}

// Publishes the directory's size for the facade (/health reads it without a round trip).
void count(directory_self* self) {
  auto& st = self->state;
  st.counters->entities = st.drivers.size() + st.riders.size() + st.trips.size();
}

directory_handle::behavior_type shard_directory(directory_self* self, context_ptr ctx,
                                                std::shared_ptr<directory_counters> counters) {
  self->state.ctx = std::move(ctx);
  self->state.counters = std::move(counters);
  auto to_driver = [self](driver_id id, auto&&... xs) {
    if (auto d = driver(self, id)) self->send(d, std::forward<decltype(xs)>(xs)...);
  };
  auto to_rider = [self](rider_id id, auto&&... xs) {
    if (auto r = rider(self, id)) self->send(r, std::forward<decltype(xs)>(xs)...);
  };
  return {
      [=](driver_id id, attach_atom a, attach_request& x) { to_driver(id, a, std::move(x)); },
      [=](driver_id id, detach_atom a, std::uint64_t s) { to_driver(id, a, s); },
      [=](driver_id id, client_atom a, client_envelope& x) { to_driver(id, a, std::move(x)); },
      [=](driver_id id, http_cmd_atom a, http_trip_command& x) { to_driver(id, a, std::move(x)); },
      [=](rider_id id, attach_atom a, attach_request& x) { to_rider(id, a, std::move(x)); },
      [=](rider_id id, detach_atom a, std::uint64_t s) { to_rider(id, a, s); },
      [=](rider_id id, client_atom a, client_envelope& x) { to_rider(id, a, std::move(x)); },
      [=](rider_id id, http_ride_atom a, http_ride& x) { to_rider(id, a, std::move(x)); },
      [=](rider_id id, http_cmd_atom a, http_trip_command& x) { to_rider(id, a, std::move(x)); },
      [=](shard_atom a, const shard_key& key) -> caf::result<matcher_handle> {
        if (serves(self, key) || self->state.stopped) return shard(self, key);
        return forward<matcher_handle>(self, shard_group_of(key, self->state.ctx->groups->groups()),
                                       a, key);
      },
      [=](lookup_atom a, trip_id id) -> caf::result<trip_handle> {
        auto& st = self->state;
        auto it = st.trips.find(id);
        if (it != st.trips.end()) return it->second;
        if (st.stopped || st.ctx->groups->serves_trip(id.value)) return trip_handle{};
        return forward<trip_handle>(self, shard_group_of(id.value, st.ctx->groups->groups()), a,
                                    id);
      },
      [=](create_atom a, trip_init& init) -> caf::result<trip_handle> {
        auto& st = self->state;
        const auto id = init.recovered ? init.recovered->id : init.id;
        if (st.stopped || st.ctx->groups->serves_trip(id.value)) return spawn_trip(self, init);
        return forward<trip_handle>(self, shard_group_of(id.value, st.ctx->groups->groups()), a,
                                    std::move(init));
      },
      [=](forget_atom, driver_id id, const driver_handle& who) {
        return release(self, self->state.drivers, id, who);
      },
      [=](forget_atom, rider_id id, const rider_handle& who) {
        return release(self, self->state.riders, id, who);
      },
      [=](forget_atom, trip_id id) {
        // Only the registered actor's own forget: a trip actor stopped with its
        // shard group may linger while the group is served again by a new one.
        auto& trips = self->state.trips;
        auto it = trips.find(id);
        if (it == trips.end() ||
            caf::actor_cast<caf::strong_actor_ptr>(it->second) != self->current_sender())
          return;
        trips.erase(it);
        count(self);
      },
      [=](keys_atom) {
        std::vector<shard_key> out;
        for (const auto& kv : self->state.shards) out.push_back(kv.first);
        return out;
      },
      [=](stop_atom) {
        stop_all(self);
        return true;
      },
      [=](group_serve& x) { return serve_group(self, x); },
      [=](const group_stop& x) { return stop_group(self, x); },
      [=](group_owners& x) { set_owners(self, x); },
      [=](const handoff_expired& x) { expire_hold(self, x.hold); },
  };
}

}  // namespace

directory_handle spawn_shard_directory(caf::actor_system& sys, context_ptr ctx,
                                       std::shared_ptr<directory_counters> counters) {
  return sys.spawn(shard_directory, std::move(ctx), std::move(counters));
}

}  // namespace rideshard::node
