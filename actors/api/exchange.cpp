// Answering HTTP API requests: status mapping, typed error bodies, metrics,
// bearer-token authentication and the JSON request-body helpers.
#include <cstdio>
#include <ctime>
#include <limits>

#include "api/detail/api_state.hpp"
#include "auth/console_session.hpp"

namespace rideshard::api::detail {

int http_status_of(errc code) noexcept {
  switch (code) {
    case errc::invalid_coordinate:
    case errc::invalid_radius:
    case errc::invalid_k:
    case errc::invalid_argument:
    case errc::out_of_region:
    case errc::malformed_buffer:
    case errc::bad_json:
    case errc::missing_field:
    case errc::unknown_message:
    case errc::stale_timestamp:
    case errc::future_timestamp:
    case errc::impossible_jump:
    case errc::wrong_pin:
      return 400;
    case errc::unauthenticated:
    case errc::token_expired:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::unknown_driver:
    case errc::unknown_rider:
    case errc::unknown_trip:
      return 404;
    case errc::duplicate_id:
    case errc::illegal_transition:
    case errc::not_offered_to_driver:
    case errc::offer_expired:
    case errc::driver_busy:
    case errc::no_driver_available:
    case errc::pin_locked:
      return 409;
    case errc::frame_too_large:
      return 413;
    case errc::payment_declined:
      return 402;
    case errc::unknown_payment:
      return 404;
    case errc::exceeds_captured:
      return 409;
    case errc::invalid_card:
    case errc::card_expired:
    case errc::no_payment_method:
    case errc::idempotency_conflict:
      return 422;
    case errc::psp_unavailable:
      return 503;
    case errc::rate_limited:
      return 429;
    case errc::unavailable:
    case errc::dispatch_paused:
      return 503;
    default:
      return 500;  // internal, bad_config, and server-side codes added later
  }
}

namespace {
// Client-supplied strings may hold invalid UTF-8; replace rather than throw.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json error_body(std::string_view code, std::string_view message) {
  return json{{"error", {{"code", code}, {"message", message}}}};
}
}  // namespace

void exchange::audit_context(const api_state* st, const gateway::http_request& req,
                             std::string route, std::string target) {
  if (req.method == "GET" || req.method == "HEAD" || !st->opts.audit) return;
  audit_st_ = st;
  audit_.action = req.method + " " + route;
  audit_.target = std::move(target);
  audit_.from = req.client_address;
}

result<void> exchange::audit_ahead(int status) {
  if (!audit_st_ || actor_.empty()) return {};
  audit_.actor = actor_;
  audit_.status = status;
  audit_.at_ms = audit_st_->opts.now_ms();
  if (auto ok = audit_st_->opts.audit(audit_); !ok) {
    stats_.security_event("audit_write_failed");
    std::fprintf(stderr, "event=audit_write_failed action=\"%s\" actor=%s msg=\"%s\"\n",
                 audit_.action.c_str(), actor_.c_str(), ok.err().message.c_str());
    audit_st_ = nullptr;  // the log just refused: the answer does not try again
    return ok.err();
  }
  audit_st_ = nullptr;  // in the log: the answer adds no second entry
  return {};
}

void exchange::send(int status, std::string content_type, std::string body) {
  if (answered_) return;
  answered_ = true;
  // Before the answer leaves: an acknowledged admin action is in the log. A
  // failed write is logged and counted; the action already happened.
  (void)audit_ahead(status);
  gateway::http_response r{
      status, std::move(content_type), std::move(body), std::move(headers_), {}};
  respond_(std::move(r));
}

void exchange::reply(int status, const json& body) { send(status, "application/json", dump(body)); }

void exchange::reply_empty(int status) { send(status, "application/json", {}); }

void exchange::fail(const error& e, int status) {
  stats_.error(e.code);
  send(status, "application/json", dump(error_body(to_string(e.code), e.message)));
}

void exchange::not_found(std::string_view path) {
  // Not an errc: http_requests_total{route="unmatched",status="404"} counts it.
  send(404, "application/json",
       dump(error_body("not_found", "no such endpoint: " + std::string(path))));
}

