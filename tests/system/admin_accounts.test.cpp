// System test of the admin console's accounts and sessions (issue 10, step 1),
// the built binary over real sockets: `rideshard admin create-user` makes a
// durable admin account; sign-in sets an HttpOnly SameSite=Strict cookie and
// returns a CSRF token that every state-changing cookie request must echo;
// riders and drivers get 403 on every admin endpoint; every admin action is in
// the durable audit log and on the rideshard.admin-audit.v1 outbox topic.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app_client.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;

namespace {

constexpr const char* test_secret = "admin-accounts-system-test-secret-0123456789";
constexpr const char* ops_password = "console-pass-1234";

// `rideshard admin create-user` against the node; returns the exit status and stdout.
int create_user(unsigned short port, const std::string& email, const std::string& password,
                std::string& output) {
  const std::string dir = node_process::fresh_data_dir();
  const std::string out = dir + "/out.txt";
  const std::string cmd = std::string("RIDESHARD_JWT_SECRET=") + test_secret +
                          " RIDESHARD_ADMIN_PASSWORD='" + password + "' timeout 20 " +
                          RIDESHARD_BINARY +
                          " admin create-user --url http://127.0.0.1:" + std::to_string(port) +
                          " --email " + email + " --name Ops >" + out + " 2>&1 </dev/null";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string sign_in_body(const std::string& email, const std::string& password) {
  return nlohmann::json{{"email", email}, {"password", password}}.dump();
}

// "rideshard_admin=eyJ...; Path=/; ..." -> "rideshard_admin=eyJ..."
std::string cookie_pair(const std::string& set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}

}  // namespace

TEST_CASE("admin accounts: created by the CLI, durable, signed in with a cookie session + CSRF") {
  const std::string dir = node_process::fresh_data_dir();
  std::string session;
  {
    node_process node(test_secret, dir);
    std::string out;
    REQUIRE_MESSAGE(create_user(node.port, "ops@example.com", ops_password, out) == 0, out);
    const auto created = nlohmann::json::parse(out, nullptr, false);
    REQUIRE(created.is_object());
    CHECK(created["role"] == "admin");
    CHECK(created["id"].get<std::string>().rfind("a-", 0) == 0);
    CHECK(out.find("argon2") == std::string::npos);                            // never the hash
    CHECK(create_user(node.port, "ops@example.com", ops_password, out) == 1);  // duplicate
    CHECK(out.find("duplicate_id") != std::string::npos);
    CHECK(create_user(node.port, "short@example.com", "short", out) == 1);

    auto wrong = http_call(node.port, http::verb::post, "/api/admin/session", {},
                           sign_in_body("ops@example.com", "not-the-password"));
    CHECK(wrong.status == 401);
    CHECK(wrong.set_cookie.empty());
    CHECK(node.terminate() == 0);
  }
  // A restart reads the account back from RocksDB.
  node_process node(test_secret, dir);
  auto ok = http_call(node.port, http::verb::post, "/api/admin/session", {},
                      sign_in_body("OPS@example.com", ops_password));
  REQUIRE(ok.status == 200);
  CHECK(ok.set_cookie.find("rideshard_admin=") == 0);
  CHECK(ok.set_cookie.find("; HttpOnly") != std::string::npos);
  CHECK(ok.set_cookie.find("; SameSite=Strict") != std::string::npos);
  CHECK(ok.set_cookie.find("; Path=/") != std::string::npos);
  CHECK(ok.body.find("token") == ok.body.end());  // the session stays in the cookie
  const std::string csrf = ok.body["csrf_token"];
  CHECK(csrf.size() == 32);
  CHECK(ok.body["name"] == "Ops");
  const std::string cookie = cookie_pair(ok.set_cookie);
  CHECK(ok.text.find(cookie.substr(cookie.find('=') + 1)) == std::string::npos);

  // The session reads without CSRF (GET) and reports the same CSRF token.
  auto me = http_call_with(node.port, http::verb::get, "/api/admin/session", {{"Cookie", cookie}});
  REQUIRE(me.status == 200);
  CHECK(me.body["csrf_token"] == csrf);
  CHECK(me.body["role"] == "admin");

  // Changing anything with the cookie needs the CSRF token.
  const std::string new_admin = R"({"name":"B","email":"b@example.com","password":"b-password-1"})";
  auto no_csrf = http_call_with(node.port, http::verb::post, "/api/admin/users",
                                {{"Cookie", cookie}}, new_admin);
  CHECK(no_csrf.status == 403);
  CHECK(no_csrf.body["error"]["message"].get<std::string>().find("CSRF") != std::string::npos);
  auto bad_csrf =
      http_call_with(node.port, http::verb::post, "/api/admin/users",
                     {{"Cookie", cookie}, {"X-CSRF-Token", std::string(32, '0')}}, new_admin);
  CHECK(bad_csrf.status == 403);
  auto with_csrf = http_call_with(node.port, http::verb::post, "/api/admin/users",
                                  {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, new_admin);
  CHECK(with_csrf.status == 201);
  auto metrics = http_call(node.port, http::verb::get, "/metrics");
  CHECK(metrics.text.find("event=\"csrf_refused\"") != std::string::npos);

  // Sign-out clears the cookie (and needs the CSRF token too).
  CHECK(http_call_with(node.port, http::verb::delete_, "/api/admin/session", {{"Cookie", cookie}})
            .status == 403);
  auto out = http_call_with(node.port, http::verb::delete_, "/api/admin/session",
                            {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  CHECK(out.status == 204);
  CHECK(out.set_cookie.find("Max-Age=0") != std::string::npos);
  CHECK(node.terminate() == 0);
}

TEST_CASE("riders and drivers get 403 on every admin endpoint, with a token or a cookie") {
  node_process node(test_secret);
  auto rider =
      http_call(node.port, http::verb::post, "/api/users", {},
                R"({"role":"rider","name":"R","email":"r@example.com","password":"rider-pass-1"})");
  REQUIRE(rider.status == 201);
  auto driver = http_call(node.port, http::verb::post, "/api/drivers", {},
                          R"({"name":"D","email":"d@example.com","password":"driver-pass-1"})");
  REQUIRE(driver.status == 201);
  const std::vector<std::pair<http::verb, std::string>> admin_routes{
      {http::verb::post, "/api/admin/backup"},
      {http::verb::post, "/api/admin/users"},
      {http::verb::get, "/api/admin/session"},
  };
  for (const std::string token : {rider.body["token"], driver.body["token"]}) {
    for (const auto& [verb, target] : admin_routes) {
      CAPTURE(target);
      auto bearer = http_call(node.port, verb, target, token,
                              R"({"name":"x","email":"x@example.com","password":"x-password"})");
      CHECK(bearer.status == 403);
      // A rider's token planted in the cookie is no better (GET needs no CSRF).
      if (verb == http::verb::get)
        CHECK(http_call_with(node.port, verb, target, {{"Cookie", "rideshard_admin=" + token}})
                  .status == 403);
    }
  }
  // Right password, wrong kind of account: no session.
  auto signin = http_call(node.port, http::verb::post, "/api/admin/session", {},
                          sign_in_body("r@example.com", "rider-pass-1"));
  CHECK(signin.status == 403);
  CHECK(signin.set_cookie.empty());
  // Public registration never makes an admin.
  CHECK(
      http_call(node.port, http::verb::post, "/api/users", {},
                R"({"role":"admin","name":"A","email":"a@example.com","password":"admin-pass-1"})")
          .status == 400);
  CHECK(node.terminate() == 0);
}

TEST_CASE("every admin action is audited: who, what, when, from where; durable and on the outbox") {
  const std::string dir = node_process::fresh_data_dir();
  std::string admin_id;
  std::string driver_id;
  {
    node_process node(test_secret, dir);
    std::string out;
    REQUIRE_MESSAGE(create_user(node.port, "ops@example.com", ops_password, out) == 0, out);
    auto signin = http_call(node.port, http::verb::post, "/api/admin/session", {},
                            sign_in_body("ops@example.com", ops_password));
    REQUIRE(signin.status == 200);
    admin_id = signin.body["id"];
    const std::string cookie = cookie_pair(signin.set_cookie);
    const std::string csrf = signin.body["csrf_token"];
    auto driver = http_call(node.port, http::verb::post, "/api/drivers", {},
                            R"({"name":"D","email":"d@example.com","password":"driver-pass-1"})");
    REQUIRE(driver.status == 201);
    driver_id = driver.body["id"];
    // The console's Block; a refused attempt (no CSRF) changes nothing and is not an action.
    REQUIRE(http_call_with(node.port, http::verb::put, "/api/drivers/" + driver_id + "/status",
                           {{"Cookie", cookie}}, R"({"suspended":true})")
                .status == 403);
    REQUIRE(http_call_with(node.port, http::verb::put, "/api/drivers/" + driver_id + "/status",
                           {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, R"({"suspended":true})")
                .status == 200);
    // The same action from the CLI (a minted admin token) is audited too.
    const std::string cmd =
        std::string("RIDESHARD_JWT_SECRET=") + test_secret + " timeout 20 " + RIDESHARD_BINARY +
        " admin unblock-driver --url http://127.0.0.1:" + std::to_string(node.port) + " --id " +
        driver_id + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    // Riders' actions are not admin actions.
    auto rider = http_call(
        node.port, http::verb::post, "/api/users", {},
        R"({"role":"rider","name":"R","email":"r@example.com","password":"rider-pass-1"})");
    REQUIRE(rider.status == 201);
    REQUIRE(http_call(node.port, http::verb::put,
                      "/api/users/" + rider.body["id"].get<std::string>(), rider.body["token"],
                      R"({"name":"R2"})")
                .status == 200);
    CHECK(node.terminate() == 0);
  }
  node_process node(test_secret, dir);  // the log survives a restart
  auto cli = http_call_with(node.port, http::verb::get, "/api/admin/audit?limit=10", {});
  CHECK(cli.status == 401);
  // A failed sign-in is audited too, without the email that was typed.
  REQUIRE(http_call(node.port, http::verb::post, "/api/admin/session", {},
                    sign_in_body("ops@example.com", "not-the-password"))
              .status == 401);
  auto signin = http_call(node.port, http::verb::post, "/api/admin/session", {},
                          sign_in_body("ops@example.com", ops_password));
  REQUIRE(signin.status == 200);
  auto log = http_call_with(node.port, http::verb::get, "/api/admin/audit?limit=10",
                            {{"Cookie", cookie_pair(signin.set_cookie)}});
  REQUIRE(log.status == 200);
  auto e = log.body["entries"];
  // newest first: sign-in (now), failed sign-in, unblock, block, sign-in, create-user
  REQUIRE(e.size() == 6);
  CHECK(e[0]["action"] == "POST /api/admin/session");
  CHECK(e[0]["actor"] == admin_id);
  CHECK(e[1]["action"] == "POST /api/admin/session");
  CHECK(e[1]["actor"] == "anonymous");
  CHECK(e[1]["status"] == 401);
  CHECK(e[1]["from"] == "127.0.0.1");
  CHECK(log.text.find("ops@example.com") == std::string::npos);
  e.erase(1);  // the rest as before the failed sign-in
  CHECK(e[1]["action"] == "PUT /api/drivers/{id}/status");
  CHECK(e[1]["actor"] == "admin-cli");
  CHECK(e[1]["target"] == driver_id);
  CHECK(e[2]["action"] == "PUT /api/drivers/{id}/status");
  CHECK(e[2]["actor"] == admin_id);
  CHECK(e[2]["target"] == driver_id);
  CHECK(e[2]["from"] == "127.0.0.1");
  CHECK(e[2]["status"] == 200);
  CHECK(e[2]["at_ms"].get<std::int64_t>() >= e[3]["at_ms"].get<std::int64_t>());
  CHECK(e[3]["action"] == "POST /api/admin/session");
  CHECK(e[4]["action"] == "POST /api/admin/users");
  CHECK(e[4]["actor"] == "admin-cli");
  CHECK(log.text.find("password") == std::string::npos);
  CHECK(node.terminate() == 0);

  // Each entry also waits in the outbox for rideshard.admin-audit.v1, keyed by the admin.
  auto st = persistence::store::open(persistence::store_options{dir, false, true, nullptr});
  REQUIRE(st.ok());
  auto rows = (*st)->read_outbox(0, 100000);
  REQUIRE(rows.ok());
  std::size_t audit_rows = 0;
  for (const auto& r : *rows) {
    if (r.event.topic != persistence::admin_audit_topic) continue;
    ++audit_rows;
    const auto j = nlohmann::json::parse(r.event.payload);
    CHECK(r.event.key == j["actor"].get<std::string>());
  }
  CHECK(audit_rows == 6);
}
