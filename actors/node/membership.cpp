// membership: dial, heartbeat and down detection between cluster nodes (see
// membership.hpp for the rules).
#include "node/membership.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#pragma GCC diagnostic pop

#include "node/location_relay.hpp"
#include "node/log_sink.hpp"
#include "node/shard_directory.hpp"

namespace rideshard::node {

void cluster_board::publish(std::vector<member_status> members, std::int64_t at_ms) {
  std::lock_guard<std::mutex> lock{mu_};
  members_ = std::move(members);
  at_ms_ = at_ms;
}

std::vector<member_status> cluster_board::read(std::int64_t now_ms) const {
  std::lock_guard<std::mutex> lock{mu_};
  auto out = members_;
  const std::int64_t since = std::max<std::int64_t>(0, now_ms - at_ms_);
  for (auto& m : out) {
    if (!m.self && m.heartbeat_age_ms >= 0) m.heartbeat_age_ms += since;
    if (m.up || m.self) m.uptime_ms += since;
  }
  return out;
}

std::map<std::uint32_t, std::uint16_t> resolve_owners(const std::vector<group_claim>& claims) {
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint16_t>> best;  // group -> epoch, node
  for (const auto& c : claims)
    for (auto g : c.groups) {
      auto [it, fresh] = best.try_emplace(g, c.epoch, c.node);
      auto& [epoch, node] = it->second;
      if (!fresh && (c.epoch > epoch || (c.epoch == epoch && c.node < node))) {
        epoch = c.epoch;
        node = c.node;
      }
    }
  std::map<std::uint32_t, std::uint16_t> out;
  for (const auto& [g, en] : best) out.emplace(g, en.second);
  return out;
}

namespace {

struct peer {
  std::uint16_t node = 0;
  std::string version;
  std::int64_t started_ms = 0;
  membership_handle handle;  ///< valid once dialed or heard from
  std::int64_t last_beat_ms = -1;
  bool up = false;
  bool dialing = false;
  std::int64_t next_dial_ms = 0;
  std::int64_t backoff_ms = 0;
  std::string last_error = "not reached yet";
  std::string suspect;               ///< why its connection was lost, while the redial decides
  session_registry_handle sessions;  ///< its session registry (from its beats)
  caf::actor directory;              ///< its shard directory (from its beats)
  caf::actor locations;              ///< its location relay (from its beats)
  std::uint64_t groups_epoch = 0;
  std::vector<std::uint32_t> groups;  ///< its latest claim
};

struct membership_state {
  cluster_options opts;
  std::uint16_t node = 0;
  std::function<std::int64_t()> now_ms;
  cluster_board* board = nullptr;
  std::string address;  ///< ours, once started
  std::int64_t started_ms = 0;
  std::map<std::string, peer> peers;  ///< by BASP address
  std::uint64_t round = 0;
  membership_links links;          ///< this node's registry and directory
  std::uint64_t groups_epoch = 0;  ///< this node's claim (groups_served)
  std::vector<std::uint32_t> groups;
  std::map<std::uint32_t, std::uint16_t> owners;  ///< resolved: group -> node
  /// What the local directory was last told: group -> (node, its directory).
  std::map<std::uint32_t, std::pair<std::uint16_t, caf::actor_addr>> told;
  static inline const char* name = "membership";
};
using membership_self = caf::stateful_actor<membership_state, membership_handle::base>;

bool split_address(const std::string& a, std::string& host, std::uint16_t& port) {
  const auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const int p = std::atoi(a.c_str() + colon + 1);
  if (p <= 0 || p > 65535) return false;
  host = a.substr(0, colon);
  port = static_cast<std::uint16_t>(p);
  return true;
}

member_beat beat_of(const membership_state& st) {
  member_beat b{
      st.node,           st.address,         st.opts.version,    st.started_ms,   {},
      st.links.sessions, st.links.directory, st.links.locations, st.groups_epoch, st.groups};
  for (const auto& [addr, p] : st.peers)
    if (p.up) b.peers.push_back(addr);
  return b;
}

// Hands the owner table with each owner's directory to this node's directory
// (group_owners), when it differs from what the directory was last told.
void tell_directory(membership_state& st) {
  if (!st.links.directory) return;
  std::map<std::uint16_t, caf::actor> dirs{{st.node, st.links.directory}};
  for (const auto& [addr, p] : st.peers)
    if (p.up && p.node != 0 && p.directory) dirs[p.node] = p.directory;
  group_owners table;
  std::map<std::uint32_t, std::pair<std::uint16_t, caf::actor_addr>> told;
  for (const auto& [g, n] : st.owners) {
    auto d = dirs.find(n);
    if (d == dirs.end()) continue;  // its directory is not known yet: no owner to ask
    table.owners.push_back(owner_route{g, n, d->second});
    told.emplace(g, std::pair{n, d->second.address()});
  }
  if (told == st.told) return;
  st.told = std::move(told);
  caf::anon_send(st.links.directory, std::move(table));
}

// The owner table from this node's claim and those of the peers up.
// Down nodes' claims take part too: a group whose newest claim is a down
// node's has no owner (until a newer assignment names one), rather than going
// back to an older claim that is stale.
void resolve(membership_state& st) {
  std::vector<group_claim> claims{{st.node, st.groups_epoch, st.groups}};
  std::set<std::uint16_t> down;
  for (const auto& [addr, p] : st.peers) {
    if (p.node == 0) continue;
    claims.push_back({p.node, p.groups_epoch, p.groups});
    if (!p.up) down.insert(p.node);
  }
  for (const auto& [addr, p] : st.peers)  // a node restarted at another address is up
    if (p.up) down.erase(p.node);
  auto owners = resolve_owners(claims);
  for (auto it = owners.begin(); it != owners.end();)
    it = down.count(it->second) ? owners.erase(it) : std::next(it);
  if (owners != st.owners) {
    st.owners = std::move(owners);
    logger().info("event=shard_owners node={} groups={}", st.node, st.owners.size());
  }
  tell_directory(st);
}

std::vector<std::uint32_t> owned_by(const membership_state& st, std::uint16_t node) {
  std::vector<std::uint32_t> out;
  for (const auto& [g, n] : st.owners)
    if (n == node) out.push_back(g);
  return out;
}

void publish(membership_state& st) {
  resolve(st);
  const std::int64_t now = st.now_ms();
  std::vector<member_status> rows;
  rows.push_back(member_status{st.node,
                               st.address,
                               st.opts.version,
                               now - st.started_ms,
                               0,
                               true,
                               true,
                               {},
                               owned_by(st, st.node),
                               st.groups_epoch});
  for (const auto& [addr, p] : st.peers)
    rows.push_back(
        member_status{p.node, addr, p.version, p.up && p.started_ms > 0 ? now - p.started_ms : 0,
                      p.last_beat_ms < 0 ? -1 : now - p.last_beat_ms, p.up, false,
                      p.up ? std::string() : p.last_error,
                      p.up ? owned_by(st, p.node) : std::vector<std::uint32_t>{}, p.groups_epoch});
  st.board->publish(std::move(rows), now);
}

// Tells this node's session registry and location relay how to reach those
// of `node` (invalid handles: it is down).
void route(membership_self* self, std::uint16_t node, session_registry_handle registry,
           caf::actor relay) {
  auto& st = self->state;
  if (node == 0 || node == st.node) return;
  if (st.links.sessions) self->send(st.links.sessions, registry_route{node, std::move(registry)});
  if (st.links.locations)
    self->send(caf::actor_cast<location_relay_handle>(st.links.locations),
               relay_route{node, caf::actor_cast<location_relay_handle>(relay)});
}

void mark_down(membership_self* self, const std::string& addr, peer& p, std::string why) {
  auto& st = self->state;
  if (p.handle) self->demonitor(p.handle.address());
  p.handle = nullptr;
  p.dialing = false;
  p.backoff_ms = st.opts.retry_min.count();
  p.next_dial_ms = st.now_ms() + p.backoff_ms;
  if (p.up) logger().warn("event=member_down node={} address={} reason=\"{}\"", p.node, addr, why);
  if (p.up) route(self, p.node, {}, {});
  p.up = false;
  p.last_error = std::move(why);
  publish(st);
}

void dial(membership_self* self, const std::string& addr) {
  auto& st = self->state;
  auto& p = st.peers[addr];
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(addr, host, port)) {
    p.last_error = "not a host:port address";
    p.next_dial_ms = INT64_MAX;
    return;
  }
  p.dialing = true;
  auto mm = self->system().openssl_manager().actor_handle();
  self->request(mm, st.opts.connection_timeout, caf::connect_atom::value, host, port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& remote, const std::set<std::string>&) {
            auto& q = self->state.peers[addr];
            q.dialing = false;
            if (!remote) {
              q.last_error = "no membership actor at " + addr;
              return;
            }
            q.backoff_ms = 0;
            q.suspect.clear();
            if (!q.handle) {
              q.handle = caf::actor_cast<membership_handle>(remote);
              self->monitor(q.handle);
            }
            self->send(q.handle, beat_of(self->state));
          },
          [=](caf::error& e) {
            auto& q = self->state.peers[addr];
            q.dialing = false;
            if (q.up) {  // the redial after a lost connection: the node is gone
              mark_down(self, addr, q, q.suspect + "; redial failed: " + self->system().render(e));
              q.suspect.clear();
              return;
            }
            q.last_error = "dial failed: " + self->system().render(e);
            q.backoff_ms =
                std::clamp<std::int64_t>(q.backoff_ms * 2, self->state.opts.retry_min.count(),
                                         self->state.opts.retry_max.count());
            q.next_dial_ms = self->state.now_ms() + q.backoff_ms;
            logger().debug("event=member_dial_failed address={} retry_in_ms={} error=\"{}\"", addr,
                           q.backoff_ms, q.last_error);
          });
}

