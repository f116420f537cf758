// http_api driven directly: registration, login and tokens, account RBAC,
// nearby validation and results, trip lookup RBAC, /health, 404/405.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/http_api.hpp"
#include "auth/jwt.hpp"
#include "auth/user_store.hpp"
#include "gateway/metrics.hpp"
#include "node/dispatch_node.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using json = nlohmann::json;

namespace {

constexpr std::int64_t t0_ms = 1'750'000'000'000;
constexpr std::int64_t ttl_s = 3600;
const auth::password_params fast{1, 64, 1, 16, 32};

struct reply {
  int status = 0;
  std::string body;
  json j() const { return body.empty() ? json() : json::parse(body); }
  std::string code() const { return j()["error"]["code"].get<std::string>(); }
};

struct api_fixture {
  std::shared_ptr<std::atomic<std::int64_t>> clock =
      std::make_shared<std::atomic<std::int64_t>>(t0_ms);
  std::optional<auth::token_authority> tokens;
  std::uint64_t next_id = 100;  // touched only under the store's mutex
  auth::user_store users{[this] { return ++next_id; }, [c = clock] { return c->load(); }, fast};
  gateway::metrics stats;
  std::unique_ptr<node::dispatch_node> node;
  std::unique_ptr<api::http_api> api;
  lat_lng center;
  std::string admin;  ///< an admin token ("rideshard token --role admin")

  explicit api_fixture(std::function<api::outbox_health()> outbox = nullptr) {
    auto c = clock;
    auto t = auth::token_authority::create(std::string(48, 's'), "rideshard",
                                           [c] { return c->load() / 1000; });
    REQUIRE(t.ok());
    tokens.emplace(std::move(t).value());
    auto r =
        load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
    REQUIRE(r.ok());
    center = lat_lng{40.754, -73.984};  // Midtown Manhattan, inside the nyc bounds
    node::dispatch_options o;
    o.now_ms = [c] { return c->load(); };
    o.offer_timeout = std::chrono::seconds(30);
    const auth::token_authority* ta = &*tokens;
    auto verify = [ta](const std::string& token) -> result<node::identity> {
      auto cl = ta->verify(token);
      if (!cl) return cl.err();
      if (cl->r == auth::role::admin) return error{errc::forbidden, "no admin sessions here"};
      return node::identity{
          cl->subject, cl->r == auth::role::driver ? schemas::role::driver : schemas::role::rider};
    };
    auto n = node::dispatch_node::create({std::move(r).value()}, std::move(o), verify);
    REQUIRE(n.ok());
    node = std::move(n).value();
    api::api_options opts;
    opts.version = "9.9.9";
    opts.token_ttl_s = ttl_s;
    opts.now_ms = [c] { return c->load(); };
    opts.outbox = std::move(outbox);
    api = std::make_unique<api::http_api>(*node, *tokens, users, stats, std::move(opts));
    admin = mint("admin-ops", auth::role::admin);
  }

  std::string mint(const std::string& sub, auth::role r) {
    auto t = tokens->mint(sub, r, ttl_s);
    REQUIRE(t.ok());
    return *t;
  }

  reply call(std::string method, std::string path, const std::string& token = {},
             std::string body = {}, std::map<std::string, std::string> query = {}) {
    gateway::http_request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.query = std::move(query);
    req.authorization = token.empty() ? std::string() : "Bearer " + token;
    req.body = std::move(body);
    std::optional<reply> out;
    int calls = 0;
    api->handle(std::move(req), [&](gateway::http_response r) {
      ++calls;
      out = reply{r.status, std::move(r.body)};
    });
    REQUIRE(calls == 1);  // answered synchronously, exactly once
    return *out;
  }

  /// Registers and returns the 201 body.
  json signup(const std::string& role, const std::string& email,
              const std::string& password = "correct horse") {
    auto r = call(
        "POST", "/api/users", {},
        json{{"role", role}, {"name", "Alex"}, {"email", email}, {"password", password}}.dump());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.j();
  }

