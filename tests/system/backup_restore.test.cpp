// Backups, end to end with the built binary: a node takes `rideshard admin
// backup`, dies, `rideshard restore` rebuilds a data dir from the backup, and a
// node serving from it has exactly what the backup had.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwt.hpp"
#include "http_call.hpp"
#include "node_process.hpp"

using namespace rideshard;
using json = nlohmann::json;
using system_test::http_call;

namespace {

constexpr const char* secret = "backup-restore-test-secret-0123456789abcdef";

std::string mint(const std::string& sub, auth::role r) {
  auto a = auth::token_authority::create(secret, std::string(auth::default_issuer),
                                         auth::system_unix_seconds);
  REQUIRE(a.ok());
  auto t = a->mint(sub, r, 600);
  REQUIRE(t.ok());
  return *t;
}

std::string request_ride(unsigned short port, const std::string& rider) {
  json body{{"pickup", {{"lat", 40.754}, {"lng", -73.984}}},
            {"dropoff", {{"lat", 40.78}, {"lng", -73.96}}}};
  auto r = http_call(port, boost::beast::http::verb::post, "/api/trips",
                     mint(rider, auth::role::rider), body.dump());
  REQUIRE_MESSAGE(r.status == 201, r.body.dump());
  return r.body["id"].get<std::string>();
}

// Runs the built binary with args and $RIDESHARD_JWT_SECRET; returns its exit status.
int run_binary(const std::string& args) {
  const std::string cmd = "RIDESHARD_JWT_SECRET=" + std::string(secret) + " " + RIDESHARD_BINARY +
                          " " + args + " >/dev/null 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("admin backup, kill -9, restore into a new dir, serve: exactly the backed-up trips") {
  const std::string backups = system_test::node_process::fresh_data_dir() + "/backups";
  std::string kept, lost;
  {
    system_test::node_process node(secret, system_test::node_process::fresh_data_dir(), {},
                                   {"--backup-dir", backups});
    kept = request_ride(node.port, "r-1");
    const auto url = "http://127.0.0.1:" + std::to_string(node.port);
    REQUIRE(run_binary("admin backup --url " + url) == 0);
    // A non-admin may not take backups.
    auto refused = http_call(node.port, boost::beast::http::verb::post, "/api/admin/backup",
                             mint("r-1", auth::role::rider));
    CHECK(refused.status == 403);
    lost = request_ride(node.port, "r-2");  // after the backup: not in it
    CHECK(node.kill9() == 128 + 9);
  }
  const std::string restored = system_test::node_process::fresh_data_dir() + "/restored";
  REQUIRE(run_binary("restore --backup-dir " + backups + " --data-dir " + restored) == 0);

  system_test::node_process node(secret, restored);
  const auto line = node.read_recovery_line();
  CHECK_MESSAGE(line.find("recovered 1 active trips of 1 stored") != std::string::npos, line);
  const auto admin = mint("ops", auth::role::admin);
  auto k = http_call(node.port, boost::beast::http::verb::get, "/api/trips/" + kept, admin);
  CHECK(k.status == 200);
  CHECK(k.body["state"] == "requested");
  auto l = http_call(node.port, boost::beast::http::verb::get, "/api/trips/" + lost, admin);
  CHECK(l.status == 404);
  // The restored node serves: the restored rider still has its active trip.
  auto again = http_call(node.port, boost::beast::http::verb::post, "/api/trips",
                         mint("r-1", auth::role::rider),
                         json{{"pickup", {{"lat", 40.754}, {"lng", -73.984}}},
                              {"dropoff", {{"lat", 40.78}, {"lng", -73.96}}}}
                             .dump());
  CHECK(again.status == 409);
  CHECK(node.terminate() == 0);
  std::filesystem::remove_all(std::filesystem::path(backups).parent_path());
  std::filesystem::remove_all(std::filesystem::path(restored).parent_path());
}
