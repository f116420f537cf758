// System test of the node's security promises (issue 12): serve refuses to run
// without a real JWT secret unless --dev; suspending an account closes its live
// WebSocket session at once and its token stops working everywhere.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "app/node_payments.hpp"
#include "app_client.hpp"
#include "auth/jwt.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;

namespace {

constexpr const char* test_secret = "serve-security-system-test-secret-0123456789";

// Runs `rideshard serve` with `env` prefixed and `args` appended, bounded by
// `timeout 20` (exit 124 if it kept running); returns its exit status and output.
int run_serve(const std::string& env, const std::string& args, std::string& output) {
  const std::string dir = node_process::fresh_data_dir();
  const std::string log = dir + "/out.txt";
  const std::string cmd = "env -u RIDESHARD_JWT_SECRET -u RIDESHARD_VAULT_KEY " + env +
                          " timeout 20 " + RIDESHARD_BINARY + " serve --config " +
                          RIDESHARD_SOURCE_DIR +
                          "/cluster-config/single-node.toml --listen 127.0.0.1:0 --data-dir " +
                          dir + "/data " + args + " >" + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string mint_admin() { return system_test::mint_token(test_secret, "ops", auth::role::admin); }

}  // namespace

TEST_CASE("serve refuses to start without a JWT secret unless --dev, and says so") {
  std::string out;
  CHECK(run_serve("", "", out) == 2);
  CHECK_MESSAGE(out.find("RIDESHARD_JWT_SECRET") != std::string::npos, out);
  CHECK(out.find("listening on") == std::string::npos);

  CHECK(run_serve("RIDESHARD_JWT_SECRET=too-short", "--dev", out) ==
        2);  // --dev never weakens a set secret
  CHECK(run_serve(std::string("RIDESHARD_JWT_SECRET=") + std::string(auth::development_secret), "",
                  out) == 2);  // the public secret needs --dev too

  // With --dev it starts, loudly.
  node_process dev("", node_process::fresh_data_dir(), {}, {"--dev"});
  CHECK(dev.port != 0);
  CHECK(dev.terminate() == 0);
}

TEST_CASE("serve refuses to start without a card-vault key unless --dev, and says so") {
  const std::string jwt = std::string("RIDESHARD_JWT_SECRET=") + test_secret;
  std::string out;
  CHECK(run_serve(jwt, "", out) == 2);
  CHECK_MESSAGE(out.find("RIDESHARD_VAULT_KEY") != std::string::npos, out);
  CHECK(out.find("listening on") == std::string::npos);
  // A malformed key is refused even with --dev, and never echoed.
  CHECK(run_serve(jwt + " RIDESHARD_VAULT_KEY=not-a-key-zzzz", "--dev", out) == 2);
  CHECK(out.find("not-a-key-zzzz") == std::string::npos);
  // The public development key needs --dev.
  CHECK(run_serve(jwt + " RIDESHARD_VAULT_KEY=" + std::string(app::development_vault_key), "",
                  out) == 2);
  CHECK_MESSAGE(out.find("development key") != std::string::npos, out);
}

TEST_CASE("suspending an account closes its live session and revokes its token at once") {
  node_process node(test_secret);
  const std::string admin = mint_admin();
  auto reg = http_call(node.port, http::verb::post, "/api/drivers", {},
                       R"({"name":"Dana","email":"dana@example.com","password":"correct horse"})");
  REQUIRE(reg.status == 201);
  const std::string id = reg.body["id"];
  const std::string token = reg.body["token"];

  app_client driver(node.port, "/v1/driver", false);
  driver.send(hello{token, "test", false});
  driver.expect<welcome>();
  REQUIRE(http_call(node.port, http::verb::get, "/api/drivers/" + id, token).status == 200);

  auto sus = http_call(node.port, http::verb::put, "/api/drivers/" + id + "/status", admin,
                       R"({"suspended":true})");
  REQUIRE(sus.status == 200);

  // The live session is closed with a typed reason, without the driver sending anything.
  beast::flat_buffer buf;
  beast::error_code ec;
  for (int i = 0; i < 50 && !ec; ++i) {
    buf.clear();
    ec = driver.read_frame(buf);
  }
  CHECK(ec == websocket::error::closed);
  CHECK(driver.ws.reason().code == websocket::close_code::policy_error);
  CHECK(std::string(driver.ws.reason().reason.c_str()) == "account_revoked");

  // The token is dead for HTTP and for a new hello.
  auto after = http_call(node.port, http::verb::get, "/api/trips/history", token);
  CHECK(after.status == 401);
  app_client again(node.port, "/v1/driver", false);
  again.send(hello{token, "test", false});
  auto m = again.read();
  auto* e = std::get_if<error_reply>(&m.body);
  REQUIRE(e);
  CHECK(e->code == errc::unauthenticated);
  CHECK(node.terminate() == 0);
}