  /// Plays a driver app: hello, one fix at `pos`, go online.
  test::fake_ptr online_driver(const std::string& token, lat_lng pos) {
    auto c = std::make_shared<test::fake_connection>(next_conn++, gateway::endpoint::driver);
    node->on_open(c);
    node->on_message(c, {1, schemas::hello{token, "test", false}});
    REQUIRE(c->wait<schemas::welcome>());
    schemas::location_sample s;
    s.pos = pos;
    s.timestamp_ms = clock->load();
    node->on_message(c, {2, schemas::location_batch{{s}}});
    REQUIRE(c->wait<schemas::ack>());
    node->on_message(c, {3, schemas::go_online{}});
    REQUIRE(c->wait<schemas::ack>());
    return c;
  }
  std::uint64_t next_conn = 1;
};

std::map<std::string, std::string> nearby_query(std::string lat, std::string lon,
                                                std::string radius = "2000", std::string k = "5") {
  return {{"lat", std::move(lat)},
          {"lon", std::move(lon)},
          {"radius_m", std::move(radius)},
          {"k", std::move(k)}};
}

}  // namespace

TEST_CASE_FIXTURE(api_fixture, "register, login, and the token works") {
  const json reg = signup("rider", "Ann@Example.com");
  CHECK(reg["id"] == "r-101");
  CHECK(reg["role"] == "rider");
  CHECK(reg["email"] == "ann@example.com");
  CHECK(reg["created_at_ms"] == t0_ms);
  CHECK(reg.find("password_hash") == reg.end());
  auto claims = tokens->verify(reg["token"].get<std::string>());
  REQUIRE(claims.ok());
  CHECK(claims->subject == "r-101");

  auto login = call("POST", "/api/login", {},
                    json{{"email", "ann@example.com"}, {"password", "correct horse"}}.dump());
  REQUIRE(login.status == 200);
  CHECK(login.j()["id"] == "r-101");
  CHECK(login.j()["role"] == "rider");
  auto me = call("GET", "/api/users/r-101", login.j()["token"].get<std::string>());
  CHECK(me.status == 200);
  CHECK(me.j()["name"] == "Alex");

  // Drivers register on /api/drivers without naming the role.
  auto d = call(
      "POST", "/api/drivers", {},
      json{{"name", "Dana"}, {"email", "dana@example.com"}, {"password", "drive-safe!"}}.dump());
  REQUIRE(d.status == 201);
  CHECK(d.j()["id"] == "d-102");
  CHECK(d.j()["role"] == "driver");
  auto dr = call("GET", "/api/drivers/d-102", d.j()["token"].get<std::string>());
  CHECK(dr.status == 200);
  CHECK(dr.j()["suspended"] == false);
  auto as_rider = call(
      "POST", "/api/drivers", {},
      json{
          {"role", "rider"}, {"name", "X"}, {"email", "x@example.com"}, {"password", "long-enough"}}
          .dump());
  CHECK(as_rider.status == 400);
  CHECK(as_rider.code() == "invalid_argument");
}

