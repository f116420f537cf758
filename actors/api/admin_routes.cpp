// The admin console's session and admin accounts: sign-in (POST
// /api/admin/session sets the HttpOnly SameSite=Strict session cookie and
// returns the CSRF token), GET/DELETE of the session, POST /api/admin/users.
#include "api/detail/api_state.hpp"
#include "auth/console_session.hpp"

namespace rideshard::api::detail {

namespace {

// Who the session is, and the CSRF token the page must echo in X-CSRF-Token.
json session_json(const api_state& st, const auth::claims& who, std::string_view token) {
  json out{{"id", who.subject},
           {"role", auth::to_string(who.r)},
           {"csrf_token", token.empty() ? json(nullptr) : json(auth::csrf_token_of(token))},
           {"expires_at_s", who.expires_at_s}};
  if (auto u = st.users.get(who.subject)) {
    out["name"] = u->name;
    out["email"] = u->email;
  }
  return out;
}

}  // namespace

void post_admin_session(const api_state& st, const gateway::http_request& req, std::string_view,
                        exchange& ex) {
  // Every console sign-in is audited, failures too (wrong password, throttled,
  // not an admin): the actor of a failed one is "anonymous" (never the email
  // typed), or the account that signed in without being an admin.
  ex.set_actor("anonymous");
  auto u = checked_login(st, req, ex);
  if (!u) return;
  ex.set_actor(u->id);
  if (u->r != auth::role::admin) {
    st.stats.security_event("console_signin_not_admin");
    return ex.fail(error{errc::forbidden, "not an admin account"});
  }
  const auto ttl = st.opts.admin_session_ttl_s;
  auto token = st.tokens.mint(u->id, u->r, ttl);
  if (!token) return ex.fail(error{errc::internal, "could not mint a session"});
  auto who = st.tokens.verify(*token);
  if (!who) return ex.fail(error{errc::internal, "minted session does not verify"});
  // The token itself never reaches the page's JavaScript: only the cookie holds it.
  ex.header("Set-Cookie", auth::session_cookie(*token, ttl, st.opts.secure_cookies));
  ex.header("Cache-Control", "no-store");
  ex.reply(200, session_json(st, *who, *token));
}

void get_admin_session(const api_state& st, const gateway::http_request& req, std::string_view,
                       exchange& ex) {
  auto who = require_admin(st, req, ex);
  if (!who) return;
  // A Bearer caller has no cookie and needs no CSRF token.
  const auto session = req.authorization.empty()
                           ? auth::cookie_value(req.cookie, auth::console_cookie)
                           : std::string();
  ex.header("Cache-Control", "no-store");
  ex.reply(200, session_json(st, *who, session));
}

void delete_admin_session(const api_state& st, const gateway::http_request& req, std::string_view,
                          exchange& ex) {
  if (!authenticate(st, req, ex)) return;  // cookie sessions: CSRF-checked there
  ex.header("Set-Cookie", auth::session_cookie("", 0, st.opts.secure_cookies));
  ex.reply_empty(204);
}

void post_admin_users(const api_state& st, const gateway::http_request& req, std::string_view,
                      exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"name", "email", "password"}); !ok) return ex.fail(ok.err());
  auto reg = registration_fields(*body, auth::role::admin);
  if (!reg) return ex.fail(reg.err());
  auto u = st.users.create_admin(*reg);
  if (!u) return ex.fail(u.err());
  ex.reply(201, user_json(*u));
}

void get_admin_audit(const api_state& st, const gateway::http_request& req, std::string_view,
                     exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  std::size_t limit = 50;
  if (req.query.count("limit")) {
    auto n = query_count(req, "limit");
    if (!n) return ex.fail(n.err());
    if (*n == 0 || *n > 500) return ex.fail(error{errc::invalid_argument, "limit must be 1..500"});
    limit = static_cast<std::size_t>(*n);
  }
  std::uint64_t before = 0;  // a page: the entries older than this id
  if (req.query.count("before")) {
    auto b = query_count(req, "before");
    if (!b || *b == 0)
      return ex.fail(error{errc::invalid_argument, "before must be an audit entry id"});
    before = *b;
  }
  if (!st.opts.recent_audit)
    return ex.fail(error{errc::unavailable, "this node keeps no audit log (no store)"});
  auto entries = st.opts.recent_audit(limit + 1, before);  // one more: is there an older page?
  if (!entries) return ex.fail(entries.err());
  const bool more = entries->size() > limit;
  // One more than the page says there is an older one; entries sharing the
  // last id (two nodes, the same millisecond) stay together on this page.
  if (more)
    while (entries->size() > limit && entries->back().id != (*entries)[limit - 1].id)
      entries->pop_back();
  json out = json::array();
  for (const auto& e : *entries)
    out.push_back(json{{"id", std::to_string(e.id)},
                       {"at_ms", e.at_ms},
                       {"at", iso8601_utc(e.at_ms)},
                       {"actor", e.actor},
                       {"action", e.action},
                       {"target", e.target},
                       {"from", e.from},
                       {"status", e.status},
                       {"node", e.node}});
  ex.reply(200, json{{"entries", std::move(out)},
                     {"older", more ? json(std::to_string(entries->back().id)) : json(nullptr)},
                     {"source", st.opts.audit_source()},
                     {"scope", st.opts.audit_scope},
                     {"topic", "rideshard.admin-audit.v1"}});
}

}  // namespace rideshard::api::detail
