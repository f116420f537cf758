// http_api: the route table (path pattern x method -> handler), request
// dispatch with 404/405 answers, and GET /health.
#include "api/http_api.hpp"

#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include "api/detail/api_state.hpp"
#include "api/detail/worker_pool.hpp"

namespace rideshard::api {

using namespace detail;

namespace {

struct route {
  std::vector<std::string_view> pattern;  ///< path segments; "{id}" matches any one segment
  std::string_view method;
  handler_fn fn;
};

// Literal segments come before "{id}" at the same depth ("nearby", "history"):
// the first pattern that matches the path decides which methods exist.
const std::vector<route>& routes() {
  static const std::vector<route> table{
      {{"health"}, "GET", get_health},
      {{"api", "users"}, "POST", post_users},
      {{"api", "users", "{id}"}, "GET", get_user},
      {{"api", "users", "{id}"}, "PUT", put_user},
      {{"api", "users", "{id}"}, "DELETE", delete_user},
      {{"api", "users", "{id}", "export"}, "GET", get_user_export},
      {{"api", "login"}, "POST", post_login},
      {{"api", "drivers"}, "POST", post_drivers},
      {{"api", "drivers", "nearby"}, "GET", get_nearby},
      {{"api", "drivers", "{id}"}, "GET", get_driver},
      {{"api", "drivers", "{id}", "status"}, "PUT", put_driver_status},
      {{"api", "drivers", "{id}", "earnings"}, "GET", get_driver_earnings},
      {{"api", "trips"}, "POST", post_trips},
      {{"api", "trips", "history"}, "GET", get_trip_history},
      {{"api", "trips", "{id}"}, "GET", get_trip},
      {{"api", "trips", "{id}", "status"}, "PUT", put_trip_status},
      {{"api", "payments"}, "POST", post_payments},
      {{"api", "payments", "methods"}, "GET", get_payment_methods},
      {{"api", "payments", "methods"}, "POST", post_payment_methods},
      {{"api", "payments", "refund"}, "POST", post_payment_refund},
      {{"api", "payments", "{id}"}, "GET", get_payment},
      {{"api", "payments", "{id}", "capture"}, "POST", post_payment_capture},
      {{"api", "payments", "{id}", "cancel"}, "POST", post_payment_cancel},
      {{"api", "admin", "backup"}, "POST", post_admin_backup},
      {{"api", "admin", "session"}, "POST", post_admin_session},
      {{"api", "admin", "session"}, "GET", get_admin_session},
      {{"api", "admin", "session"}, "DELETE", delete_admin_session},
      {{"api", "admin", "users"}, "POST", post_admin_users},
      {{"api", "admin", "overview"}, "GET", get_admin_overview},
      {{"api", "admin", "fleet"}, "GET", get_admin_fleet},
      {{"api", "admin", "feed"}, "GET", get_admin_feed},
      {{"api", "admin", "trips", "{id}"}, "GET", get_admin_trip},
      {{"api", "admin", "drivers", "{id}"}, "GET", get_admin_driver},
      {{"api", "admin", "audit"}, "GET", get_admin_audit},
      {{"api", "admin", "fraud", "cases"}, "GET", get_fraud_cases},
      {{"api", "admin", "fraud", "cases", "{id}", "resolve"}, "POST", post_fraud_resolve},
      {{"api", "admin", "payments", "rides"}, "GET", get_ride_charges},
      {{"api", "admin", "regions", "{id}", "pause-dispatch"}, "POST", post_region_pause_dispatch},
      {{"api", "admin", "regions", "{id}", "resume-dispatch"}, "POST", post_region_resume_dispatch},
      {{"api", "admin", "regions", "{id}", "freeze-surge"}, "POST", post_region_freeze_surge},
      {{"api", "admin", "regions", "{id}", "unfreeze-surge"}, "POST", post_region_unfreeze_surge},
      {{"api", "admin", "cluster", "drain"}, "POST", post_cluster_drain},
      {{"api", "admin", "cluster", "rejoin"}, "POST", post_cluster_rejoin},
      {{"admin"}, "GET", get_console_index},
      {{"admin", "{id}"}, "GET", get_console_file},
  };
  return table;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool matches(const route& r, const std::vector<std::string_view>& segs, std::string_view& id) {
  if (r.pattern.size() != segs.size()) return false;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (r.pattern[i] == "{id}") {
      if (segs[i].empty()) return false;
      id = segs[i];
    } else if (r.pattern[i] != segs[i]) {
      return false;
    }
  }
  return true;
}

void dispatch(const api_state& st, const gateway::http_request& req, exchange& ex) {
  const auto segs = split_path(req.path);
  const route* first = nullptr;
  std::string allowed;
  std::string_view id;
  for (const auto& r : routes()) {
    if (first ? r.pattern != first->pattern : !matches(r, segs, id)) continue;
    first = first ? first : &r;
    if (r.method == req.method) {
      std::string route;
      for (auto seg : r.pattern) (route += '/') += seg;
      ex.audit_context(&st, req, std::move(route), std::string(id));
      return r.fn(st, req, id, ex);
    }
    allowed += allowed.empty() ? "" : ", ";
    allowed += r.method;
  }
  if (first) return ex.method_not_allowed(allowed);
  ex.not_found(req.path);
}

// The route template of a path ("/api/users/{id}"), or "" when no route matches:
// the metrics label, so a client cannot mint a series per path.
std::string route_template(std::string_view path) {
  const auto segs = split_path(path);
  std::string_view id;
  for (const auto& r : routes()) {
    if (!matches(r, segs, id)) continue;
    std::string out;
    for (auto seg : r.pattern) (out += '/') += seg;
    return out;
  }
  return {};
}

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

http_api::http_api(node::dispatch_node& node, const auth::token_authority& tokens,
                   auth::user_store& users, gateway::metrics& m, api_options opts)
    : state_(std::make_unique<api_state>(
          api_state{node, tokens, users, m, std::move(opts), 0, nullptr})) {
  state_->throttle = std::make_unique<login_throttle>(state_->opts.login);
  if (!state_->opts.now_ms) state_->opts.now_ms = system_now_ms;
  state_->started_ms = state_->opts.now_ms();
  if (state_->opts.worker_threads > 0)
    pool_ = std::make_unique<worker_pool>(state_->opts.worker_threads, state_->opts.max_queued);
}

http_api::~http_api() = default;

void http_api::handle(gateway::http_request req,
                      std::function<void(gateway::http_response)> respond) {
  respond = [inner = std::move(respond),
             route = route_template(req.path)](gateway::http_response r) {
    if (r.route.empty()) r.route = route;
    inner(std::move(r));
  };
  auto run = [st = state_.get()](const gateway::http_request& r,
                                 std::function<void(gateway::http_response)> answer) {
    exchange ex{st->stats, std::move(answer)};
    try {
      dispatch(*st, r, ex);
    } catch (const std::exception& e) {
      // Nothing here should throw; never let an exception reach a gateway or worker thread.
      ex.fail(error{errc::internal, std::string("internal error: ") + e.what()});
    }
    if (!ex.answered()) ex.fail(error{errc::internal, "request was not answered"});
  };
  // /health stays inline (shallow, and it must answer while the pool is busy).
  if (!pool_ || req.path == "/health") return run(req, std::move(respond));
  auto shared_req = std::make_shared<gateway::http_request>(std::move(req));
  auto shared_respond =
      std::make_shared<std::function<void(gateway::http_response)>>(std::move(respond));
  auto busy = [st = state_.get(), shared_respond] {
    exchange ex{st->stats, *shared_respond};
    ex.fail(error{errc::unavailable, "the API is overloaded or stopping; retry"});
  };
  worker_pool::task t{[run, shared_req, shared_respond] { run(*shared_req, *shared_respond); },
                      busy};
  if (!pool_->submit(std::move(t))) busy();
}

namespace detail {

json member_json(const node::member_status& m) {
  json row{{"node", m.node},
           {"address", m.address},
           {"status", m.up ? "up" : "down"},
           {"self", m.self},
           {"version", m.version},
           {"uptime_s", m.uptime_ms / 1000},
           {"heartbeat_age_ms", m.heartbeat_age_ms < 0 ? json(nullptr) : json(m.heartbeat_age_ms)}};
  if (!m.last_error.empty()) row["error"] = m.last_error;
  // The shard groups it owns in this node's owner table, and its assignment's epoch.
  row["shard_groups"] = m.shard_groups;
  row["groups_epoch"] = m.groups_epoch;
  return row;
}

json cluster_json(const node::cluster_view& v) {
  if (!v.enabled) return json{{"status", "not_configured"}};
  json members = json::array();
  std::size_t down = 0;
  for (const auto& m : v.members) {
    members.push_back(member_json(m));
    if (!m.up) ++down;
  }
  // A peer down does not stop this node serving its own shard groups.
  json out{{"status", down == 0 ? "ok" : "degraded"},
           {"up", v.members.size() - down},
           {"down", down},
           {"members", std::move(members)}};
  if (v.shard_groups > 0) {
    out["shard_group_count"] = v.shard_groups;
    out["served_groups"] = v.served_groups;
  }
  return out;
}

json health_body(const api_state& st) {
  const std::int64_t now = st.opts.now_ms();
  // Shallow: live_entities() reads the router without a round trip to any actor.
  json actors{{"status", "ok"}, {"live_entities", st.node.live_entities()}};
  json outbox{{"status", "not_configured"}};
  if (st.opts.outbox) {
    const auto o = st.opts.outbox();
    // An unreachable broker means events are queued, not lost: degraded, still serving.
    const bool failing = o.broker_configured && !o.broker_reachable;
    outbox = json{{"status", failing ? "failing" : "ok"},
                  {"depth", o.depth},
                  {"oldest_age_ms", o.oldest_age_ms},
                  {"broker", !o.broker_configured ? "not_configured"
                             : o.broker_reachable ? "reachable"
                                                  : "unreachable"}};
    if (!o.last_error.empty()) outbox["last_error"] = o.last_error;
    if (o.analytics_max_rows > 0) {
      // Dropping by age is the policy working; nearing the size bound means the
      // age window no longer fits and analytics are about to be lost early.
      const bool near = o.analytics_rows * 5 >= o.analytics_max_rows * 4;
      outbox["retention"] = json{{"analytics_rows", o.analytics_rows},
                                 {"max_rows", o.analytics_max_rows},
                                 {"max_age_ms", o.analytics_max_age_ms},
                                 {"oldest_age_ms", o.oldest_analytics_age_ms},
                                 {"dropped", o.dropped},
                                 {"near_bound", near}};
      if (near && !failing) outbox["status"] = "near_bound";
    }
  }
  const bool outbox_ok = outbox["status"] == "ok" || outbox["status"] == "not_configured";
  json cluster = cluster_json(st.node.cluster());
  const bool cluster_ok = cluster["status"] != "degraded";
  std::string status = outbox_ok && cluster_ok ? "healthy" : "degraded";
  // A draining node hands its shard groups off and is about to close its
  // sessions: load balancers should send new apps elsewhere.
  if (const auto phase = st.node.drain_phase(); !phase.empty()) {
    cluster["drain"] = phase;
    status = "draining";
  }
  json body{{"status", status},
            {"timestamp", iso8601_utc(now)},
            {"version", st.opts.version},
            {"checks", {{"actors", actors}, {"outbox", outbox}, {"cluster", cluster}}},
            {"uptime_seconds", now > st.started_ms ? (now - st.started_ms) / 1000 : 0}};
  return body;
}

void get_health(const api_state& st, const gateway::http_request&, std::string_view, exchange& ex) {
  const json body = health_body(st);
  ex.reply(body["status"] == "unhealthy" ? 503 : 200, body);
}

}  // namespace detail
}  // namespace rideshard::api