TEST_CASE_FIXTURE(api_fixture, "registration and login refusals") {
  signup("rider", "ann@example.com");
  auto dup = call("POST", "/api/users", {},
                  json{{"role", "driver"},
                       {"name", "B"},
                       {"email", "ANN@example.com"},
                       {"password", "whatever-1"}}
                      .dump());
  CHECK(dup.status == 409);
  CHECK(dup.code() == "duplicate_id");
  CHECK(stats.errors(errc::duplicate_id) == 1);

  auto wrong = call("POST", "/api/login", {},
                    json{{"email", "ann@example.com"}, {"password", "wrong horse"}}.dump());
  CHECK(wrong.status == 401);
  CHECK(wrong.code() == "unauthenticated");
  auto nobody = call("POST", "/api/login", {},
                     json{{"email", "nobody@example.com"}, {"password", "wrong horse"}}.dump());
  CHECK(nobody.status == 401);
  CHECK(nobody.j()["error"]["message"] == wrong.j()["error"]["message"]);

  auto admin_reg = call("POST", "/api/users", {},
                        json{{"role", "admin"},
                             {"name", "Root"},
                             {"email", "root@example.com"},
                             {"password", "long-enough"}}
                            .dump());
  CHECK(admin_reg.status == 400);
  CHECK(call("POST", "/api/users", {}, "{not json").code() == "bad_json");
  CHECK(call("POST", "/api/users", {}, "[1,2]").code() == "bad_json");
  CHECK(call("POST", "/api/users", {}, R"({"role":"rider","name":"A","email":"a@b.co"})").code() ==
        "missing_field");
  CHECK(call("POST", "/api/users", {},
             R"({"role":"rider","name":"A","email":"a@b.co",)"
             R"("password":12345678})")
            .code() == "invalid_argument");
  CHECK(call("POST", "/api/users", {},
             R"({"role":"rider","name":"A","email":"a@b.co",)"
             R"("password":"12345678","is_admin":true})")
            .code() == "invalid_argument");
  CHECK(call("POST", "/api/users", {},
             R"({"role":"rider","name":"A","email":"a@b.co",)"
             R"("password":"short"})")
            .code() == "invalid_argument");
  CHECK(users.size() == 1);
}

TEST_CASE_FIXTURE(api_fixture, "missing, garbage, wrong-scheme and expired tokens are 401") {
  const json reg = signup("rider", "ann@example.com");
  const std::string token = reg["token"];
  CHECK(call("GET", "/api/users/r-101").code() == "unauthenticated");
  CHECK(call("GET", "/api/users/r-101", "garbage.token.here").code() == "unauthenticated");
  gateway::http_request basic;
  basic.method = "GET";
  basic.path = "/api/users/r-101";
  basic.authorization = "Basic " + token;
  int status = 0;
  api->handle(basic, [&](gateway::http_response r) { status = r.status; });
  CHECK(status == 401);
  const auto other_key = auth::token_authority::create(std::string(48, 'x'), "rideshard",
                                                       [c = clock] { return c->load() / 1000; });
  REQUIRE(other_key.ok());
  CHECK(call("GET", "/api/users/r-101", *other_key->mint("r-101", auth::role::rider, 60)).status ==
        401);
  CHECK(call("GET", "/api/users/r-101", token).status == 200);
  clock->fetch_add((ttl_s + 31) * 1000);
  auto expired = call("GET", "/api/users/r-101", token);
  CHECK(expired.status == 401);
  CHECK(expired.code() == "token_expired");
  CHECK(stats.errors(errc::token_expired) == 1);
  CHECK(stats.errors(errc::unauthenticated) == 4);
}

