// Account endpoints: registration (POST /api/users, POST /api/drivers), login,
// GET/PUT /api/users/{id}, GET /api/drivers/{id} and the admin-only
// PUT /api/drivers/{id}/status (account suspension). DELETE (erasure) and the
// data export are in personal_data_routes.cpp.
#include "api/detail/api_state.hpp"
#include "auth/rbac.hpp"

namespace rideshard::api::detail {

namespace {

// Registers an account and answers 201 with a fresh token. `forced` is the
// role of a role-specific endpoint (POST /api/drivers); the body may repeat it.
void register_account(const api_state& st, const gateway::http_request& req,
                      std::optional<auth::role> forced, exchange& ex) {
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"role", "name", "email", "password"}); !ok)
    return ex.fail(ok.err());
  auto role_name = optional_string(*body, "role");
  if (!role_name) return ex.fail(role_name.err());
  if (!forced && !role_name->has_value())
    return ex.fail(error{errc::missing_field, "role is required (rider or driver)"});
  auto r =
      role_name->has_value() ? auth::role_from_string(**role_name) : result<auth::role>(*forced);
  if (!r) return ex.fail(r.err());
  if (forced && *r != *forced)
    return ex.fail(error{errc::invalid_argument, "this endpoint registers drivers only"});
  auto reg = registration_fields(*body, *r);
  if (!reg) return ex.fail(reg.err());
  auto u = st.users.register_user(*reg);
  if (!u) return ex.fail(u.err());
  auto token = st.tokens.mint(u->id, u->r, st.opts.token_ttl_s);
  if (!token) {
    // Without a token the client cannot use the account: undo, so it can retry.
    (void)st.users.remove(u->id);
    return ex.fail(error{errc::internal, "could not mint a token: " + token.err().message});
  }
  json out = user_json(*u);
  out["token"] = *token;
  out["expires_in_s"] = st.opts.token_ttl_s;
  ex.reply(201, out);
}

}  // namespace

result<auth::registration> registration_fields(const json& body, auth::role r) {
  auto name = required_string(body, "name");
  if (!name) return name.err();
  auto email = required_string(body, "email");
  if (!email) return email.err();
  auto password = required_string(body, "password");
  if (!password) return password.err();
  return auth::registration{r, std::move(*name), std::move(*email), std::move(*password)};
}

void post_users(const api_state& st, const gateway::http_request& req, std::string_view,
                exchange& ex) {
  register_account(st, req, std::nullopt, ex);
}

void post_drivers(const api_state& st, const gateway::http_request& req, std::string_view,
                  exchange& ex) {
  register_account(st, req, auth::role::driver, ex);
}

std::optional<auth::user> checked_login(const api_state& st, const gateway::http_request& req,
                                        exchange& ex) {
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err()), std::nullopt;
  if (auto ok = only_fields(*body, {"email", "password"}); !ok)
    return ex.fail(ok.err()), std::nullopt;
  auto email = required_string(*body, "email");
  if (!email) return ex.fail(email.err()), std::nullopt;
  auto password = required_string(*body, "password");
  if (!password) return ex.fail(password.err()), std::nullopt;
  // Throttled before any argon2 work: per account (email) and per client address.
  auto normalized = auth::normalize_email(*email);
  const std::string account = normalized ? *normalized : *email;
  const auto now = st.opts.now_ms();
  const auto verdict = st.throttle->check(account, req.client_address, now);
  if (verdict != login_throttle::verdict::allowed) {
    const bool by_account = verdict == login_throttle::verdict::account_locked;
    st.stats.security_event(by_account ? "login_throttled_account" : "login_throttled_address");
    const auto wait_s =
        (st.throttle->retry_after_ms(account, req.client_address, now) + 999) / 1000;
    ex.fail(error{errc::rate_limited, std::string("too many failed logins for this ") +
                                          (by_account ? "account" : "address") + "; retry in " +
                                          std::to_string(wait_s) + " s"});
    return std::nullopt;
  }
  auto u = st.users.login(*email, *password);
  if (!u) {
    if (u.code() == errc::unauthenticated) st.throttle->failed(account, req.client_address, now);
    ex.fail(u.err());
    return std::nullopt;
  }
  st.throttle->succeeded(account);
  return std::move(u).value();
}

void post_login(const api_state& st, const gateway::http_request& req, std::string_view,
                exchange& ex) {
  auto u = checked_login(st, req, ex);
  if (!u) return;
  auto token = st.tokens.mint(u->id, u->r, st.opts.token_ttl_s);
  if (!token) return ex.fail(error{errc::internal, "could not mint a token"});
  ex.reply(200, json{{"token", *token},
                     {"id", u->id},
                     {"role", auth::to_string(u->r)},
                     {"expires_in_s", st.opts.token_ttl_s}});
}

void get_user(const api_state& st, const gateway::http_request& req, std::string_view id,
              exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (auto ok = auth::can_manage_user(*who, id); !ok) return ex.fail(ok.err());
  auto u = st.users.get(id);
  if (!u) return ex.fail(u.err());
  ex.reply(200, user_json(*u));
}

void put_user(const api_state& st, const gateway::http_request& req, std::string_view id,
              exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (auto ok = auth::can_manage_user(*who, id); !ok) return ex.fail(ok.err());
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"name", "email", "password", "suspended"}); !ok)
    return ex.fail(ok.err());
  auth::user_update upd;
  auto name = optional_string(*body, "name");
  if (!name) return ex.fail(name.err());
  auto email = optional_string(*body, "email");
  if (!email) return ex.fail(email.err());
  auto password = optional_string(*body, "password");
  if (!password) return ex.fail(password.err());
  auto suspended = optional_bool(*body, "suspended");
  if (!suspended) return ex.fail(suspended.err());
  if (suspended->has_value() && who->r != auth::role::admin)
    return ex.fail(error{errc::forbidden, "only an admin may change \"suspended\""});
  upd.name = std::move(*name);
  upd.email = std::move(*email);
  upd.password = std::move(*password);
  upd.suspended = *suspended;
  auto u = st.users.update(id, upd);
  if (!u) return ex.fail(u.err());
  ex.reply(200, user_json(*u));
}

void get_driver(const api_state& st, const gateway::http_request& req, std::string_view id,
                exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (auto ok = auth::can_manage_user(*who, id); !ok) return ex.fail(ok.err());
  if (auto d = auth::parse_driver_subject(id); !d)
    return ex.fail(error{errc::invalid_argument, "not a driver id: " + std::string(id)});
  auto u = st.users.get(id);
  if (!u) return ex.fail(u.err());
  // dispatch_node exposes no per-driver query yet, so no live position/availability.
  ex.reply(200, user_json(*u));
}

void put_driver_status(const api_state& st, const gateway::http_request& req, std::string_view id,
                       exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (who->r != auth::role::admin)
    return ex.fail(error{errc::forbidden,
                         "only an admin may change a driver's status; drivers "
                         "go online/offline over /v1/driver"});
  if (auto d = auth::parse_driver_subject(id); !d)
    return ex.fail(error{errc::invalid_argument, "not a driver id: " + std::string(id)});
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"suspended"}); !ok) return ex.fail(ok.err());
  auto suspended = optional_bool(*body, "suspended");
  if (!suspended) return ex.fail(suspended.err());
  if (!suspended->has_value())
    return ex.fail(error{errc::missing_field, "suspended (true or false) is required"});
  auth::user_update upd;
  upd.suspended = *suspended;
  auto u = st.users.update(id, upd);
  if (!u) return ex.fail(u.err());
  ex.reply(200, user_json(*u));
}

}  // namespace rideshard::api::detail
