// dispatch_node: the facade the gateway calls. Authenticates hello through the
// injected verifier, checks roles per message kind, and enqueues to actors.
#include "node/dispatch_node.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "node/cluster_tls.hpp"
#include "node/fleet_feed.hpp"
#include "node/journal.hpp"
#include "node/location_relay.hpp"
#include "node/log_sink.hpp"
#include "node/membership.hpp"
#include "node/message_types.hpp"
#include "node/protocol.hpp"
#include "node/region_switches.hpp"
#include "node/scheduler_options.hpp"
#include "node/session_registry.hpp"
#include "node/shard_router.hpp"
#include "rideshard/persistence/shard_group_host.hpp"
#include "rideshard/schemas/records.hpp"

namespace rideshard::node {

// ---- node_context -----------------------------------------------------------

std::uint64_t node_context::next_id() {
  std::lock_guard<std::mutex> lock{id_mu_};
  if (!ids_) ids_ = std::make_unique<id_generator>(opts.node_id, opts.now_ms);
  return ids_->next();
}

std::uint64_t node_context::next_trip_id(int group) {
  std::lock_guard<std::mutex> lock{id_mu_};
  if (!ids_) ids_ = std::make_unique<id_generator>(opts.node_id, opts.now_ms);
  return id_in_shard_group(group, groups->groups(), [this] { return ids_->next(); });
}

static std::string unowned_message(int group, const char* what) {
  return std::string(what) + " belongs to shard group " + std::to_string(group) +
         ", which is not served here now (a handoff is in progress): retry";
}

void node_context::refuse_unowned(const reply_to& to, int group, const char* what) {
  stats.unowned();
  send_error(to, errc::unavailable, unowned_message(group, what));
}

void node_context::write(const gateway::connection_ptr& conn, schemas::server_body body,
                         std::uint64_t reply_seq) {
  if (!conn) return;
  schemas::server_message m;
  m.seq = ++frame_seq_;
  m.reply_to = reply_seq;
  m.server_time_ms = now();
  m.body = std::move(body);
  conn->send(std::move(m));
}

void node_context::send(session_ref to, schemas::server_body body, std::uint64_t reply_seq) {
  // Through this node's registry also for a session of another node: it knows
  // the route (that node's registry), and one path keeps a sender's frames in order.
  if (!to || !sessions) return;
  caf::anon_send(sessions, session_frame{to, std::move(body), reply_seq});
}

void node_context::close(session_ref to, std::string reason) {
  if (!to || !sessions) return;
  caf::anon_send(sessions, session_close{to, std::move(reason)});
}

void node_context::refused(std::uint64_t session, std::uint64_t seq, errc code,
                           const std::string& message) {
  stats.error(code);
  auto& log = logger();
  if (log.should_log(spdlog::level::warn)) {
    const std::string who = session != 0 && subject_of ? subject_of(session) : std::string("-");
    log.warn("event=refused code={} subject={} conn={} seq={} msg=\"{}\"", to_string(code), who,
             session, seq, message);
  }
}

void node_context::send_error(const reply_to& to, errc code, std::string message) {
  refused(to.session.id, to.seq, code, message);
  send(to.session, schemas::error_reply{code, std::move(message), to.seq}, to.seq);
}

void node_context::write_error(const gateway::connection_ptr& conn, std::uint64_t seq, errc code,
                               std::string message) {
  refused(conn ? conn->id() : 0, seq, code, message);
  write(conn, schemas::error_reply{code, std::move(message), seq}, seq);
}

std::chrono::milliseconds node_context::offer_timeout(const region& r) const {
  if (opts.offer_timeout.count() > 0) return opts.offer_timeout;
  return std::chrono::milliseconds(r.sequential.offer_timeout_ms);
}

schemas::trip_status status_of(const rideshard::trip& t) {
  schemas::trip_status s;
  s.trip = t.id;
  s.state = t.state;
  s.driver = t.driver;
  s.rider = t.rider;
  s.pickup = t.pickup;
  s.dropoff = t.dropoff;
  s.pin = t.pin;
  s.cancelled_by = t.cancelled_by;
  s.cancel_reason = t.cancel_reason;
  return s;
}

std::uint64_t parse_subject(const std::string& subject, char kind) {
  if (subject.size() < 3 || subject[0] != kind || subject[1] != '-') return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < subject.size(); ++i) {
    char c = subject[i];
    if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// ---- dispatch_node ----------------------------------------------------------

namespace {

struct node_config : caf::actor_system_config {
  node_config(std::size_t threads, const cluster_options& cluster) {
    const scheduler_options sched = process_scheduler();
    if (threads > 0) set("scheduler.max-threads", threads);
    // Work stealing (scheduler_options.hpp): CAF reads these when it starts its workers.
    set("work-stealing.aggressive-poll-attempts", sched.aggressive_poll_attempts);
    set("work-stealing.aggressive-steal-interval", sched.aggressive_steal_interval);
    set("work-stealing.moderate-poll-attempts", sched.moderate_poll_attempts);
    set("work-stealing.moderate-steal-interval", sched.moderate_steal_interval);
    set("work-stealing.moderate-sleep-duration", caf::timespan{sched.moderate_sleep});
    set("work-stealing.relaxed-steal-interval", sched.relaxed_steal_interval);
    set("work-stealing.relaxed-sleep-duration", caf::timespan{sched.relaxed_sleep});
    add_node_message_types(*this);
    // The single node loads no middleman: no port besides the gateway's.
    if (cluster.enabled) configure_cluster(*this, cluster);
  }
};

enum class kind_role { any, driver, rider, both, admin };

kind_role role_of(const schemas::client_body& b) {
  switch (b.index()) {
    case 0:
    case 12:
      return kind_role::any;  // hello, ping
    case 4:
    case 5:
      return kind_role::rider;  // quote, ride_request
    case 11:
      return kind_role::both;  // cancel_trip
    case 13:
    case 14:
      return kind_role::admin;  // fleet_positions, nearby_batch (fleet_feed)
    default:
      return kind_role::driver;
  }
}

struct session {
  identity who;
  std::uint64_t entity = 0;
};

}  // namespace

/// dispatch_node::drain_phase() by impl::drain.
/// The last one is counted only: drain_phase() is "" again after a rejoin.
constexpr std::array<const char*, 5> drain_phases{"", "handing_off", "handed_off", "timed_out",
                                                  "rejoined"};

struct dispatch_node::impl {
  impl(std::size_t threads, const cluster_options& cluster) : cfg(threads, cluster), sys(cfg) {}
  node_config cfg;
  caf::actor_system sys;
  std::int64_t started_ms = 0;
  cluster_board members;            ///< written by `membership`
  membership_handle membership;     ///< invalid when not clustered
  location_relay_handle locations;  ///< clustered: updates for other nodes' matchers
  std::string cluster_address;      ///< the bound BASP "host:port" (clustered)
  context_ptr ctx;
  std::unique_ptr<shard_router> router;
  token_verifier verify;
  mutable std::mutex mu;
  std::unordered_map<std::uint64_t, session> sessions;  ///< by connection id
  std::unique_ptr<fleet_feed> fleet;                    ///< admin sessions' messages
  journal_handle journal;                               ///< invalid on an in-memory node
  session_registry_handle registry;                     ///< the session registry
  recovery_report recovered;
  /// Cluster mode with shard ownership: the Kafka side (ownership, changelog
  /// writers, restores). Its listener waits for `host_ready` (set once the
  /// journal writes through it) before serving a group.
  std::unique_ptr<persistence::shard_group_host> host;
  std::promise<void> host_started;
  /// The groups whose trips are revived and re-attached (what /health shows as
  /// served: an app reconnecting after that finds its trip). Guarded by `mu`.
  std::set<int> ready_groups;
  std::shared_future<void> host_ready = host_started.get_future().share();
  /// The drain (drain_groups): index into drain_phases, 0 while not draining.
  std::atomic<int> drain{0};
  /// rideshard_cluster_drain_phases_total{phase}, one per phase (none without metrics).
  std::array<prometheus::Counter*, 5> drain_counters{};
  /// The admin's drain (start_drain) runs here; joined by rejoin() and the destructor.
  std::mutex drain_mu;
  std::thread drain_thread;
  bool drain_started = false;  ///< guarded by drain_mu: start_drain ran, no rejoin since
  void enter_drain_phase(int phase, std::size_t groups);

  result<void> recover(persistence::store& s);
  /// The store's active trips (snapshot plus newer journal entries) that `want`
  /// selects; counts into `recovered`.
  result<std::vector<rideshard::trip>> active_trips(persistence::store& s,
                                                    const std::function<bool(trip_id)>& want);
  /// Cluster mode: joins the shard ownership group and starts the journal
  /// writing through it. Errors: as shard_group_host::start.
  result<void> start_ownership(persistence::store& s);
  /// The listener: group `g` is fenced and restored / leaves this node.
  void serve_group(int g, const persistence::restore_stats& restored);
  void stop_group(int g, bool lost);
  /// Tells the membership actor (and so every peer's owner table) which shard
  /// groups this node serves now. The epoch is the change's wall-clock time in
  /// ms: a later assignment claims later (the consumer group's generation is
  /// not exposed by shard_ownership), so a survivor's claim outranks the dead
  /// owner's. Callers hold no lock.
  void announce_groups();

  void hello(const gateway::connection_ptr& c, std::uint64_t seq, const schemas::hello& h);
  void route(const gateway::connection_ptr& c, const session& s, schemas::client_message msg);
  void admin_hello(const gateway::connection_ptr& c, std::uint64_t seq, const identity& who);
  /// dispatch_paused when an admin paused new dispatch in the pickup's region.
  result<void> may_dispatch(lat_lng pickup) const;
  /// The region called `name`, or out_of_region.
  result<std::size_t> region_named(std::string_view name) const;
  region_switches switches_of(std::size_t region) const;
};

result<std::unique_ptr<dispatch_node>> dispatch_node::create(std::vector<region> regions,
                                                             dispatch_options opts,
                                                             token_verifier verify) {
  if (regions.empty()) return error{errc::bad_config, "dispatch_node needs at least one region"};
  if (!verify) return error{errc::bad_config, "dispatch_node needs a token verifier"};
  for (const auto& r : regions) {
    if (auto ok = validate(r.sequential); !ok) return ok.err();
    if (auto ok = validate(r.eta); !ok) return ok.err();
    if (auto ok = validate(r.surge); !ok) return ok.err();
    if (auto ok = validate(r.fare); !ok) return ok.err();
    spatial_index_config icfg;
    icfg.bounds = r.bounds;
    if (auto idx = spatial_index::create(icfg); !idx) return idx.err();
  }
  if (!opts.now_ms)
    opts.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  if (opts.node_id >= 1024) return error{errc::bad_config, "node id must be < 1024"};
  if (opts.cluster.enabled)
    if (auto ok = check_cluster_tls(opts.cluster); !ok) return ok.err();
  if (opts.cluster.enabled && opts.cluster.shard_groups > 0) {
    if (opts.cluster.shard_groups > max_shard_groups)
      return error{errc::bad_config,
                   "[cluster] shard_groups must be 1.." + std::to_string(max_shard_groups)};
    if (!opts.store)
      return error{errc::bad_config, "[cluster] shard_groups needs the node's store"};
    if (opts.cluster.kafka_bootstrap.empty())
      return error{errc::bad_config, "[cluster] shard_groups needs [kafka] bootstrap"};
  }
  auto p = std::make_unique<impl>(opts.worker_threads, opts.cluster);
  p->started_ms = opts.now_ms();
  p->ctx = std::make_shared<node_context>(opts.stats);
  p->ctx->regions = std::move(regions);
  p->ctx->opts = std::move(opts);
  p->ctx->switches = std::make_unique<region_switchboard>(p->ctx->regions.size());
  const bool owned_shards = p->ctx->opts.cluster.enabled && p->ctx->opts.cluster.shard_groups > 0;
  if (owned_shards)
    p->ctx->groups = std::make_unique<shard_group_board>(p->ctx->opts.cluster.shard_groups);
  p->router = std::make_unique<shard_router>(p->sys, p->ctx);
  if (owned_shards && p->ctx->opts.stats) {
    auto& fam = prometheus::BuildCounter()
                    .Name("rideshard_cluster_drain_phases_total")
                    .Help(
                        "Cluster: phases of this node's drains (SIGTERM): handing_off (left the "
                        "shard ownership group), handed_off (every former group owned "
                        "elsewhere), timed_out (not all within [cluster] drain_timeout_ms)")
                    .Register(p->ctx->opts.stats->registry());
    for (std::size_t i = 1; i < drain_phases.size(); ++i)
      p->drain_counters[i] = &fam.Add({{"phase", drain_phases[i]}});
  }
  p->registry = spawn_session_registry(p->sys, p->ctx.get());
  p->ctx->sessions = p->registry;
  if (p->ctx->opts.cluster.enabled) {  // before any driver actor reads ctx->locations
    p->locations = spawn_location_relay(p->sys, location_relay_options{p->ctx->opts.node_id},
                                        std::make_shared<location_relay_counters>());
    p->ctx->locations = caf::actor_cast<caf::actor>(p->locations);
  }
  p->fleet = std::make_unique<fleet_feed>(p->sys, p->ctx, *p->router);
  p->verify = std::move(verify);
  // Actors stop (in ~dispatch_node) before impl goes away.
  p->ctx->subject_of = [raw = p.get()](std::uint64_t conn) {
    std::lock_guard<std::mutex> lock{raw->mu};
    auto it = raw->sessions.find(conn);
    return it == raw->sessions.end() ? std::string("-") : it->second.who.subject;
  };
  if (auto* s = p->ctx->opts.store) {
    // Cluster mode: no trip is revived here; each comes back with its shard
    // group when the consumer group assigns it (serve_group).
    auto ok = owned_shards ? p->start_ownership(*s) : result<void>{};
    if (!owned_shards) {
      p->journal = spawn_journal(p->sys, *s, &p->ctx->stats);
      p->ctx->journal = p->journal;
      ok = p->recover(*s);
    }
    if (!ok) {
      p->router->stop_all();
      p->router->close();
      caf::anon_send_exit(p->registry, caf::exit_reason::user_shutdown);
      if (p->journal) caf::anon_send_exit(p->journal, caf::exit_reason::user_shutdown);
      if (p->locations) caf::anon_send_exit(p->locations, caf::exit_reason::user_shutdown);
      p->sys.await_all_actors_done();
      return ok.err();
    }
  }
  auto node = std::unique_ptr<dispatch_node>(new dispatch_node(std::move(p)));
  const auto& o = node->impl_->ctx->opts;
  if (o.cluster.enabled) {  // after recovery: peers see this node once it serves
    auto& p = *node->impl_;
    auto m = start_membership(
        p.sys, o.cluster, o.node_id, o.now_ms, &p.members,
        membership_links{p.registry, p.ctx->directory, caf::actor_cast<caf::actor>(p.locations)});
    if (!m) return m.err();  // ~dispatch_node stops the actors
    {
      std::lock_guard<std::mutex> lock{p.mu};  // shard group listeners read it
      p.membership = std::move(m->first);
    }
    p.cluster_address = std::move(m->second);
    // The groups served before membership started (shard ownership only: a node
    // that serves every shard claims none, and must not outdate others' claims).
    if (p.host) p.announce_groups();
  }
  return node;
}

// The active trips of the store, each at its newest journal entry.
result<std::vector<rideshard::trip>> dispatch_node::impl::active_trips(
    persistence::store& s, const std::function<bool(trip_id)>& want) {
  auto snaps = s.load_entities(persistence::entity_kind::trip);
  if (!snaps) return snaps.err();
  std::vector<rideshard::trip> out;
  for (const auto& snap : *snaps) {
    if (!want(trip_id{snap.id})) continue;
    auto t = schemas::decode_trip_record(snap.value.data(), snap.value.size());
    if (!t) {
      ++recovered.unreadable;
      logger().error("event=recovery_skip trip={} code={} msg=\"{}\"", snap.id, to_string(t.code()),
                     t.err().message);
      continue;
    }
    ++recovered.trips_read;
    // Replay journal entries newer than the snapshot (none when both are
    // written in the same batch, but snapshots may be written less often).
    auto tail = s.journal_after(t->id, snap.sequence);
    if (!tail) return tail.err();
    for (const auto& j : *tail)
      if (auto later = schemas::decode_trip_record(j.value.data(), j.value.size())) t = later;
    if (is_terminal(t->state)) continue;
    if (!router->shard_of(t->pickup)) {
      ++recovered.unreadable;
      logger().error("event=recovery_skip trip={} msg=\"pickup outside every region\"",
                     to_string(t->id));
      continue;
    }
    out.push_back(std::move(*t));
  }
  return out;
}

// Waits until every revived trip has re-attached its driver and rider (and made
// its recovery step durable): a snapshot request is answered only after the
// actor's start-up and any awaited commit. Then no hello can overtake them.
static void await_revived(caf::actor_system& sys, const std::vector<trip_handle>& revived) {
  caf::scoped_actor self{sys};
  for (const auto& a : revived)
    self->request(a, std::chrono::seconds(30), snapshot_atom::value)
        .receive([](snapshot_answer&) {},
                 [&](caf::error& e) {
                   logger().error("event=recovery_slow msg=\"{}\"", caf::to_string(e));
                 });
}

// Respawns every trip that was active when the node stopped. Drivers and riders
// come back with it (the trip re-attaches them); finished trips stay on disk.
result<void> dispatch_node::impl::recover(persistence::store& s) {
  auto trips = active_trips(s, [](trip_id) { return true; });
  if (!trips) return trips.err();
  std::vector<trip_handle> revived;
  for (const auto& t : *trips) {
    if (auto a = router->revive_trip(t)) revived.push_back(std::move(a));
    ++recovered.trips_revived;
  }
  await_revived(sys, revived);
  logger().info("event=recovered trips_read={} trips_revived={} unreadable={}",
                recovered.trips_read, recovered.trips_revived, recovered.unreadable);
  return {};
}

result<void> dispatch_node::impl::start_ownership(persistence::store& s) {
  const auto& c = ctx->opts.cluster;
  const int groups = c.shard_groups;
  persistence::ownership_options own;
  own.bootstrap = c.kafka_bootstrap;
  own.shard_groups = groups;
  own.member = "rideshard-node-" + std::to_string(ctx->opts.node_id);
  own.session_timeout = c.ownership_session_timeout;
  own.heartbeat_interval =
      std::min(std::chrono::milliseconds(1000), c.ownership_session_timeout / 3);
  persistence::changelog_options log;
  log.bootstrap = c.kafka_bootstrap;
  log.trip_in_group = [groups](int g, std::uint64_t trip) {
    return shard_group_of(trip, groups) == g;
  };
  persistence::shard_group_listener listener{
      [this](int g, const persistence::restore_stats& r) { serve_group(g, r); },
      [this](int g, bool lost) { stop_group(g, lost); }};
  auto h =
      persistence::shard_group_host::start(s, own, log, std::move(listener), c.restore_timeout);
  if (!h) {
    host_started.set_value();
    return h.err();
  }
  host = std::move(*h);
  journal = spawn_journal(sys, s, &ctx->stats, default_max_pending_events, host.get(), groups);
  ctx->journal = journal;
  host_started.set_value();
  logger().info("event=shard_ownership_started shard_groups={} bootstrap={}", groups,
                c.kafka_bootstrap);
  return {};
}

// On the ownership thread, inside the rebalance: the group's trips are in the
// store (restored from its changelog); the directory serves the group and
// revives them before this returns.
void dispatch_node::impl::serve_group(int g, const persistence::restore_stats& restored) {
  host_ready.wait();
  const int groups = ctx->groups->groups();
  auto trips = active_trips(*ctx->opts.store,
                            [&](trip_id t) { return shard_group_of(t.value, groups) == g; });
  if (!trips) {
    logger().error("event=shard_group_load_failed group={} code={} msg=\"{}\"", g,
                   to_string(trips.code()), trips.err().message);
    trips = std::vector<rideshard::trip>{};
  }
  const auto count = trips->size();
  std::vector<trip_handle> revived;
  caf::scoped_actor self{sys};
  self->request(directory_of(*ctx), caf::infinite, group_serve{g, std::move(*trips)})
      .receive([&](std::vector<trip_handle>& v) { revived = std::move(v); }, [](caf::error&) {});
  await_revived(sys, revived);
  {
    std::lock_guard<std::mutex> lock{mu};
    ready_groups.insert(g);
  }
  announce_groups();
  logger().info(
      "event=shard_group_served group={} trips_revived={} active_trips={} restored_records={} "
      "resumed={}",
      g, revived.size(), count, restored.records, restored.resumed);
}

void dispatch_node::impl::announce_groups() {
  std::vector<std::uint32_t> groups;
  membership_handle to;
  {
    std::lock_guard<std::mutex> lock{mu};
    for (int g : ready_groups) groups.push_back(static_cast<std::uint32_t>(g));
    to = membership;
  }
  if (to)
    caf::anon_send(to, groups_served{static_cast<std::uint64_t>(ctx->now()), std::move(groups)});
}

// On the ownership thread (revocation) or a writing thread (a fenced write):
// the directory stops the group's actors; the host refuses their writes.
void dispatch_node::impl::stop_group(int g, bool lost) {
  {
    std::lock_guard<std::mutex> lock{mu};
    ready_groups.erase(g);
  }
  announce_groups();
  std::uint64_t stopped = 0;
  caf::scoped_actor self{sys};
  self->request(directory_of(*ctx), caf::infinite, group_stop{g, lost})
      .receive([&](std::uint64_t n) { stopped = n; }, [](caf::error&) {});
  logger().warn("event=shard_group_stopped group={} lost={} actors_stopped={}", g, lost, stopped);
}

// ---- drain (cluster with shard ownership) -------------------------------------

void dispatch_node::impl::enter_drain_phase(int phase, std::size_t groups) {
  drain = phase;
  if (auto* c = drain_counters[phase]) c->Increment();
  logger().warn("event=drain_phase phase={} shard_groups={}", drain_phases[phase], groups);
}

drain_report dispatch_node::drain_groups(std::chrono::milliseconds timeout) {
  auto& p = *impl_;
  drain_report r;
  if (!p.host) {
    r.handed_off = true;
    return r;
  }
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock{p.mu};
    r.groups.assign(p.ready_groups.begin(), p.ready_groups.end());
  }
  p.enter_drain_phase(1, r.groups.size());
  // Leaving the consumer group revokes every group here (listener stop: the
  // board stops serving it, its trips stop behind their mailboxes, the host
  // waits for its write in flight and sets its changelog mark). The other
  // members are assigned the groups in the rebalance this starts.
  p.host->stop();
  bool peers_up = true;
  const auto owned_elsewhere = [&] {
    std::set<std::uint32_t> owned;
    peers_up = false;
    for (const auto& m : cluster().members)
      if (!m.self && m.up) {
        peers_up = true;
        owned.insert(m.shard_groups.begin(), m.shard_groups.end());
      }
    return std::all_of(r.groups.begin(), r.groups.end(),
                       [&](int g) { return owned.count(static_cast<std::uint32_t>(g)) > 0; });
  };
  const auto deadline = t0 + timeout;
  // The owner table changes with the peers' heartbeats: polled, bounded. With
  // no other node up (the last one stopping) nobody can take the groups: no wait.
  while (!(r.handed_off = owned_elsewhere()) && peers_up &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!r.handed_off && !peers_up)
    logger().warn("event=drain_no_peer_up shard_groups={}", r.groups.size());
  r.took_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  p.enter_drain_phase(r.handed_off ? 2 : 3, r.groups.size());
  logger().warn("event=drain_groups handed_off={} shard_groups={} took_ms={}", r.handed_off,
                r.groups.size(), r.took_ms);
  return r;
}

std::string dispatch_node::drain_phase() const { return drain_phases[impl_->drain.load()]; }

result<void> dispatch_node::start_drain(std::chrono::milliseconds timeout) {
  auto& p = *impl_;
  if (!p.host) return error{errc::unavailable, "this node owns no shard groups to drain"};
  std::lock_guard<std::mutex> lock{p.drain_mu};
  if (p.drain_started || p.drain.load() != 0)
    return error{errc::illegal_transition, std::string("this node is draining already (phase ") +
                                               drain_phases[p.drain.load()] + ")"};
  p.drain_started = true;
  p.drain = 1;  // drain_phase() says handing_off from the answer on
  p.drain_thread = std::thread([this, timeout] { drain_groups(timeout); });
  return {};
}

result<void> dispatch_node::rejoin() {
  auto& p = *impl_;
  if (!p.host) return error{errc::unavailable, "this node has no shard ownership to rejoin"};
  std::lock_guard<std::mutex> lock{p.drain_mu};
  const int phase = p.drain.load();
  if (phase == 0) return error{errc::illegal_transition, "this node is not drained"};
  if (phase == 1)
    return error{errc::illegal_transition, "this node is still handing its shard groups off"};
  if (p.drain_thread.joinable()) p.drain_thread.join();
  if (auto ok = p.host->rejoin(); !ok) return ok.err();
  p.drain_started = false;
  p.enter_drain_phase(4, 0);
  p.drain = 0;
  return {};
}

dispatch_node::dispatch_node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

dispatch_node::~dispatch_node() {
  {
    std::lock_guard<std::mutex> lock{impl_->drain_mu};
    if (impl_->drain_thread.joinable()) impl_->drain_thread.join();
  }
  // Cluster mode: leave the ownership group first (its groups stop here and
  // go to the other nodes, with changelog marks), while the directory runs.
  if (impl_->host) impl_->host->stop();
  impl_->router->stop_all();
  // Entity actors first (a trip waiting for a commit is killed, not answered),
  // then the journal. Report actors that are slow to stop instead of hanging silently.
  for (int i = 0; i < 500 && impl_->router->running_actors() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (impl_->router->running_actors() > 0)
    logger().error("event=shutdown_slow still_running=\"{}\"", impl_->router->running_summary());
  impl_->router->close();
  caf::anon_send_exit(impl_->registry, caf::exit_reason::user_shutdown);
  if (impl_->membership) caf::anon_send_exit(impl_->membership, caf::exit_reason::user_shutdown);
  {
    std::lock_guard<std::mutex> lock{impl_->mu};
    impl_->membership = nullptr;
  }
  if (impl_->locations) caf::anon_send_exit(impl_->locations, caf::exit_reason::user_shutdown);
  impl_->locations = nullptr;
  if (impl_->journal) {
    // Analytics batches waiting for their delayed flush are written first (FIFO).
    caf::anon_send(impl_->journal, flush_atom::value);
    caf::anon_send_exit(impl_->journal, caf::exit_reason::user_shutdown);
  }
  impl_->sys.await_all_actors_done();
  // The journal is detached: its private thread lives until the actor object is
  // destroyed, and ~actor_system joins that thread. Drop our handles to it now,
  // or a context kept alive elsewhere would keep the thread (and shutdown) waiting.
  impl_->ctx->journal = nullptr;
  impl_->journal = nullptr;
  impl_->ctx->sessions = nullptr;
  impl_->registry = nullptr;
  impl_->ctx->directory = nullptr;
  impl_->host.reset();
}

void dispatch_node::on_open(const gateway::connection_ptr& c) {
  // The registry learns the connection now; actors hear of it only after hello.
  caf::anon_send(impl_->registry, session_opened{c});
}

void dispatch_node::on_close(const gateway::connection_ptr& c) {
  caf::anon_send(impl_->registry, session_closed{c->id()});
  session s;
  {
    std::lock_guard<std::mutex> lock{impl_->mu};
    auto it = impl_->sessions.find(c->id());
    if (it == impl_->sessions.end()) return;
    s = it->second;
    impl_->sessions.erase(it);
  }
  if (s.who.role == schemas::role::admin) return impl_->fleet->on_close(c->id());
  if (s.who.role == schemas::role::driver)
    impl_->router->to_driver(driver_id{s.entity}, detach_atom::value, c->id());
  else
    impl_->router->to_rider(rider_id{s.entity}, detach_atom::value, c->id());
}

void dispatch_node::impl::hello(const gateway::connection_ptr& c, std::uint64_t seq,
                                const schemas::hello& h) {
  auto who = verify(h.token);
  if (!who) {
    auto code = who.code() == errc::token_expired ? errc::token_expired : errc::unauthenticated;
    return ctx->write_error(c, seq, code, who.err().message);
  }
  if (who->role == schemas::role::admin) return admin_hello(c, seq, *who);
  const bool driver = who->role == schemas::role::driver;
  if ((driver && c->endpoint() != gateway::endpoint::driver) ||
      (!driver && c->endpoint() != gateway::endpoint::rider))
    return ctx->write_error(c, seq, errc::forbidden, "token role does not match this endpoint");
  auto id = parse_subject(who->subject, driver ? 'd' : 'r');
  if (id == 0) return ctx->write_error(c, seq, errc::unauthenticated, "malformed subject in token");
  bool fresh = false;
  {
    std::lock_guard<std::mutex> lock{mu};
    fresh = sessions.emplace(c->id(), session{*who, id}).second;
  }
  // Outside the lock: write_error looks the subject up under it.
  if (!fresh) return ctx->write_error(c, seq, errc::invalid_argument, "already authenticated");
  attach_request a{ctx->session_of(c), seq, h.resume, *who};
  if (driver)
    router->to_driver(driver_id{id}, attach_atom::value, std::move(a));
  else
    router->to_rider(rider_id{id}, attach_atom::value, std::move(a));
}

// Admins have no entity actor: welcome here, their frames go to fleet_feed.
void dispatch_node::impl::admin_hello(const gateway::connection_ptr& c, std::uint64_t seq,
                                      const identity& who) {
  if (c->endpoint() != gateway::endpoint::admin)
    return ctx->write_error(c, seq, errc::forbidden, "token role does not match this endpoint");
  bool fresh = false;
  {
    std::lock_guard<std::mutex> lock{mu};
    fresh = sessions.emplace(c->id(), session{who, 0}).second;
  }
  if (!fresh) return ctx->write_error(c, seq, errc::invalid_argument, "already authenticated");
  ctx->write(c, schemas::welcome{who.subject, schemas::role::admin, false, std::nullopt}, seq);
}

void dispatch_node::impl::route(const gateway::connection_ptr& c, const session& s,
                                schemas::client_message msg) {
  if (s.who.role == schemas::role::admin) return fleet->on_message(c, std::move(msg));
  const bool driver = s.who.role == schemas::role::driver;
  auto need = role_of(msg.body);
  if ((need == kind_role::driver && !driver) || (need == kind_role::rider && driver) ||
      need == kind_role::admin)
    return ctx->write_error(c, msg.seq, errc::forbidden,
                            std::string(schemas::kind_name(msg.body)) + " is not allowed for a " +
                                (driver ? "driver" : "rider"));
  if (auto* r = std::get_if<schemas::ride_request>(&msg.body))
    if (auto ok = may_dispatch(r->pickup); !ok)
      return ctx->write_error(c, msg.seq, ok.code(), ok.err().message);
  client_envelope env{ctx->session_of(c), std::move(msg), wall_clock_us()};
  if (driver)
    router->to_driver(driver_id{s.entity}, client_atom::value, std::move(env));
  else
    router->to_rider(rider_id{s.entity}, client_atom::value, std::move(env));
}

void dispatch_node::on_message(const gateway::connection_ptr& c, schemas::client_message msg) {
  auto& p = *impl_;
  if (auto* h = std::get_if<schemas::hello>(&msg.body)) return p.hello(c, msg.seq, *h);
  std::optional<session> s;
  {
    std::lock_guard<std::mutex> lock{p.mu};
    auto it = p.sessions.find(c->id());
    if (it != p.sessions.end()) s = it->second;
  }
  if (!s)
    return p.ctx->write_error(c, msg.seq, errc::unauthenticated,
                              "send hello with a valid token first");
  if (auto* pg = std::get_if<schemas::ping>(&msg.body))
    return p.ctx->write(c, schemas::pong{pg->nonce}, msg.seq);
  p.route(c, *s, std::move(msg));
}

result<std::vector<neighbor>> dispatch_node::nearby(double lat, double lng, double radius_m,
                                                    std::size_t k) {
  auto pos = make_lat_lng(lat, lng);
  if (!pos) return pos.err();
  auto key = impl_->router->shard_of(*pos);
  if (!key) return error{errc::out_of_region, "position outside every region"};
  // Cluster mode: the matcher may be the owner node's (the directory forwards).
  auto m = impl_->router->matcher(*key);
  if (!m) {
    const int g = shard_group_of(*key, impl_->ctx->groups->groups());
    impl_->ctx->stats.error(errc::unavailable);
    return error{errc::unavailable, impl_->ctx->groups->clustered()
                                        ? unowned_message(g, "the position")
                                        : std::string("shutting down")};
  }
  result<std::vector<neighbor>> out = error{errc::unavailable, "matcher did not answer"};
  caf::scoped_actor self{impl_->sys};
  self->request(m, impl_->ctx->opts.query_timeout, nearby_query{*pos, radius_m, k})
      .receive(
          [&](nearby_answer& a) {
            if (a.code == errc::ok)
              out = std::move(a.hits);
            else
              out = error{a.code, "invalid nearby query"};
          },
          [&](caf::error&) {});
  return out;
}

// The rider's view of a stored trip (no live position or ETAs).
static schemas::trip_status stored_status(const rideshard::trip& t) {
  auto st = status_of(t);
  st.updated_at_ms = std::max({t.requested_at_ms, t.accepted_at_ms, t.ended_at_ms});
  return st;
}

// A finished trip as stored (its actor has stopped).
static result<schemas::trip_status> stored_trip(persistence::store* s, trip_id id) {
  if (s == nullptr) return error{errc::unknown_trip, to_string(id) + " does not exist"};
  auto snap = s->load_entity(persistence::entity_kind::trip, id.value);
  if (!snap) return snap.err();
  if (!*snap) return error{errc::unknown_trip, to_string(id) + " does not exist"};
  auto t = schemas::decode_trip_record((*snap)->value.data(), (*snap)->value.size());
  if (!t) return error{errc::storage_error, t.err().message};
  return stored_status(*t);
}

recovery_report dispatch_node::recovery() const { return impl_->recovered; }

// Cluster mode: a finished trip of a shard group served elsewhere is not
// answered from this node's store (a stale cache of it): unavailable, naming
// the group. (A live one is reached through the directory, on any node.)
static result<void> served_here(node_context& ctx, trip_id id) {
  const auto& g = *ctx.groups;
  if (g.serves_trip(id.value)) return {};
  ctx.stats.error(errc::unavailable);
  return error{errc::unavailable,
               to_string(id) + " is not live here and belongs to shard group " +
                   std::to_string(shard_group_of(id.value, g.groups())) +
                   ", which another node serves (or none right now): ask that node"};
}

result<schemas::trip_status> dispatch_node::trip_snapshot(trip_id id) {
  auto t = impl_->router->trip(id);
  if (!t) {
    if (auto ok = served_here(*impl_->ctx, id); !ok) return ok.err();
    return stored_trip(impl_->ctx->opts.store, id);
  }
  result<schemas::trip_status> out = error{errc::unavailable, "trip did not answer"};
  caf::scoped_actor self{impl_->sys};
  self->request(t, impl_->ctx->opts.query_timeout, snapshot_atom::value)
      .receive([&](snapshot_answer& a) { out = std::move(a.status); }, [&](caf::error&) {});
  return out;
}

std::size_t dispatch_node::live_entities() const { return impl_->router->live_entities(); }

fleet_snapshot dispatch_node::fleet() const { return impl_->ctx->fleet->snapshot(); }

cluster_view dispatch_node::cluster() const {
  const auto& o = impl_->ctx->opts;
  const std::int64_t now = o.now_ms();
  cluster_view v{o.cluster.enabled, impl_->members.read(now), impl_->ctx->groups->groups(), {}};
  {
    std::lock_guard<std::mutex> lock{impl_->mu};
    v.served_groups.assign(impl_->ready_groups.begin(), impl_->ready_groups.end());
  }
  if (v.members.empty())  // single node, or before the membership actor's first publish
    v.members.push_back(member_status{o.node_id,
                                      impl_->cluster_address,
                                      o.cluster.version,
                                      now - impl_->started_ms,
                                      0,
                                      true,
                                      true,
                                      {},
                                      {},
                                      0});
  return v;
}

void dispatch_node::serve_groups(std::uint64_t epoch, std::vector<std::uint32_t> groups) {
  if (impl_->membership) caf::anon_send(impl_->membership, groups_served{epoch, std::move(groups)});
}

const std::vector<region>& dispatch_node::regions() const { return impl_->ctx->regions; }

// ---- region switches (admin) ---------------------------------------------------

result<void> dispatch_node::impl::may_dispatch(lat_lng pickup) const {
  auto key = router->shard_of(pickup);
  if (!key || !ctx->switches->dispatch_paused(key->region)) return {};
  return error{errc::dispatch_paused,
               "new dispatch is paused in region " + ctx->regions[key->region].name};
}

result<std::size_t> dispatch_node::impl::region_named(std::string_view name) const {
  for (std::size_t i = 0; i < ctx->regions.size(); ++i)
    if (ctx->regions[i].name == name) return i;
  return error{errc::out_of_region, "no region named '" + std::string(name) + "'"};
}

region_switches dispatch_node::impl::switches_of(std::size_t region) const {
  return {ctx->regions[region].name, ctx->switches->dispatch_paused(region),
          ctx->switches->surge_frozen(region)};
}

std::vector<region_switches> dispatch_node::switches() const {
  std::vector<region_switches> out;
  for (std::size_t i = 0; i < impl_->ctx->regions.size(); ++i) out.push_back(impl_->switches_of(i));
  return out;
}

result<region_switches> dispatch_node::pause_dispatch(std::string_view region, bool paused) {
  auto& p = *impl_;
  auto r = p.region_named(region);
  if (!r) return r.err();
  p.ctx->switches->set_dispatch_paused(*r, paused);
  logger().warn("event=region_switch region={} dispatch_paused={}", p.ctx->regions[*r].name,
                paused);
  return p.switches_of(*r);
}

result<region_switches> dispatch_node::freeze_surge(std::string_view region, bool frozen) {
  auto& p = *impl_;
  auto r = p.region_named(region);
  if (!r) return r.err();
  // The flag first: a matcher spawned from now on starts frozen; every matcher
  // that exists already is told (a second freeze keeps its first values).
  p.ctx->switches->set_surge_frozen(*r, frozen);
  for (const auto& key : p.router->shard_keys())
    if (key.region == *r)
      if (auto m = p.router->matcher(key)) caf::anon_send(m, surge_freeze{frozen});
  logger().warn("event=region_switch region={} surge_frozen={}", p.ctx->regions[*r].name, frozen);
  return p.switches_of(*r);
}

std::vector<shard_summary> dispatch_node::shards(const fleet_snapshot& f) const {
  const auto& router = *impl_->router;
  const auto& regions = impl_->ctx->regions;
  std::vector<shard_summary> out;
  std::map<shard_key, std::size_t> index;
  for (const auto& k : router.shard_keys()) {
    index.emplace(k, out.size());
    shard_summary s;
    s.region = regions.at(k.region).name;
    s.cell = k.cell;
    s.center = cell_center(k.cell);
    out.push_back(std::move(s));
  }
  auto at = [&](lat_lng p) -> shard_summary* {
    auto k = router.shard_of(p);
    auto it = k ? index.find(*k) : index.end();
    return it == index.end() ? nullptr : &out[it->second];
  };
  for (const auto& d : f.drivers)
    if (auto* s = at(d.pos)) {
      ++s->drivers;
      if (d.look == driver_look::available) ++s->available;
    }
  for (const auto& t : f.trips)
    if (auto* s = at(t.pickup)) ++s->active_trips;
  for (const auto& c : f.surge)
    if (auto* s = at(cell_center(c.cell)))
      s->surge_permille = std::max(s->surge_permille, c.surge_permille);
  return out;
}

result<std::vector<rideshard::trip>> dispatch_node::trip_journal(trip_id id) const {
  const auto* s = impl_->ctx->opts.store;
  if (!s) return error{errc::unavailable, "this node keeps no store (in-memory): no journal"};
  auto snap = s->load_entity(persistence::entity_kind::trip, id.value);
  if (!snap) return snap.err();
  if (!*snap) return error{errc::unknown_trip, "no trip " + to_string(id)};
  auto first = schemas::decode_trip_record((*snap)->value.data(), (*snap)->value.size());
  if (!first) return first.err();
  auto tail = s->journal_after(id, 0);
  if (!tail) return tail.err();
  std::vector<rideshard::trip> out;
  // The journal starts at sequence 1; `requested` (sequence 0) is the record as
  // first written, which the snapshot's own fields still tell.
  rideshard::trip requested = *first;
  requested.state = trip_state::requested;
  requested.sequence = 0;
  out.push_back(requested);
  for (const auto& j : *tail)
    if (auto t = schemas::decode_trip_record(j.value.data(), j.value.size())) out.push_back(*t);
  return out;
}

}  // namespace rideshard::node

// ---- synchronous trip requests (HTTP API) -----------------------------------

namespace rideshard::node {
namespace {

// Waits on `self` for the one trip_answer (or, when `watched`, its down_msg).
result<schemas::trip_status> await_answer(caf::scoped_actor& self,
                                          std::chrono::milliseconds timeout, bool* down = nullptr) {
  result<schemas::trip_status> out =
      error{errc::unavailable, "the trip did not answer within the query timeout"};
  self->receive(
      [&](answer_atom, trip_answer& a) {
        if (a.code == errc::ok)
          out = std::move(a.status);
        else
          out = error{a.code, std::move(a.message)};
      },
      [&](caf::down_msg&) {
        if (down) *down = true;
      },
      caf::after(timeout) >> [] {});
  return out;
}

}  // namespace

result<schemas::trip_status> dispatch_node::request_ride(rider_id rider,
                                                         const schemas::ride_request& r) {
  auto& p = *impl_;
  if (auto ok = p.may_dispatch(r.pickup); !ok) return ok.err();
  caf::scoped_actor self{p.sys};
  http_ride msg{r, caf::actor_cast<caf::actor>(self), wall_clock_us()};
  p.router->to_rider(rider, http_ride_atom::value, std::move(msg));
  return await_answer(self, p.ctx->opts.query_timeout);
}

// A cancel by party::system straight to the trip actor (admins, the ride charger).
result<schemas::trip_status> dispatch_node::cancel_as_system(trip_id id, std::string reason) {
  auto& p = *impl_;
  caf::scoped_actor self{p.sys};
  auto t = p.router->trip(id);
  auto finished = [&]() -> result<schemas::trip_status> {
    if (auto ok = served_here(*p.ctx, id); !ok) return ok.err();
    auto st = stored_trip(p.ctx->opts.store, id);
    if (!st) return st.err();
    return error{errc::illegal_transition,
                 to_string(id) + " is already " + std::string(to_string(st->state))};
  };
  if (!t) return finished();
  trip_command tc;
  tc.kind = trip_event_kind::cancel;
  tc.by = party::system;
  tc.reason = std::move(reason);
  tc.answer_to = caf::actor_cast<caf::actor>(self);
  self->monitor(t);  // a trip actor that stopped meanwhile answers with down_msg
  self->send(t, std::move(tc));
  bool down = false;
  auto out = await_answer(self, p.ctx->opts.query_timeout, &down);
  self->demonitor(t.address());
  if (down) return finished();
  return out;
}

result<schemas::trip_status> dispatch_node::change_trip(const identity& who, const trip_change& c) {
  auto& p = *impl_;
  caf::scoped_actor self{p.sys};
  const auto timeout = p.ctx->opts.query_timeout;
  http_trip_command cmd{c.trip, c.kind, c.pin, c.reason, caf::actor_cast<caf::actor>(self)};
  switch (who.role) {
    case schemas::role::driver: {
      auto id = parse_subject(who.subject, 'd');
      if (id == 0) return error{errc::unauthenticated, "malformed driver subject"};
      p.router->to_driver(driver_id{id}, http_cmd_atom::value, std::move(cmd));
      return await_answer(self, timeout);
    }
    case schemas::role::rider: {
      auto id = parse_subject(who.subject, 'r');
      if (id == 0) return error{errc::unauthenticated, "malformed rider subject"};
      p.router->to_rider(rider_id{id}, http_cmd_atom::value, std::move(cmd));
      return await_answer(self, timeout);
    }
    case schemas::role::admin:
      break;
  }
  // Admins have no entity actor: straight to the trip actor, as the system.
  if (c.kind != trip_event_kind::cancel)
    return error{errc::forbidden, "an admin may only cancel a trip"};
  return cancel_as_system(c.trip,
                          "admin " + who.subject + (c.reason.empty() ? "" : ": " + c.reason));
}

result<schemas::trip_status> dispatch_node::end_trip(trip_id id, const std::string& reason) {
  auto now = trip_snapshot(id);
  if (!now) return now.err();
  if (is_terminal(now->state) || now->state == trip_state::in_progress)
    return error{errc::illegal_transition,
                 to_string(id) + " is already " + std::string(to_string(now->state))};
  return cancel_as_system(id, reason);
}

namespace {

// Every stored trip of q's rider or driver as of its last journal entry (as
// recovery reads it), with the journal entries' own records alongside.
// O(all trips): the store has no per-rider/per-driver index yet.
struct stored_of_party {
  rideshard::trip now;
  std::vector<persistence::journal_entry> journal;
};
result<std::vector<stored_of_party>> stored_trips_of(const persistence::store& s,
                                                     const history_query& q) {
  if (q.rider.valid() == q.driver.valid())
    return error{errc::invalid_argument, "history needs exactly one rider or driver"};
  auto snaps = s.load_entities(persistence::entity_kind::trip);
  if (!snaps) return snaps.err();
  std::vector<stored_of_party> out;
  for (const auto& snap : *snaps) {
    auto t = schemas::decode_trip_record(snap.value.data(), snap.value.size());
    if (!t) continue;  // unreadable snapshots are logged by recovery, skipped here
    if (q.rider.valid() ? t->rider != q.rider : t->driver != q.driver) continue;
    auto tail = s.journal_after(t->id, 0);
    if (!tail) return tail.err();
    for (const auto& j : *tail)
      if (j.sequence > snap.sequence)
        if (auto later = schemas::decode_trip_record(j.value.data(), j.value.size())) t = later;
    out.push_back({std::move(*t), std::move(*tail)});
  }
  return out;
}

lat_lng coarsened(lat_lng p) {
  auto snap = [](double deg) {
    return std::round(deg / erased_location_step_deg) * erased_location_step_deg;
  };
  return lat_lng{snap(p.lat), snap(p.lng)};
}

void coarsen_places(rideshard::trip& t) {
  t.pickup = coarsened(t.pickup);
  t.dropoff = coarsened(t.dropoff);
}

}  // namespace

result<std::vector<schemas::trip_status>> dispatch_node::trip_history(const history_query& q) {
  auto* s = impl_->ctx->opts.store;
  if (s == nullptr) return error{errc::unavailable, "this node keeps no trip store (in-memory)"};
  if (q.limit == 0 || q.limit > history_max_limit)
    return error{errc::invalid_argument, "limit must be 1.." + std::to_string(history_max_limit)};
  auto found = stored_trips_of(*s, q);
  if (!found) return found.err();
  std::vector<rideshard::trip> hits;
  hits.reserve(found->size());
  for (auto& f : *found) hits.push_back(std::move(f.now));
  std::sort(hits.begin(), hits.end(), [](const rideshard::trip& a, const rideshard::trip& b) {
    return a.requested_at_ms != b.requested_at_ms ? a.requested_at_ms > b.requested_at_ms
                                                  : a.id.value > b.id.value;
  });
  if (hits.size() > q.limit) hits.resize(q.limit);
  std::vector<schemas::trip_status> out;
  out.reserve(hits.size());
  for (const auto& t : hits) out.push_back(stored_status(t));
  return out;
}

result<std::size_t> dispatch_node::coarsen_trip_locations(const history_query& q) {
  auto* s = impl_->ctx->opts.store;
  if (s == nullptr) return error{errc::unavailable, "this node keeps no trip store (in-memory)"};
  auto found = stored_trips_of(*s, q);
  if (!found) return found.err();
  for (const auto& f : *found)
    if (!is_terminal(f.now.state))
      return error{errc::illegal_transition,
                   to_string(f.now.id) + " has not ended (" + std::string(to_string(f.now.state)) +
                       "): erasure waits until the person's trips are over"};
  persistence::write_batch b;
  std::size_t rewritten = 0;
  for (auto& f : *found) {
    // The snapshot keeps the sequence it was written at (recovery replays the
    // journal after it), so it is rewritten from its own record, not f.now.
    auto snap = s->load_entity(persistence::entity_kind::trip, f.now.id.value);
    if (!snap) return snap.err();
    if (!*snap) continue;
    auto first = schemas::decode_trip_record((*snap)->value.data(), (*snap)->value.size());
    if (!first) return error{errc::storage_error, first.err().message};
    coarsen_places(*first);
    b.put_entity(persistence::entity_kind::trip, first->id.value, (*snap)->sequence,
                 schemas::encode_trip_record(*first));
    for (const auto& j : f.journal) {
      auto t = schemas::decode_trip_record(j.value.data(), j.value.size());
      if (!t) continue;
      coarsen_places(*t);
      b.append_journal(f.now.id, j.sequence, schemas::encode_trip_record(*t));
    }
    ++rewritten;
  }
  if (rewritten == 0) return rewritten;
  if (auto c = s->commit(b); !c) return c.err();
  return rewritten;
}

}  // namespace rideshard::node
