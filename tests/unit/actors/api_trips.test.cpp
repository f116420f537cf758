// The trip endpoints of http_api over a durable dispatch node (RocksDB store in
// a temp dir): POST /api/trips, PUT /api/trips/{id}/status, GET /api/trips/history,
// with the driver playing its app over the node's WebSocket handler.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "../persistence/temp_dir.hpp"
#include "api/http_api.hpp"
#include "auth/jwt.hpp"
#include "auth/user_store.hpp"
#include "gateway/metrics.hpp"
#include "node/dispatch_node.hpp"
#include "node_harness.hpp"
#include "rideshard/persistence/store.hpp"

using namespace rideshard;
using json = nlohmann::json;

namespace {

constexpr std::int64_t start_ms = 1'750'000'000'000;
constexpr std::int64_t ttl_s = 3600;
const auth::password_params fast{1, 64, 1, 16, 32};

struct reply {
  int status = 0;
  std::string body;
  json j() const { return body.empty() ? json() : json::parse(body); }
  std::string code() const { return j()["error"]["code"].get<std::string>(); }
};

json point(lat_lng p) { return json{{"lat", p.lat}, {"lng", p.lng}}; }

/// A node (durable unless `durable` is false), the API over it, and helpers
/// that play the rider over HTTP and the driver over the WebSocket handler.
struct trips_fixture {
  test::temp_dir dir;
  std::unique_ptr<persistence::store> store;
  std::shared_ptr<std::atomic<std::int64_t>> clock =
      std::make_shared<std::atomic<std::int64_t>>(start_ms);
  std::optional<auth::token_authority> tokens;
  std::uint64_t next_id = 100;
  auth::user_store users{[this] { return ++next_id; }, [c = clock] { return c->load(); }, fast};
  gateway::metrics stats;
  std::unique_ptr<node::dispatch_node> node;
  std::unique_ptr<api::http_api> api;
  lat_lng center{40.754, -73.984};  // Midtown Manhattan
  std::string admin;
  std::uint64_t next_conn = 1;
  std::uint64_t next_seq = 10;

  explicit trips_fixture(bool durable = true) {
    if (durable) {
      persistence::store_options so;
      so.path = dir.sub("db");
      so.sync = false;  // durability itself is tested in persistence/; this tests the API
      auto s = persistence::store::open(so);
      REQUIRE(s.ok());
      store = std::move(s).value();
    }
    auto c = clock;
    auto t = auth::token_authority::create(std::string(48, 's'), "rideshard",
                                           [c] { return c->load() / 1000; });
    REQUIRE(t.ok());
    tokens.emplace(std::move(t).value());
    auto r =
        load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
    REQUIRE(r.ok());
    node::dispatch_options o;
    o.now_ms = [c] { return c->load(); };
    o.offer_timeout = std::chrono::seconds(30);
    o.stats = &stats;  // node and API share it: a refusal must be counted once
    o.store = store.get();
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
    opts.token_ttl_s = ttl_s;
    opts.now_ms = [c] { return c->load(); };
    api = std::make_unique<api::http_api>(*node, *tokens, users, stats, std::move(opts));
    admin = mint("admin-ops", auth::role::admin);
  }
  ~trips_fixture() {
    api.reset();
    node.reset();  // stops every actor before the store closes
  }

  std::string mint(const std::string& sub, auth::role r) {
    auto t = tokens->mint(sub, r, ttl_s);
    REQUIRE(t.ok());
    return *t;
  }

  reply call(std::string method, std::string path, const std::string& token, std::string body = {},
             std::map<std::string, std::string> query = {}) {
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
    REQUIRE(calls == 1);
    return *out;
  }