void tick(membership_self* self) {
  auto& st = self->state;
  const std::int64_t now = st.now_ms();
  const auto beat = beat_of(st);
  for (auto& [addr, p] : st.peers) {
    if (p.up && now - p.last_beat_ms > st.opts.connection_timeout.count()) {
      mark_down(self, addr, p, "no heartbeat for " + std::to_string(now - p.last_beat_ms) + " ms");
      continue;
    }
    if (p.handle)
      self->send(p.handle, beat);
    else if (!p.dialing && now >= p.next_dial_ms)
      dial(self, addr);
  }
  publish(st);
}

membership_handle::behavior_type membership(membership_self* self, cluster_options opts,
                                            std::uint16_t node_id,
                                            std::function<std::int64_t()> now_ms,
                                            cluster_board* board, membership_links links) {
  auto& st = self->state;
  st.links = std::move(links);
  st.opts = std::move(opts);
  st.node = node_id;
  st.now_ms = std::move(now_ms);
  st.board = board;
  st.started_ms = st.now_ms();
  self->set_down_handler([=](caf::down_msg& dm) {
    for (auto& [addr, p] : self->state.peers)
      if (p.handle && p.handle.address() == dm.source) {
        // A lost proxy is not yet a lost node: CAF 0.17 also kills proxies when
        // it drops a duplicate connection (two nodes dialing each other) or a
        // route through a third node that died. Redial at once: a dead node
        // refuses (marked down then), a live one answers over its own link.
        p.handle = nullptr;
        p.suspect = "connection lost: " + self->system().render(dm.reason);
        if (!p.dialing) dial(self, addr);
        return;
      }
  });
  return {
      [=](membership_start& s) {
        auto& st = self->state;
        st.address = std::move(s.address);
        for (const auto& seed : st.opts.seeds)
          if (seed != st.address) st.peers.try_emplace(seed);
        logger().info("event=cluster_start node={} address={} seeds={}", st.node, st.address,
                      st.peers.size());
        tick(self);
        self->delayed_send(self, st.opts.heartbeat_interval, membership_tick{++st.round});
      },
      [=](membership_tick&) {
        tick(self);
        auto& st = self->state;
        self->delayed_send(self, st.opts.heartbeat_interval, membership_tick{++st.round});
      },
      [=](groups_served& g) {
        auto& st = self->state;
        if (g.epoch < st.groups_epoch) return;  // an older assignment, overtaken
        std::sort(g.groups.begin(), g.groups.end());
        g.groups.erase(std::unique(g.groups.begin(), g.groups.end()), g.groups.end());
        st.groups_epoch = g.epoch;
        st.groups = std::move(g.groups);
        logger().info("event=groups_served node={} epoch={} groups={}", st.node, st.groups_epoch,
                      st.groups.size());
        // Tell the peers now rather than at the next tick.
        const auto beat = beat_of(st);
        for (auto& [addr, p] : st.peers)
          if (p.handle) self->send(p.handle, beat);
        publish(st);
      },
      [=](member_beat& b) {
        auto& st = self->state;
        if (b.address.empty() || b.address == st.address) return;
        auto& p = st.peers[b.address];
        auto from = caf::actor_cast<membership_handle>(self->current_sender());
        if (from && p.handle != from) {
          if (p.handle) self->demonitor(p.handle.address());
          p.handle = from;
          self->monitor(p.handle);
        }
        const bool was_up = p.up;
        const bool restarted = p.started_ms != b.started_ms;
        p.node = b.node;
        p.version = std::move(b.version);
        p.started_ms = b.started_ms;
        if (!was_up || p.sessions != b.sessions || p.locations != b.locations) {
          p.sessions = b.sessions;
          p.locations = b.locations;
          route(self, p.node, b.sessions, b.locations);
        }
        p.directory = std::move(b.directory);
        // A claim older than the last one heard from the same run of the node
        // (a beat overtaken on a redialed connection) is stale.
        bool claim_changed = false;
        if (restarted || b.groups_epoch >= p.groups_epoch) {
          claim_changed = p.groups_epoch != b.groups_epoch || p.groups != b.groups;
          p.groups_epoch = b.groups_epoch;
          p.groups = std::move(b.groups);
        }
        p.last_beat_ms = st.now_ms();
        p.up = true;
        p.last_error.clear();
        p.backoff_ms = 0;
        if (!was_up) {
          logger().info("event=member_up node={} address={} version={}", p.node, b.address,
                        p.version);
          // Answer at once, so the peer sees us up without waiting a tick.
          if (p.handle) self->send(p.handle, beat_of(st));
          publish(st);
        } else if (claim_changed) {
          publish(st);
        }
        // Gossip: dial the nodes the peer knows and we do not (next tick).
        for (const auto& other : b.peers)
          if (other != st.address) st.peers.try_emplace(other);
      },
  };
}

}  // namespace