TEST_CASE_FIXTURE(api_fixture, "accounts: self or admin; suspension is admin-only") {
  const std::string ann = signup("rider", "ann@example.com")["token"];
  const std::string bob = signup("rider", "bob@example.com")["token"];
  const std::string dana = signup("driver", "dana@example.com")["token"];  // d-103

  auto peek = call("GET", "/api/users/r-102", ann);
  CHECK(peek.status == 403);
  CHECK(peek.code() == "forbidden");
  CHECK(stats.errors(errc::forbidden) == 1);
  CHECK(call("PUT", "/api/users/r-102", ann, R"({"name":"Mallory"})").status == 403);
  CHECK(call("DELETE", "/api/users/r-102", ann).status == 403);
  CHECK(call("GET", "/api/drivers/d-103", ann).status == 403);
  CHECK(call("GET", "/api/users/r-102", admin).status == 200);
  CHECK(call("GET", "/api/users/r-999", admin).code() == "unknown_rider");
  CHECK(call("GET", "/api/drivers/d-999", admin).code() == "unknown_driver");
  CHECK(call("GET", "/api/drivers/r-101", admin).code() == "invalid_argument");
  CHECK(call("GET", "/api/users/banana", admin).status == 400);

  // Self-service update, including the password.
  auto upd = call("PUT", "/api/users/r-101", ann, R"({"name":"Ann B","password":"new-secret-1"})");
  REQUIRE(upd.status == 200);
  CHECK(upd.j()["name"] == "Ann B");
  CHECK(call("POST", "/api/login", {}, R"({"email":"ann@example.com","password":"new-secret-1"})")
            .status == 200);
  CHECK(call("PUT", "/api/users/r-101", ann, R"({"suspended":false})").status == 403);
  CHECK(call("PUT", "/api/users/r-101", ann, R"({"role":"admin"})").code() == "invalid_argument");
  CHECK(call("PUT", "/api/users/r-101", ann, R"({"email":"bob@example.com"})").status == 409);

  // Only admins suspend drivers; a suspended driver can neither log in nor use its token.
  CHECK(call("PUT", "/api/drivers/d-103/status", dana, R"({"suspended":true})").status == 403);
  CHECK(call("PUT", "/api/drivers/d-103/status", admin, R"({})").code() == "missing_field");
  auto sus = call("PUT", "/api/drivers/d-103/status", admin, R"({"suspended":true})");
  REQUIRE(sus.status == 200);
  CHECK(sus.j()["suspended"] == true);
  auto login =
      call("POST", "/api/login", {}, R"({"email":"dana@example.com","password":"correct horse"})");
  CHECK(login.status == 403);
  CHECK(call("GET", "/api/drivers/d-103", dana).status == 403);
  CHECK(call("PUT", "/api/drivers/d-103/status", admin, R"({"suspended":false})").status == 200);
  CHECK(call("GET", "/api/drivers/d-103", dana).status == 200);

  // Delete: 204, then the account is gone.
  auto del = call("DELETE", "/api/users/r-102", bob);
  CHECK(del.status == 204);
  CHECK(del.body.empty());
  CHECK(call("GET", "/api/users/r-102", admin).status == 404);
}

