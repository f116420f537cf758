// Private to actors/api: the shared state of http_api, the per-request
// `exchange` that answers exactly once, JSON helpers and the route handlers.
// Only actors/api/*.cpp include this (it pulls in nlohmann/json).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/detail/login_throttle.hpp"
#include "api/http_api.hpp"
#include "auth/jwt.hpp"
#include "auth/user_store.hpp"
#include "gateway/handlers.hpp"
#include "gateway/metrics.hpp"
#include "node/dispatch_node.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::api::detail {

using json = nlohmann::json;

/// Everything a handler may touch. Immutable; the referenced services are thread-safe.
struct api_state {
  node::dispatch_node& node;
  const auth::token_authority& tokens;
  auth::user_store& users;
  gateway::metrics& stats;
  api_options opts;
  std::int64_t started_ms = 0;
  std::unique_ptr<login_throttle> throttle;  ///< always set (thread-safe itself)
};

/// The HTTP status a typed error maps to (400, 401, 403, 404, 409, 429, 500, 503).
int http_status_of(errc code) noexcept;

/// One request being answered. Not thread-safe (one per handle() call).
class exchange {
 public:
  exchange(gateway::metrics& stats, std::function<void(gateway::http_response)> respond)
      : stats_(stats), respond_(std::move(respond)) {}

  /// Answers with a JSON body.
  void reply(int status, const json& body);
  /// Answers with an empty body (204).
  void reply_empty(int status);
  /// Answers with the typed error body, counts errors_total{code}.
  void fail(const error& e) { fail(e, http_status_of(e.code)); }
  void fail(const error& e, int status);
  /// Errors that are not errc codes (the gateway uses the same names).
  void not_found(std::string_view path);
  void method_not_allowed(std::string_view allowed);
  bool answered() const noexcept { return answered_; }
  /// Records the answer in the audit log (a non-GET request of an admin): the
  /// request's route template and {id} come from the dispatcher, the actor from
  /// authenticate() or the sign-in. Not called: nothing is audited.
  void audit_context(const api_state* st, const gateway::http_request& req, std::string route,
                     std::string target);
  void set_actor(std::string subject) { actor_ = std::move(subject); }
  /// Writes this request's audit entry now, as answered `status`, before the
  /// action runs: for an action that must not take effect unrecorded (a region
  /// switch is restored at start from the log). The answer then adds no second
  /// entry (nor after a failed write: that is logged and counted once). Ok
  /// without an audit context (nothing is audited). Errors: the log's
  /// (storage_error), counted in security_events_total{event="audit_write_failed"}.
  [[nodiscard]] result<void> audit_ahead(int status);
  /// Adds a response header (Set-Cookie, Cache-Control) to the coming answer.
  void header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
  }
  /// Answers with a body of any type (the console's files).
  void reply_raw(int status, std::string content_type, std::string body) {
    send(status, std::move(content_type), std::move(body));
  }

 private:
  void send(int status, std::string content_type, std::string body);
  gateway::metrics& stats_;
  std::function<void(gateway::http_response)> respond_;
  bool answered_ = false;
  std::vector<std::pair<std::string, std::string>> headers_;
  const api_state* audit_st_ = nullptr;
  audit_entry audit_;
  std::string actor_;
};

/// The verified caller, or nullopt after answering 401/403 (missing, garbage or
/// expired token; a suspended account; a deleted admin account; a console
/// session cookie without its X-CSRF-Token on a request other than GET/HEAD).
/// The credential is the Bearer header, else the console session cookie.
std::optional<auth::claims> authenticate(const api_state& st, const gateway::http_request& req,
                                         exchange& ex);
/// authenticate(), then 403 `forbidden` unless the caller is an admin.
std::optional<auth::claims> require_admin(const api_state& st, const gateway::http_request& req,
                                          exchange& ex);
/// name, email and password of a registration body (role `r`). Errors:
/// missing_field, invalid_argument (not strings).
[[nodiscard]] result<auth::registration> registration_fields(const json& body, auth::role r);
/// POST /api/login and the console's sign-in: login throttling, then the
/// password check. nullopt after answering 400/401/403/429.
std::optional<auth::user> checked_login(const api_state& st, const gateway::http_request& req,
                                        exchange& ex);

// ---- JSON request bodies ----