void configure_cluster(caf::actor_system_config& cfg, const cluster_options& opts) {
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  // BASP heartbeats; a connection silent for connection_timeout is closed,
  // which takes down the proxies of the peer's actors (membership sees down_msg).
  cfg.set("middleman.heartbeat-interval", caf::timespan{opts.heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{opts.connection_timeout});
  // With all three set, CAF's OpenSSL session requires and verifies a peer
  // certificate (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) against the CA.
  cfg.openssl_certificate = opts.tls_cert;
  cfg.openssl_key = opts.tls_key;
  cfg.openssl_cafile = opts.tls_ca;
}

membership_handle spawn_membership(caf::actor_system& sys, const cluster_options& opts,
                                   std::uint16_t node_id, std::function<std::int64_t()> now_ms,
                                   cluster_board* board, membership_links links) {
  return sys.spawn(membership, opts, node_id, std::move(now_ms), board, std::move(links));
}

result<std::pair<membership_handle, std::string>> start_membership(
    caf::actor_system& sys, const cluster_options& opts, std::uint16_t node_id,
    std::function<std::int64_t()> now_ms, cluster_board* board, membership_links links) {
  auto self = spawn_membership(sys, opts, node_id, std::move(now_ms), board, std::move(links));
  auto port = caf::openssl::publish(self, opts.port, opts.host.c_str(), true);
  if (!port) {
    caf::anon_send_exit(self, caf::exit_reason::user_shutdown);
    return error{errc::bad_config, "[cluster] cannot listen on " + opts.host + ":" +
                                       std::to_string(opts.port) + ": " + sys.render(port.error())};
  }
  auto address = opts.host + ":" + std::to_string(*port);
  caf::anon_send(self, membership_start{address});
  return std::pair{self, address};
}

}  // namespace rideshard::node
