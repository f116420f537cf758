// dispatch_node: the facade the gateway calls. Authenticates hello through the
// injected verifier, checks roles per message kind, and enqueues to actors.
#include "node/dispatch_node.hpp"

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "node/log_sink.hpp"
#include "node/protocol.hpp"
#include "node/shard_router.hpp"

namespace rideshard::node {

// ---- node_context -----------------------------------------------------------

std::uint64_t node_context::next_id() {
  std::lock_guard<std::mutex> lock{id_mu_};
  if (!ids_) ids_ = std::make_unique<id_generator>(opts.node_id, opts.now_ms);
  return ids_->next();
}

void node_context::send(const gateway::connection_ptr& conn, schemas::server_body body,
                        std::uint64_t reply_seq) {
  if (!conn) return;
  schemas::server_message m;
  m.seq = ++frame_seq_;
  m.reply_to = reply_seq;
  m.server_time_ms = now();
  m.body = std::move(body);
  conn->send(std::move(m));
}

void node_context::send_error(const reply_to& to, errc code, std::string message) {
  stats.error(code);
  auto& log = logger();
  if (log.should_log(spdlog::level::warn)) {
    const std::uint64_t conn = to.conn ? to.conn->id() : 0;
    const std::string who = to.conn && subject_of ? subject_of(conn) : std::string("-");
    log.warn("event=refused code={} subject={} conn={} seq={} msg=\"{}\"", to_string(code), who,
             conn, to.seq, message);
  }
  send(to.conn, schemas::error_reply{code, std::move(message), to.seq}, to.seq);
}

std::chrono::milliseconds node_context::offer_timeout(const region& r) const {
  if (opts.offer_timeout.count() > 0) return opts.offer_timeout;
  return std::chrono::milliseconds(r.sequential.offer_timeout_ms);
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
  explicit node_config(std::size_t threads) {
    if (threads > 0) set("scheduler.max-threads", threads);
  }
};

enum class kind_role { any, driver, rider, both };

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
    default:
      return kind_role::driver;
  }
}

struct session {
  identity who;
  std::uint64_t entity = 0;
};

}  // namespace

struct dispatch_node::impl {
  explicit impl(std::size_t threads) : cfg(threads), sys(cfg) {}
  node_config cfg;
  caf::actor_system sys;
  context_ptr ctx;
  std::unique_ptr<shard_router> router;
  token_verifier verify;
  mutable std::mutex mu;
  std::unordered_map<std::uint64_t, session> sessions;  ///< by connection id

  void hello(const gateway::connection_ptr& c, std::uint64_t seq, const schemas::hello& h);
  void route(const gateway::connection_ptr& c, const session& s, schemas::client_message msg);
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
  auto p = std::make_unique<impl>(opts.worker_threads);
  p->ctx = std::make_shared<node_context>(opts.stats);
  p->ctx->regions = std::move(regions);
  p->ctx->opts = std::move(opts);
  p->router = std::make_unique<shard_router>(p->sys, p->ctx);
  p->ctx->router = p->router.get();
  p->verify = std::move(verify);
  // Actors stop (in ~dispatch_node) before impl goes away.
  p->ctx->subject_of = [raw = p.get()](std::uint64_t conn) {
    std::lock_guard<std::mutex> lock{raw->mu};
    auto it = raw->sessions.find(conn);
    return it == raw->sessions.end() ? std::string("-") : it->second.who.subject;
  };
  return std::unique_ptr<dispatch_node>(new dispatch_node(std::move(p)));
}

dispatch_node::dispatch_node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

dispatch_node::~dispatch_node() {
  impl_->router->stop_all();
  impl_->sys.await_all_actors_done();
}

void dispatch_node::on_open(const gateway::connection_ptr&) {
  // Nothing until hello: the connection is unauthenticated.
}