void exchange::method_not_allowed(std::string_view allowed) {
  send(405, "application/json",
       dump(error_body("method_not_allowed", "allowed: " + std::string(allowed))));
}

std::optional<auth::claims> authenticate(const api_state& st, const gateway::http_request& req,
                                         exchange& ex) {
  // A Bearer header wins; without one, the console's session cookie. Browsers
  // attach cookies to cross-site requests on their own, so a cookie session must
  // also show its CSRF token on anything but GET/HEAD (double submit).
  const std::string session = req.authorization.empty()
                                  ? auth::cookie_value(req.cookie, auth::console_cookie)
                                  : std::string();
  auto who =
      session.empty() ? st.tokens.verify_bearer(req.authorization) : st.tokens.verify(session);
  if (!who) {
    ex.fail(who.err());
    return std::nullopt;
  }
  if (!session.empty() && req.method != "GET" && req.method != "HEAD" &&
      !auth::csrf_matches(session, req.csrf_token)) {
    st.stats.security_event("csrf_refused");
    ex.fail(error{errc::forbidden, "missing or wrong X-CSRF-Token for this session"});
    return std::nullopt;
  }
  // Tokens are stateless; a suspended account is refused here (and at login).
  // Tokens minted for subjects without an account (`rideshard token`) pass;
  // an admin account ("a-<n>") must still exist.
  auto account = st.users.get(who->subject);
  if (who->r == auth::role::admin && !account && account.code() == errc::unauthenticated) {
    ex.fail(account.err());
    return std::nullopt;
  }
  if (account && account->suspended) {
    ex.fail(error{errc::forbidden, "account " + who->subject + " is suspended"});
    return std::nullopt;
  }
  if (who->r == auth::role::admin) ex.set_actor(who->subject);  // audited (non-GET)
  return std::move(who).value();
}

std::optional<auth::claims> require_admin(const api_state& st, const gateway::http_request& req,
                                          exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return std::nullopt;
  if (who->r != auth::role::admin) {
    ex.fail(error{errc::forbidden, "admins only"});
    return std::nullopt;
  }
  return who;
}

result<std::uint64_t> parse_prefixed_id(std::string_view s, char prefix, const char* what) {
  const error bad{errc::invalid_argument,
                  std::string("not a ") + what + " id (" + prefix + "-<n>): " + std::string(s)};
  if (s.size() < 3 || s.size() > 22 || s[0] != prefix || s[1] != '-' || s[2] == '0') return bad;
  std::uint64_t v = 0;
  for (char c : s.substr(2)) {
    if (c < '0' || c > '9') return bad;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return bad;
    v = v * 10 + digit;
  }
  return v;
}

result<json> parse_object(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return error{errc::bad_json, "request body is not valid JSON"};
  if (!j.is_object()) return error{errc::bad_json, "request body must be a JSON object"};
  return j;
}

result<void> only_fields(const json& obj, std::initializer_list<const char*> known) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) return error{errc::invalid_argument, "unknown field \"" + key + "\""};
  }
  return {};
}

result<std::optional<std::string>> optional_string(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string())
    return error{errc::invalid_argument, std::string(key) + " must be a string"};
  return std::optional<std::string>{it->get<std::string>()};
}

result<std::string> required_string(const json& obj, const char* key) {
  auto s = optional_string(obj, key);
  if (!s) return s.err();
  if (!s->has_value()) return error{errc::missing_field, std::string(key) + " is required"};
  return std::move(**s);
}

result<std::optional<bool>> optional_bool(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<bool>{};
  if (!it->is_boolean())
    return error{errc::invalid_argument, std::string(key) + " must be true or false"};
  return std::optional<bool>{it->get<bool>()};
}

std::string iso8601_utc(std::int64_t unix_ms) {
  std::int64_t secs = unix_ms / 1000;
  std::int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

json user_json(const auth::user& u) {
  return json{{"id", u.id},       {"role", auth::to_string(u.r)},     {"name", u.name},
              {"email", u.email}, {"created_at_ms", u.created_at_ms}, {"suspended", u.suspended}};
}

}  // namespace rideshard::api::detail