  lat_lng north(double m) const { return {center.lat + m / 111'195.0, center.lng}; }
  json ride_body() const {
    return json{{"pickup", point(center)},
                {"dropoff", point({center.lat + 0.02, center.lng + 0.01})}};
  }
  /// POST /api/trips as `rider`; REQUIREs 201 and returns the trip JSON.
  json request_ride(const std::string& rider) {
    auto r = call("POST", "/api/trips", rider, ride_body().dump());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.j();
  }
  reply put_status(const std::string& token, const std::string& trip, json body) {
    return call("PUT", "/api/trips/" + trip + "/status", token, body.dump());
  }

  /// Plays a driver app over the node's ws_handler: hello, one fix, go online.
  test::fake_ptr online_driver(const std::string& token, lat_lng pos) {
    auto c = std::make_shared<test::fake_connection>(next_conn++, gateway::endpoint::driver);
    node->on_open(c);
    node->on_message(c, {next_seq++, schemas::hello{token, "test", false}});
    REQUIRE(c->wait<schemas::welcome>());
    schemas::location_sample s;
    s.pos = pos;
    s.timestamp_ms = clock->load();
    node->on_message(c, {next_seq++, schemas::location_batch{{s}}});
    REQUIRE(c->wait<schemas::ack>());
    node->on_message(c, {next_seq++, schemas::go_online{}});
    REQUIRE(c->wait<schemas::ack>());
    return c;
  }
  /// The driver receives the offer of `trip` and accepts it over WebSocket.
  void accept_over_ws(const test::fake_ptr& driver, const std::string& trip) {
    auto offer =
        driver->wait<schemas::offer>([&](const schemas::server_message&, const schemas::offer& o) {
          return to_string(o.trip) == trip;
        });
    REQUIRE(offer);
    node->on_message(driver, {next_seq++, schemas::accept_offer{offer->second.trip}});
    auto accepted = driver->wait<schemas::trip_status>(
        [&](const schemas::server_message&, const schemas::trip_status& s) {
          return to_string(s.trip) == trip && s.state == trip_state::accepted;
        });
    REQUIRE(accepted);
  }
  /// A whole ride: HTTP request, WebSocket accept, HTTP arrive/start/complete.
  std::string completed_ride(const std::string& rider, const std::string& driver_token,
                             const test::fake_ptr& driver) {
    auto created = request_ride(rider);
    const std::string trip = created["id"];
    accept_over_ws(driver, trip);
    REQUIRE(put_status(driver_token, trip, {{"status", "driver_arrived"}}).status == 200);
    REQUIRE(put_status(driver_token, trip, {{"status", "in_progress"}, {"pin", created["pin"]}})
                .status == 200);
    REQUIRE(put_status(driver_token, trip, {{"status", "completed"}}).status == 200);
    return trip;
  }
};

}  // namespace

TEST_CASE_FIXTURE(trips_fixture,
                  "a ride over HTTP: request, WebSocket accept, arrive/start/complete") {
  const std::string ann = mint("r-1", auth::role::rider);
  const std::string d7 = mint("d-7", auth::role::driver);
  auto driver = online_driver(d7, north(300));

  auto created = request_ride(ann);
  const std::string trip = created["id"];
  CHECK(created["state"] == "requested");
  CHECK(created["rider"] == "r-1");
  CHECK(created["driver"].is_null());
  CHECK(created["pickup"]["lat"] == doctest::Approx(center.lat));
  const std::string pin = created["pin"];
  CHECK(pin.size() == 4);
  // 201 comes after `requested` is durable: the store already holds the trip.
  auto stored = store->load_entity(persistence::entity_kind::trip, std::stoull(trip.substr(2)));
  REQUIRE(stored.ok());
  CHECK(stored->has_value());

  accept_over_ws(driver, trip);

  auto arrived = put_status(d7, trip, {{"status", "driver_arrived"}});
  REQUIRE_MESSAGE(arrived.status == 200, arrived.body);
  CHECK(arrived.j()["state"] == "driver_arrived");
  CHECK(arrived.j()["driver"] == "d-7");
  CHECK_FALSE(arrived.j().contains("pin"));  // drivers never read the PIN

  auto wrong = put_status(d7, trip, {{"status", "in_progress"}, {"pin", "0000"}});
  CHECK(wrong.status == 400);
  CHECK(wrong.code() == "wrong_pin");
  CHECK(stats.errors(errc::wrong_pin) == 1);  // counted once, by the API
  auto no_pin = put_status(d7, trip, {{"status", "in_progress"}});
  CHECK(no_pin.code() == "missing_field");

  auto started = put_status(d7, trip, {{"status", "in_progress"}, {"pin", pin}});
  REQUIRE_MESSAGE(started.status == 200, started.body);
  CHECK(started.j()["state"] == "in_progress");

  auto rider_completes = put_status(ann, trip, {{"status", "completed"}});
  CHECK(rider_completes.status == 403);
  CHECK(rider_completes.code() == "forbidden");
  auto rider_cancels_running = put_status(ann, trip, {{"status", "cancelled"}});
  CHECK(rider_cancels_running.status == 409);  // engine rule: not while in progress
  CHECK(rider_cancels_running.code() == "illegal_transition");

  auto done = put_status(d7, trip, {{"status", "completed"}});
  REQUIRE_MESSAGE(done.status == 200, done.body);
  CHECK(done.j()["state"] == "completed");
  // The WebSocket sees the same transitions (pushed by the trip actor).
  auto pushed = driver->wait<schemas::trip_status>(
      [&](const schemas::server_message&, const schemas::trip_status& s) {
        return to_string(s.trip) == trip && s.state == trip_state::completed;
      });
  CHECK(pushed);
  // The driver actor no longer holds the finished trip: "only my trip" refuses.
  CHECK(put_status(d7, trip, {{"status", "completed"}}).code() == "forbidden");
  auto mine = call("GET", "/api/trips/" + trip, ann);
  CHECK(mine.j()["state"] == "completed");
  CHECK(mine.j()["pin"] == pin);
}

TEST_CASE_FIXTURE(trips_fixture, "trip requests and transitions: refusals and cancels") {
  const std::string ann = mint("r-1", auth::role::rider);
  const std::string bob = mint("r-2", auth::role::rider);
  const std::string d7 = mint("d-7", auth::role::driver);
  const std::string d8 = mint("d-8", auth::role::driver);
  auto driver = online_driver(d7, north(300));

  auto created = request_ride(ann);
  const std::string trip = created["id"];

  SUBCASE("one active trip per rider") {
    auto second = call("POST", "/api/trips", ann, ride_body().dump());
    CHECK(second.status == 409);
    CHECK(second.code() == "illegal_transition");
  }
  SUBCASE("someone else's trip") {
    auto r = put_status(bob, trip, {{"status", "cancelled"}});
    CHECK(r.status == 403);
    CHECK(r.code() == "forbidden");
    accept_over_ws(driver, trip);
    CHECK(put_status(d8, trip, {{"status", "driver_arrived"}}).code() == "forbidden");
    CHECK(put_status(bob, "t-999999", {{"status", "cancelled"}}).code() == "unknown_trip");
    CHECK(put_status(d8, "t-999999", {{"status", "completed"}}).code() == "unknown_trip");
    CHECK(call("GET", "/api/trips/" + trip, bob).code() == "forbidden");
  }
  SUBCASE("body and role validation") {
    auto body = ride_body();
    body["pickup"]["lat"] = 100.0;
    CHECK(call("POST", "/api/trips", bob, body.dump()).code() == "invalid_coordinate");
    body = ride_body();
    body["dropoff"] = point({0.0, 0.0});
    CHECK(call("POST", "/api/trips", bob, body.dump()).code() == "out_of_region");
    body = ride_body();
    body.erase("dropoff");
    CHECK(call("POST", "/api/trips", bob, body.dump()).code() == "missing_field");
    body = ride_body();
    body["fare"] = 3;
    CHECK(call("POST", "/api/trips", bob, body.dump()).code() == "invalid_argument");
    body = ride_body();
    body["pickup"]["lat"] = "40.7";
    CHECK(call("POST", "/api/trips", bob, body.dump()).code() == "invalid_argument");
    body = ride_body();
    body["quote_id"] = "q-12345";
    CHECK(call("POST", "/api/trips", bob, body.dump()).code() == "invalid_argument");
    CHECK(call("POST", "/api/trips", bob, "[1]").code() == "bad_json");
    CHECK(call("POST", "/api/trips", d7, ride_body().dump()).code() == "forbidden");
    CHECK(call("POST", "/api/trips", admin, ride_body().dump()).code() == "forbidden");
    CHECK(call("POST", "/api/trips", "", ride_body().dump()).status == 401);
    CHECK(put_status(d7, trip, {{"status", "accepted"}}).code() == "invalid_argument");
    CHECK(put_status(d7, trip, {{"state", "cancelled"}}).code() == "invalid_argument");
    CHECK(put_status(d7, "x-1", {{"status", "cancelled"}}).code() == "invalid_argument");
    CHECK(put_status(admin, trip, {{"status", "driver_arrived"}}).code() == "forbidden");
  }
  SUBCASE("the rider cancels, then rides again; an admin cancels that one") {
    auto c = put_status(ann, trip, {{"status", "cancelled"}, {"reason", "changed my mind"}});
    REQUIRE_MESSAGE(c.status == 200, c.body);
    CHECK(c.j()["state"] == "cancelled");
    CHECK(c.j()["cancelled_by"] == "rider");
    CHECK(c.j()["cancel_reason"] == "changed my mind");
    CHECK(c.j().contains("pin"));
    CHECK(put_status(ann, trip, {{"status", "cancelled"}}).status == 403);  // no longer active
    CHECK(put_status(admin, trip, {{"status", "cancelled"}}).code() == "illegal_transition");

    auto again = request_ride(ann);
    const std::string next = again["id"];
    CHECK(next != trip);
    accept_over_ws(driver, next);
    auto adm = put_status(admin, next, {{"status", "cancelled"}, {"reason", "fraud check"}});
    REQUIRE_MESSAGE(adm.status == 200, adm.body);
    CHECK(adm.j()["state"] == "cancelled");
    CHECK(adm.j()["cancelled_by"] == "system");
    CHECK(adm.j()["cancel_reason"] == "admin admin-ops: fraud check");
    CHECK_FALSE(adm.j().contains("pin"));
    // The driver is told over WebSocket, and is free again.
    CHECK(driver->wait<schemas::trip_status>(
        [&](const schemas::server_message&, const schemas::trip_status& s) {
          return to_string(s.trip) == next && s.state == trip_state::cancelled;
        }));
  }
}

TEST_CASE_FIXTURE(trips_fixture, "history from the store: own trips only, admin by party") {
  const std::string ann = mint("r-1", auth::role::rider);
  const std::string bob = mint("r-2", auth::role::rider);
  const std::string d7 = mint("d-7", auth::role::driver);
  const std::string d8 = mint("d-8", auth::role::driver);
  auto driver = online_driver(d7, north(300));

  const std::string done = completed_ride(ann, d7, driver);
  node->on_message(driver, {next_seq++, schemas::go_offline{}});
  REQUIRE(driver->wait<schemas::ack>());
  clock->fetch_add(60'000);
  const std::string active = request_ride(ann)["id"];  // stays requested: nobody online

  auto mine = call("GET", "/api/trips/history", ann);
  REQUIRE_MESSAGE(mine.status == 200, mine.body);
  auto trips = mine.j()["trips"];
  REQUIRE(trips.size() == 2);
  CHECK(trips[0]["id"] == active);  // newest first
  CHECK(trips[1]["id"] == done);
  CHECK(trips[1]["state"] == "completed");
  CHECK(trips[1]["driver"] == "d-7");
  CHECK(trips[1].contains("pin"));

  auto limited = call("GET", "/api/trips/history", ann, {}, {{"limit", "1"}});
  REQUIRE(limited.j()["trips"].size() == 1);
  CHECK(limited.j()["trips"][0]["id"] == active);

  auto drove = call("GET", "/api/trips/history", d7);
  REQUIRE_MESSAGE(drove.status == 200, drove.body);
  REQUIRE(drove.j()["trips"].size() == 1);
  CHECK(drove.j()["trips"][0]["id"] == done);
  CHECK_FALSE(drove.j()["trips"][0].contains("pin"));

  CHECK(call("GET", "/api/trips/history", bob).j()["trips"].empty());
  CHECK(call("GET", "/api/trips/history", d8).j()["trips"].empty());
  CHECK(call("GET", "/api/trips/history", bob, {}, {{"rider", "r-1"}}).code() == "forbidden");
  CHECK(call("GET", "/api/trips/history", d8, {}, {{"driver", "d-7"}}).code() == "forbidden");
  CHECK(call("GET", "/api/trips/history", ann, {}, {{"driver", "d-7"}}).code() == "forbidden");
  CHECK(call("GET", "/api/trips/history", ann, {}, {{"rider", "r-1"}}).j()["trips"].size() == 2);

  auto by_rider = call("GET", "/api/trips/history", admin, {}, {{"rider", "r-1"}});
  CHECK(by_rider.j()["trips"].size() == 2);
  CHECK_FALSE(by_rider.j()["trips"][0].contains("pin"));
  CHECK(call("GET", "/api/trips/history", admin, {}, {{"driver", "d-7"}}).j()["trips"].size() == 1);
  CHECK(call("GET", "/api/trips/history", admin).code() == "missing_field");
  CHECK(
      call("GET", "/api/trips/history", admin, {}, {{"rider", "r-1"}, {"driver", "d-7"}}).code() ==
      "invalid_argument");
  CHECK(call("GET", "/api/trips/history", admin, {}, {{"rider", "d-7"}}).code() ==
        "invalid_argument");
  for (const char* bad : {"0", "101", "x", "-1"})
    CHECK(call("GET", "/api/trips/history", ann, {}, {{"limit", bad}}).code() ==
          "invalid_argument");
}

TEST_CASE("history needs a store: an in-memory node answers 503") {
  trips_fixture f{false};
  auto r = f.call("GET", "/api/trips/history", f.mint("r-1", auth::role::rider));
  CHECK(r.status == 503);
  CHECK(r.code() == "unavailable");
}