void dispatch_node::on_close(const gateway::connection_ptr& c) {
  session s;
  {
    std::lock_guard<std::mutex> lock{impl_->mu};
    auto it = impl_->sessions.find(c->id());
    if (it == impl_->sessions.end()) return;
    s = it->second;
    impl_->sessions.erase(it);
  }
  if (s.who.role == schemas::role::driver)
    impl_->router->to_driver(driver_id{s.entity}, detach_atom::value, c->id());
  else
    impl_->router->to_rider(rider_id{s.entity}, detach_atom::value, c->id());
}

void dispatch_node::impl::hello(const gateway::connection_ptr& c, std::uint64_t seq,
                                const schemas::hello& h) {
  reply_to rt{c, seq};
  auto who = verify(h.token);
  if (!who) {
    auto code = who.code() == errc::token_expired ? errc::token_expired : errc::unauthenticated;
    return ctx->send_error(rt, code, who.err().message);
  }
  const bool driver = who->role == schemas::role::driver;
  if ((driver && c->endpoint() != gateway::endpoint::driver) ||
      (!driver && c->endpoint() != gateway::endpoint::rider))
    return ctx->send_error(rt, errc::forbidden, "token role does not match this endpoint");
  auto id = parse_subject(who->subject, driver ? 'd' : 'r');
  if (id == 0) return ctx->send_error(rt, errc::unauthenticated, "malformed subject in token");
  bool fresh = false;
  {
    std::lock_guard<std::mutex> lock{mu};
    fresh = sessions.emplace(c->id(), session{*who, id}).second;
  }
  // Outside the lock: send_error looks the subject up under it.
  if (!fresh) return ctx->send_error(rt, errc::invalid_argument, "already authenticated");
  attach_request a{c, seq, h.resume, *who};
  if (driver)
    router->to_driver(driver_id{id}, attach_atom::value, std::move(a));
  else
    router->to_rider(rider_id{id}, attach_atom::value, std::move(a));
}

void dispatch_node::impl::route(const gateway::connection_ptr& c, const session& s,
                                schemas::client_message msg) {
  const bool driver = s.who.role == schemas::role::driver;
  auto need = role_of(msg.body);
  if ((need == kind_role::driver && !driver) || (need == kind_role::rider && driver))
    return ctx->send_error({c, msg.seq}, errc::forbidden,
                           std::string(schemas::kind_name(msg.body)) + " is not allowed for a " +
                               (driver ? "driver" : "rider"));
  client_envelope env{c, std::move(msg), std::chrono::steady_clock::now()};
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
    return p.ctx->send_error({c, msg.seq}, errc::unauthenticated,
                             "send hello with a valid token first");
  if (auto* pg = std::get_if<schemas::ping>(&msg.body))
    return p.ctx->send(c, schemas::pong{pg->nonce}, msg.seq);
  p.route(c, *s, std::move(msg));
}

result<std::vector<neighbor>> dispatch_node::nearby(double lat, double lng, double radius_m,
                                                    std::size_t k) {
  auto pos = make_lat_lng(lat, lng);
  if (!pos) return pos.err();
  auto m = impl_->router->matcher_at(*pos);
  if (!m) return error{errc::out_of_region, "position outside every region"};
  result<std::vector<neighbor>> out = error{errc::unavailable, "matcher did not answer"};
  caf::scoped_actor self{impl_->sys};
  self->request(m, impl_->ctx->opts.query_timeout, nearby_atom::value,
                nearby_query{*pos, radius_m, k})
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

result<schemas::trip_status> dispatch_node::trip_snapshot(trip_id id) {
  auto t = impl_->router->trip(id);
  if (!t) return error{errc::unknown_trip, to_string(id) + " does not exist"};
  result<schemas::trip_status> out = error{errc::unavailable, "trip did not answer"};
  caf::scoped_actor self{impl_->sys};
  self->request(t, impl_->ctx->opts.query_timeout, snapshot_atom::value)
      .receive([&](snapshot_answer& a) { out = std::move(a.status); }, [&](caf::error&) {});
  return out;
}

std::size_t dispatch_node::live_entities() const { return impl_->router->live_entities(); }

}  // namespace rideshard::node