/// The body as a JSON object. Errors: bad_json (not JSON, or not an object).
[[nodiscard]] result<json> parse_object(std::string_view body);
/// Errors: invalid_argument naming the first key not in `known`.
[[nodiscard]] result<void> only_fields(const json& obj, std::initializer_list<const char*> known);
/// "<prefix>-<n>" (n decimal, 1..2^64-1, no sign, no leading zeros, like auth
/// subjects) -> n. Errors: invalid_argument naming `what`.
[[nodiscard]] result<std::uint64_t> parse_prefixed_id(std::string_view s, char prefix,
                                                      const char* what);
/// The string at `key`: nullopt if absent (or null); invalid_argument if not a string.
[[nodiscard]] result<std::optional<std::string>> optional_string(const json& obj, const char* key);
/// Same, but missing_field if absent.
[[nodiscard]] result<std::string> required_string(const json& obj, const char* key);
/// The boolean at `key`: nullopt if absent; invalid_argument if not a boolean.
[[nodiscard]] result<std::optional<bool>> optional_bool(const json& obj, const char* key);

/// A query parameter as a non-negative decimal integer. Errors: invalid_argument
/// (absent, empty, not digits, overflow).
[[nodiscard]] result<std::uint64_t> query_count(const gateway::http_request& req, const char* key);

/// "2025-06-15T12:34:56.789Z" for Unix milliseconds.
std::string iso8601_utc(std::int64_t unix_ms);
/// "t-<n>" -> trip_id. Errors: invalid_argument.
[[nodiscard]] result<trip_id> parse_trip_id(std::string_view s);
json point_json(lat_lng p);
/// A trip as GET /api/trips/{id} shows it (`pin` only if with_pin).
json trip_json(const schemas::trip_status& s, bool with_pin);
/// The public view of an account (never the password hash).
json user_json(const auth::user& u);

// ---- route handlers; `id` is the {id} path segment where the route has one ----

using handler_fn = void (*)(const api_state&, const gateway::http_request&, std::string_view id,
                            exchange&);

void post_users(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_login(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_user(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void put_user(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void delete_user(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_user_export(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_fraud_cases(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_ride_charges(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_fraud_resolve(const api_state&, const gateway::http_request&, std::string_view,
                        exchange&);
void post_drivers(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_driver(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void put_driver_status(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_nearby(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_trips(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_trip(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void put_trip_status(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_trip_history(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_admin_backup(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_admin_session(const api_state&, const gateway::http_request&, std::string_view,
                        exchange&);
void get_admin_session(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void delete_admin_session(const api_state&, const gateway::http_request&, std::string_view,
                          exchange&);
void post_admin_users(const api_state&, const gateway::http_request&, std::string_view, exchange&);
/// One cluster member as /health and the console show it.
json member_json(const node::member_status& m);
/// checks.cluster of /health: not_configured, or ok / degraded (a peer down) with members.
json cluster_json(const node::cluster_view& v);
/// GET /health's body (status, version, checks, uptime).
json health_body(const api_state& st);
void get_admin_overview(const api_state&, const gateway::http_request&, std::string_view,
                        exchange&);
void get_admin_fleet(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_admin_feed(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_admin_trip(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_admin_driver(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_admin_audit(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_region_pause_dispatch(const api_state&, const gateway::http_request&, std::string_view,
                                exchange&);
void post_region_resume_dispatch(const api_state&, const gateway::http_request&, std::string_view,
                                 exchange&);
void post_region_freeze_surge(const api_state&, const gateway::http_request&, std::string_view,
                              exchange&);
void post_region_unfreeze_surge(const api_state&, const gateway::http_request&, std::string_view,
                                exchange&);
void post_cluster_drain(const api_state&, const gateway::http_request&, std::string_view,
                        exchange&);
void post_cluster_rejoin(const api_state&, const gateway::http_request&, std::string_view,
                         exchange&);
void get_console_index(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_console_file(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_payments(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void get_payment(const api_state&, const gateway::http_request&, std::string_view, exchange&);
void post_payment_capture(const api_state&, const gateway::http_request&, std::string_view,
                          exchange&);
void post_payment_cancel(const api_state&, const gateway::http_request&, std::string_view,
                         exchange&);
void post_payment_refund(const api_state&, const gateway::http_request&, std::string_view,
                         exchange&);
void get_payment_methods(const api_state&, const gateway::http_request&, std::string_view,
                         exchange&);
void post_payment_methods(const api_state&, const gateway::http_request&, std::string_view,
                          exchange&);
void get_driver_earnings(const api_state&, const gateway::http_request&, std::string_view,
                         exchange&);
void get_health(const api_state&, const gateway::http_request&, std::string_view, exchange&);

}  // namespace rideshard::api::detail
