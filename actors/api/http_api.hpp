// The platform's published HTTP API (/api/users, /api/login, /api/drivers,
// /api/trips, /health) over the dispatch node, the token authority and the
// account store. The gateway hands it every HTTP request it does not serve itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/handlers.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::node {
class dispatch_node;
}
namespace rideshard::auth {
class token_authority;
class user_store;
}  // namespace rideshard::auth
namespace rideshard::gateway {
class metrics;
}
namespace rideshard::payments {
class payment_service;
class fraud_desk;
class ride_charger;
}  // namespace rideshard::payments

namespace rideshard::api {

namespace detail {
struct api_state;
class worker_pool;
}  // namespace detail

/// The outbox as /health reports it (see persistence/outbox_relay.hpp).
struct outbox_health {
  std::uint64_t depth = 0;         ///< events not yet delivered to Kafka
  std::int64_t oldest_age_ms = 0;  ///< age of the oldest undelivered event (0: empty)
  bool broker_configured = false;  ///< false: embedded default, events wait in the outbox
  bool broker_reachable = false;   ///< last delivery attempt reached a broker
  std::string last_error;          ///< the relay's last delivery error, if any
  /// Retention (embedded default only; analytics_max_rows 0: none, a broker drains).
  std::uint64_t analytics_rows = 0;       ///< analytics events waiting
  std::uint64_t analytics_max_rows = 0;   ///< the size bound; beyond it the oldest go
  std::int64_t analytics_max_age_ms = 0;  ///< the age bound
  std::int64_t oldest_analytics_age_ms = 0;
  std::uint64_t dropped = 0;       ///< analytics events dropped since start
  std::uint64_t events_total = 0;  ///< events ever written to the outbox (its next sequence)
  /// Events committed to the outbox since the node started, per topic.
  std::map<std::string, std::uint64_t> events_by_topic;
};

/// One admin action as the audit log keeps it: who, what, when, from where.
/// Written for every non-GET request an admin (token or console session) makes
/// and for console sign-ins, before the answer leaves. Never a request body.
struct audit_entry {
  std::uint64_t id = 0;    ///< assigned by the log (time-ordered)
  std::int64_t at_ms = 0;  ///< Unix ms
  std::string actor;       ///< the admin's subject ("a-7", or a minted token's name)
  std::string action;      ///< method + route template, "PUT /api/drivers/{id}/status"
  std::string target;      ///< the route's {id} ("d-9"), or ""
  std::string from;        ///< the client address
  int status = 0;          ///< the HTTP status answered
  std::uint32_t node = 0;  ///< the node that wrote it ([node] id)
};

/// Login throttling (POST /api/login): failed logins counted per account and per
/// client address in fixed windows; past a limit, 429 `rate_limited`. Plain value.
struct login_limits {
  std::uint32_t per_account = 5;    ///< failed logins per email per window
  std::uint32_t per_address = 20;   ///< failed logins per client address per window
  std::int64_t window_ms = 900000;  ///< 15 minutes
  std::size_t max_keys = 100000;    ///< tracked keys; beyond, new keys go untracked
};

struct api_options {
  std::string version = "0.1.0";         ///< reported by GET /health
  std::int64_t token_ttl_s = 86400;      ///< lifetime of tokens minted at registration/login
  std::function<std::int64_t()> now_ms;  ///< Unix ms; default: the system clock
  /// The outbox's state for /health; empty: no store ("not_configured").
  /// /health is degraded (not unhealthy) while a configured broker is unreachable,
  /// and in the embedded default while the analytics rows are near their size
  /// bound (>= 80% of analytics_max_rows: events are about to be dropped by size).
  std::function<outbox_health()> outbox;
  /// POST /api/admin/cluster/drain: how long the drain waits for this node's
  /// shard groups to be owned elsewhere ([cluster] drain_timeout_ms).
  std::chrono::milliseconds cluster_drain_timeout{30000};
  /// POST /api/admin/backup (admin): takes a backup now and returns where it
  /// went. Empty: 503 (the node has no store / backup directory).
  std::function<result<std::string>()> backup;
  /// Threads for the blocking endpoints (everything under /api/: argon2
  /// hashing, node queries, history, backups). 0 answers inline on the calling
  /// (gateway I/O) thread — unit tests do that to get synchronous answers.
  std::size_t worker_threads = 0;
  /// Requests waiting for a worker; beyond this they get 503 unavailable.
  std::size_t max_queued = 1024;
  login_limits login;  ///< login throttling
  /// Lifetime of an admin console session (cookie and token), seconds.
  std::int64_t admin_session_ttl_s = 8 * 3600;
  /// Mark the session cookie Secure (the node serves TLS).
  bool secure_cookies = false;
  /// The console's bundled files (index.html, console.js, console.css), served
  /// at GET /admin and /admin/<file>. Empty or missing: /admin answers 503.
  std::string console_dir;
  /// The node number, for the console's cluster panel.
  std::uint32_t node_id = 1;
  /// The audit log (durable: serve writes it to RocksDB and the outbox topic
  /// rideshard.admin-audit.v1). Empty: admin actions are not recorded and
  /// GET /api/admin/audit answers 503. A failing write is logged; the answer
  /// (the action already happened) still goes out.
  std::function<result<void>(audit_entry&)> audit;
  /// The newest `n` entries older than the entry `before` (0: the newest),
  /// newest first: one page of the log (more than `n` only for entries sharing
  /// the last one's id, written on different nodes).
  std::function<result<std::vector<audit_entry>>(std::size_t n, std::uint64_t before)> recent_audit;
  /// Where recent_audit reads from, as the console shows it (e.g. "this node's
  /// RocksDB store"); the entries also go to rideshard.admin-audit.v1.
  std::function<std::string()> audit_source = [] { return std::string("this node's store"); };
  /// "cluster" (every node's entries, read back from Kafka) or "node" (this
  /// node's store only), as GET /api/admin/audit reports it.
  std::string audit_scope = "node";
  /// The payment service behind /api/payments* and /api/drivers/{id}/earnings
  /// (thread-safe, must outlive the API). nullptr: those answer 503.
  payments::payment_service* payments = nullptr;
  /// The fraud review queue behind /api/admin/fraud/* (thread-safe, must
  /// outlive the API). nullptr: those answer 503.
  payments::fraud_desk* fraud = nullptr;
  /// Rides at the PSP behind GET /api/admin/payments/rides (thread-safe, must
  /// outlive the API). nullptr: it answers 503.
  payments::ride_charger* rides = nullptr;
  /// POST /api/trips refuses riders without a usable payment method (422
  /// no_payment_method); the WebSocket side is api::ride_gate. Off by default
  /// ([payments] require_payment_method).
  bool require_payment_method = false;
};

/// Routes and answers /api/* and /health (docs/http-api.md lists every endpoint).
///
/// Ownership: keeps references to node, tokens, users and m, which must outlive it.
/// Destroy it before the node: its worker threads have talked to the node's
/// actor system, and CAF 0.17 waits for such threads' thread-local state.
/// Thread-safety: handle() may run concurrently on any number of gateway I/O
/// threads; the object itself is immutable after construction.
///
/// Blocking: with api_options::worker_threads > 0 (what `serve` uses) every
/// /api/ request runs on the API's own worker pool — argon2 hashing (tens of ms),
/// dispatch_node queries (at most dispatch_options::query_timeout), history and
/// backups never block a gateway I/O thread; `respond` is called from a worker.
/// With 0 workers handle() answers inline before it returns (unit tests).
class http_api final : public gateway::http_handler {
 public:
  http_api(node::dispatch_node& node, const auth::token_authority& tokens, auth::user_store& users,
           gateway::metrics& m, api_options opts);
  ~http_api() override;
  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;

  void handle(gateway::http_request req,
              std::function<void(gateway::http_response)> respond) override;

 private:
  std::unique_ptr<detail::api_state> state_;
  std::unique_ptr<detail::worker_pool> pool_;  ///< after state_: stopped first
};

}  // namespace rideshard::api