TEST_CASE_FIXTURE(api_fixture, "nearby: validation and results") {
  const std::string rider = signup("rider", "ann@example.com")["token"];
  auto code = [&](std::map<std::string, std::string> q) {
    auto r = call("GET", "/api/drivers/nearby", rider, {}, std::move(q));
    CHECK(r.status == 400);
    return r.code();
  };
  CHECK(call("GET", "/api/drivers/nearby", {}, {}, nearby_query("40.75", "-73.98")).status == 401);
  CHECK(code({{"lon", "-73.98"}, {"radius_m", "100"}, {"k", "1"}}) == "invalid_argument");
  CHECK(code(nearby_query("abc", "-73.98")) == "invalid_argument");
  CHECK(code(nearby_query("40.75x", "-73.98")) == "invalid_argument");
  CHECK(code(nearby_query("nan", "-73.98")) == "invalid_argument");
  CHECK(code(nearby_query("40.75", "-73.98", "")) == "invalid_argument");
  CHECK(code(nearby_query("95", "-73.98")) == "invalid_coordinate");
  CHECK(code(nearby_query("40.75", "-190")) == "invalid_coordinate");
  CHECK(code(nearby_query("40.75", "-73.98", "0")) == "invalid_radius");
  CHECK(code(nearby_query("40.75", "-73.98", "-5")) == "invalid_radius");
  CHECK(code(nearby_query("40.75", "-73.98", "1e9")) == "invalid_radius");
  CHECK(code(nearby_query("40.75", "-73.98", "100", "0")) == "invalid_k");
  CHECK(code(nearby_query("40.75", "-73.98", "100", "5000")) == "invalid_k");
  CHECK(code(nearby_query("10", "10")) == "out_of_region");
  CHECK(code(nearby_query("40.75", "-73.98", "100", "-1")) == "invalid_argument");
  CHECK(code(nearby_query("40.75", "-73.98", "100", "2.5")) == "invalid_argument");
  CHECK(code(nearby_query("40.75", "-73.98", "100", "99999999999999999999999")) ==
        "invalid_argument");
  CHECK(stats.errors(errc::invalid_coordinate) == 2);

  const std::string d = mint("d-7", auth::role::driver);
  auto conn = online_driver(d, lat_lng{center.lat + 300 / 111'195.0, center.lng});
  // go_online is acknowledged by the driver actor; the matcher indexes the driver
  // a moment later. Wait for that event through the API itself (bounded, no sleep).
  auto q = nearby_query(std::to_string(center.lat), std::to_string(center.lng), "2000", "5");
  reply r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    r = call("GET", "/api/drivers/nearby", rider, {}, q);
    REQUIRE_MESSAGE(r.status == 200, r.body);
  } while (r.j()["drivers"].empty() && std::chrono::steady_clock::now() < deadline);
  auto drivers = r.j()["drivers"];
  REQUIRE(drivers.size() == 1);
  CHECK(drivers[0]["id"] == "d-7");
  CHECK(drivers[0]["distance_m"].get<double>() == doctest::Approx(300).epsilon(0.02));
  CHECK(drivers[0]["lat"].get<double>() == doctest::Approx(center.lat + 300 / 111'195.0));
  CHECK(drivers[0].contains("lng"));
  auto tiny = call("GET", "/api/drivers/nearby", rider, {},
                   nearby_query(std::to_string(center.lat), std::to_string(center.lng), "100"));
  CHECK(tiny.j()["drivers"].empty());
}

TEST_CASE_FIXTURE(api_fixture,
                  "trips: lookup with RBAC; request validation; history needs a store") {
  const std::string ann = mint("r-1", auth::role::rider);
  const std::string bob = mint("r-2", auth::role::rider);
  const std::string d7 = mint("d-7", auth::role::driver);
  const std::string d8 = mint("d-8", auth::role::driver);
  auto driver = online_driver(d7, lat_lng{center.lat + 300 / 111'195.0, center.lng});

  auto rider = std::make_shared<test::fake_connection>(next_conn++, gateway::endpoint::rider);
  node->on_open(rider);
  node->on_message(rider, {1, schemas::hello{ann, "test", false}});
  REQUIRE(rider->wait<schemas::welcome>());
  node->on_message(
      rider, {2, schemas::ride_request{{}, center, lat_lng{center.lat + 0.02, center.lng + 0.01}}});
  auto requested = rider->wait<schemas::trip_status>();
  REQUIRE(requested);
  const std::string trip = to_string(requested->second.trip);
  auto offer = driver->wait<schemas::offer>();
  REQUIRE(offer);
  node->on_message(driver, {4, schemas::accept_offer{requested->second.trip}});
  REQUIRE(driver->wait<schemas::trip_status>());

  auto mine = call("GET", "/api/trips/" + trip, ann);
  REQUIRE_MESSAGE(mine.status == 200, mine.body);
  CHECK(mine.j()["id"] == trip);
  CHECK(mine.j()["state"] == "accepted");
  CHECK(mine.j()["rider"] == "r-1");
  CHECK(mine.j()["driver"] == "d-7");
  CHECK(mine.j()["pin"].get<std::string>().size() >= 4);
  auto drv = call("GET", "/api/trips/" + trip, d7);
  CHECK(drv.status == 200);
  CHECK_FALSE(drv.j().contains("pin"));
  auto adm = call("GET", "/api/trips/" + trip, admin);
  CHECK(adm.status == 200);
  CHECK_FALSE(adm.j().contains("pin"));
  CHECK(call("GET", "/api/trips/" + trip, bob).code() == "forbidden");
  CHECK(call("GET", "/api/trips/" + trip, d8).code() == "forbidden");
  CHECK(call("GET", "/api/trips/" + trip).status == 401);
  CHECK(call("GET", "/api/trips/t-123", ann).code() == "unknown_trip");
  CHECK(call("GET", "/api/trips/t-0", ann).code() == "invalid_argument");
  CHECK(call("GET", "/api/trips/r-1", ann).code() == "invalid_argument");

  // Creation, transitions and history are covered in api_trips.test.cpp; here:
  // validation, and history on a node without a store.
  CHECK(call("POST", "/api/trips", ann, "{}").code() == "missing_field");
  CHECK(call("PUT", "/api/trips/" + trip + "/status", d7, R"({"state":"completed"})").code() ==
        "invalid_argument");
  auto history = call("GET", "/api/trips/history", ann);
  CHECK(history.status == 503);
  CHECK(history.code() == "unavailable");
  CHECK(call("POST", "/api/trips", {}, "{}").status == 401);
}

TEST_CASE_FIXTURE(api_fixture, "health reports status, checks and uptime") {
  clock->fetch_add(90'500);
  auto r = call("GET", "/health");
  REQUIRE(r.status == 200);
  const json h = r.j();
  CHECK(h["status"] == "healthy");
  CHECK(h["version"] == "9.9.9");
  CHECK(h["timestamp"] == "2025-06-15T15:08:10.500Z");
  CHECK(h["uptime_seconds"] == 90);
  CHECK(h["checks"]["actors"]["status"] == "ok");
  CHECK(h["checks"]["actors"]["live_entities"].is_number_unsigned());
  CHECK(h["checks"]["outbox"]["status"] == "not_configured");
  CHECK(h["checks"]["cluster"]["status"] == "not_configured");  // no [cluster]: a single node
}

TEST_CASE("health is degraded while the outbox fails") {
  std::atomic<bool> ok{false};
  api_fixture f{[&ok] {
    api::outbox_health h;
    h.broker_configured = true;
    h.broker_reachable = ok.load();
    h.depth = 42;
    h.oldest_age_ms = 1500;
    return h;
  }};
  auto r = f.call("GET", "/health");
  CHECK(r.status == 200);
  CHECK(r.j()["status"] == "degraded");
  CHECK(r.j()["checks"]["outbox"]["status"] == "failing");
  CHECK(r.j()["checks"]["outbox"]["broker"] == "unreachable");
  CHECK(r.j()["checks"]["outbox"]["depth"] == 42);
  CHECK(r.j()["checks"]["outbox"]["oldest_age_ms"] == 1500);
  ok = true;
  auto healthy = f.call("GET", "/health").j();
  CHECK(healthy["status"] == "healthy");
  CHECK(healthy["checks"]["outbox"]["broker"] == "reachable");
}

TEST_CASE("health is degraded while the embedded outbox nears its retention bound") {
  std::atomic<std::uint64_t> rows{79'999};
  api_fixture f{[&rows] {
    api::outbox_health h;  // embedded default: no broker, retention on
    h.depth = rows.load() + 500;
    h.analytics_rows = rows.load();
    h.analytics_max_rows = 100'000;
    h.analytics_max_age_ms = 600'000;
    h.oldest_analytics_age_ms = 599'000;
    h.dropped = 1234;
    return h;
  }};
  // Dropping by age (oldest event near max_age) is the policy working: healthy.
  auto below = f.call("GET", "/health").j();
  CHECK(below["status"] == "healthy");
  CHECK(below["checks"]["outbox"]["status"] == "ok");
  CHECK(below["checks"]["outbox"]["broker"] == "not_configured");
  const json retention = below["checks"]["outbox"]["retention"];
  CHECK(retention["analytics_rows"] == 79'999);
  CHECK(retention["max_rows"] == 100'000);
  CHECK(retention["max_age_ms"] == 600'000);
  CHECK(retention["oldest_age_ms"] == 599'000);
  CHECK(retention["dropped"] == 1234);
  CHECK(retention["near_bound"] == false);
  rows = 80'000;  // 80% of the size bound
  auto near = f.call("GET", "/health");
  CHECK(near.status == 200);
  CHECK(near.j()["status"] == "degraded");
  CHECK(near.j()["checks"]["outbox"]["status"] == "near_bound");
  CHECK(near.j()["checks"]["outbox"]["retention"]["near_bound"] == true);
}

TEST_CASE_FIXTURE(api_fixture, "unknown routes are 404, wrong methods 405") {
  for (const char* path : {"/api/nope", "/api", "/api/users/r-1/extra", "/", "/api/users/",
                           "/healthz", "/api/trips/t-1/status/x"}) {
    CAPTURE(path);
    auto r = call("GET", path, admin);
    CHECK(r.status == 404);
    CHECK(r.code() == "not_found");
  }
  auto m = call("DELETE", "/api/login");
  CHECK(m.status == 405);
  CHECK(m.code() == "method_not_allowed");
  CHECK(call("POST", "/health").status == 405);
  CHECK(call("PUT", "/api/drivers/nearby", admin).status == 405);
  CHECK(call("GET", "/api/trips", admin).status == 405);
  auto users_id = call("POST", "/api/users/r-1", admin);
  CHECK(users_id.status == 405);
  CHECK(users_id.j()["error"]["message"] == "allowed: GET, PUT, DELETE");
}

TEST_CASE_FIXTURE(api_fixture,
                  "with workers, /api/ answers from a worker thread; a full queue is 503") {
  api::api_options opts;
  opts.now_ms = [c = clock] { return c->load(); };
  opts.worker_threads = 1;
  opts.max_queued = 1;
  api::http_api async(*node, *tokens, users, stats, std::move(opts));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, std::thread::id>> answers;
  auto ask = [&](std::string path) {
    gateway::http_request req;
    req.method = "GET";
    req.path = std::move(path);
    req.authorization = "Bearer " + admin;
    async.handle(std::move(req), [&](gateway::http_response r) {
      std::lock_guard<std::mutex> lock{mu};
      answers.emplace_back(r.status, std::this_thread::get_id());
      cv.notify_all();
    });
  };
  // A burst larger than one worker + one queued slot: every request is answered
  // exactly once, the overflow with 503, none on this (the "I/O") thread.
  for (int i = 0; i < 20; ++i) ask("/api/users/u-999999");
  std::unique_lock<std::mutex> lock{mu};
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answers.size() == 20; }));
  int served = 0, busy = 0;
  for (const auto& [status, tid] : answers) {
    if (status == 503) {
      ++busy;
    } else {
      ++served;
      CHECK(status != 200);  // no such user: an error, but answered by a worker
      CHECK(tid != std::this_thread::get_id());
    }
  }
  CHECK(served >= 1);
  CHECK(served + busy == 20);
}

TEST_CASE_FIXTURE(api_fixture,
                  "a region switch moves only once its audit entry is written; else 500") {
  // serve restores the switches from the audit log at start: a switch the log
  // does not hold would be lost by a restart, so it must not move at all.
  struct logged {
    api::audit_entry entry;
    bool nyc_paused_then = false;  ///< the switch as the write found it
  };
  auto log = std::make_shared<std::vector<logged>>();
  auto failing = std::make_shared<bool>(false);
  auto nyc = [n = node.get()] {
    for (const auto& s : n->switches())
      if (s.region == "nyc") return s;
    FAIL("no nyc region");
    return node::region_switches{};
  };
  api::api_options opts;
  opts.now_ms = [c = clock] { return c->load(); };
  opts.audit = [log, failing, nyc](api::audit_entry& e) -> result<void> {
    if (*failing) return error{errc::storage_error, "disk full"};
    e.id = log->size() + 1;
    log->push_back({e, nyc().dispatch_paused});
    return {};
  };
  api = std::make_unique<api::http_api>(*node, *tokens, users, stats, std::move(opts));

  auto paused = call("POST", "/api/admin/regions/nyc/pause-dispatch", admin);
  REQUIRE_MESSAGE(paused.status == 200, paused.body);
  CHECK(nyc().dispatch_paused);
  REQUIRE(log->size() == 1);  // one entry, written before the switch moved
  CHECK(log->at(0).entry.status == 200);
  CHECK(log->at(0).entry.action == "POST /api/admin/regions/{id}/pause-dispatch");
  CHECK(log->at(0).entry.target == "nyc");
  CHECK_FALSE(log->at(0).nyc_paused_then);

  *failing = true;
  auto frozen = call("POST", "/api/admin/regions/nyc/freeze-surge", admin);
  CHECK(frozen.status == 500);
  CHECK(frozen.code() == "storage_error");
  CHECK_FALSE(nyc().surge_frozen);  // not changed: it would not survive a restart
  auto resumed = call("POST", "/api/admin/regions/nyc/resume-dispatch", admin);
  CHECK(resumed.status == 500);
  CHECK(nyc().dispatch_paused);  // still as the log has it
  CHECK(stats.security_events("audit_write_failed") == 2);
  CHECK(stats.errors(errc::storage_error) == 2);
  CHECK(log->size() == 1);

  *failing = false;
  auto unknown = call("POST", "/api/admin/regions/atlantis/freeze-surge", admin);
  CHECK(unknown.status == 400);
  CHECK(unknown.code() == "out_of_region");
  REQUIRE(log->size() == 2);  // the refusal is audited as answered, after the fact
  CHECK(log->at(1).entry.status == 400);
  auto again = call("POST", "/api/admin/regions/nyc/resume-dispatch", admin);
  CHECK(again.status == 200);
  CHECK_FALSE(nyc().dispatch_paused);
  CHECK(log->size() == 3);
}

TEST_CASE_FIXTURE(api_fixture, "responses name their route template, never the raw path") {
  auto route_of = [&](std::string method, std::string path) {
    gateway::http_request req;
    req.method = std::move(method);
    req.path = std::move(path);
    std::string route = "<none>";
    api->handle(std::move(req), [&](gateway::http_response r) { route = r.route; });
    return route;
  };
  CHECK(route_of("GET", "/api/users/abc") == "/api/users/{id}");  // 401, still the template
  CHECK(route_of("DELETE", "/api/users/r-1") == "/api/users/{id}");
  CHECK(route_of("GET", "/api/trips/history") == "/api/trips/history");
  CHECK(route_of("PATCH", "/api/drivers/d-1/status") == "/api/drivers/{id}/status");  // 405
  CHECK(route_of("GET", "/health") == "/health");
  CHECK(route_of("GET", "/api/nothing/here") == "");  // 404: the gateway labels it "unmatched"
}

TEST_CASE_FIXTURE(api_fixture,
                  "login throttling: per account, then per client address; typed 429") {
  signup("rider", "ann@example.com");
  auto login = [&](const std::string& email, const std::string& password, const std::string& from) {
    gateway::http_request req;
    req.method = "POST";
    req.path = "/api/login";
    req.body = json{{"email", email}, {"password", password}}.dump();
    req.client_address = from;
    reply out{0, {}};
    api->handle(std::move(req), [&](gateway::http_response r) { out = reply{r.status, r.body}; });
    return out;
  };
  // Five wrong passwords for one account (default limit), from two addresses.
  for (int i = 0; i < 5; ++i)
    CHECK(login("ann@example.com", "wrong-guess", i % 2 ? "10.0.0.1" : "10.0.0.2").status == 401);
  // Now even the right password is refused, before any hashing, with a typed error.
  auto locked = login("Ann@Example.com", "correct horse", "10.0.0.3");
  CHECK(locked.status == 429);
  CHECK(locked.code() == "rate_limited");
  CHECK(stats.security_events("login_throttled_account") == 1);
  CHECK(stats.errors(errc::rate_limited) == 1);
  // The window passes: the account may log in again; success clears its count.
  clock->fetch_add(15 * 60 * 1000);
  CHECK(login("ann@example.com", "correct horse", "10.0.0.3").status == 200);

  // One address guessing across many accounts: 20 failures, then that address is refused.
  for (int i = 0; i < 20; ++i)
    CHECK(login("user" + std::to_string(i) + "@example.com", "nope-nope", "10.9.9.9").status ==
          401);
  auto spray = login("ann@example.com", "correct horse", "10.9.9.9");
  CHECK(spray.status == 429);
  CHECK(spray.code() == "rate_limited");
  CHECK(stats.security_events("login_throttled_address") == 1);
  CHECK(login("ann@example.com", "correct horse", "10.0.0.4").status == 200);  // others unaffected
}
