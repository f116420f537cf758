// The admin console's page and assets: GET /admin (index.html) and
// GET /admin/<file> from the bundle the build wrote (api_options::console_dir).
// The page itself holds no data (everything comes from /api/admin/* after
// sign-in), but a rider's or driver's credentials get 403 here too.
#include <fstream>
#include <sstream>

#include "api/detail/api_state.hpp"
#include "auth/console_session.hpp"

namespace rideshard::api::detail {

namespace {

struct console_file {
  std::string_view name;
  std::string_view content_type;
};

// Only these names are served: no paths, no directory listing.
constexpr console_file files[] = {
    {"index.html", "text/html; charset=utf-8"}, {"console.js", "text/javascript; charset=utf-8"},
    {"console.css", "text/css; charset=utf-8"}, {"console.js.map", "application/json"},
    {"console.css.map", "application/json"},
};

// Anonymous visitors get the page (it shows the sign-in form); a presented
// credential that is not an admin's is refused.
bool may_see_console(const api_state& st, const gateway::http_request& req, exchange& ex) {
  const auto session = auth::cookie_value(req.cookie, auth::console_cookie);
  if (req.authorization.empty() && session.empty()) return true;
  auto who = req.authorization.empty() ? st.tokens.verify(session)
                                       : st.tokens.verify_bearer(req.authorization);
  if (!who && !req.authorization.empty()) {
    ex.fail(who.err());
    return false;
  }
  if (who && who->r != auth::role::admin) {
    ex.fail(error{errc::forbidden, "the console is for admins"});
    return false;
  }
  return true;  // an admin, or an expired/foreign cookie: the page signs in again
}

void serve(const api_state& st, std::string_view name, exchange& ex) {
  const console_file* f = nullptr;
  for (const auto& c : files)
    if (c.name == name) f = &c;
  if (!f) return ex.not_found("/admin/" + std::string(name));
  if (st.opts.console_dir.empty())
    return ex.fail(error{errc::unavailable, "this node serves no console (no console_dir)"});
  std::ifstream in(st.opts.console_dir + "/" + std::string(f->name), std::ios::binary);
  if (!in)
    return ex.fail(error{errc::unavailable, "the console is not built (" + st.opts.console_dir +
                                                "/" + std::string(f->name) + ")"});
  std::ostringstream body;
  body << in.rdbuf();
  // Same-origin everything: no inline script, no other host, never framed.
  ex.header("Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  ex.header("X-Content-Type-Options", "nosniff");
  ex.header("Referrer-Policy", "no-referrer");
  ex.header("Cache-Control", "no-cache");
  ex.reply_raw(200, std::string(f->content_type), body.str());
}

}  // namespace

void get_console_index(const api_state& st, const gateway::http_request& req, std::string_view,
                       exchange& ex) {
  if (may_see_console(st, req, ex)) serve(st, "index.html", ex);
}

void get_console_file(const api_state& st, const gateway::http_request& req, std::string_view name,
                      exchange& ex) {
  if (may_see_console(st, req, ex)) serve(st, name, ex);
}

}  // namespace rideshard::api::detail
