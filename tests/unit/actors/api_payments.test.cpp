// The payment endpoints of http_api over a real payment service (store, vault,
// sandbox PSP): cards in, brand + last 4 out; POST /api/payments with an
// Idempotency-Key (replay, same key other body, concurrent duplicates); refund
// bounds; RBAC for every route; metrics. The ledger invariants are checked after
// every case (payments_fixture).
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/http_api.hpp"
#include "api/ride_gate.hpp"
#include "auth/jwt.hpp"
#include "auth/user_store.hpp"
#include "gateway/metrics.hpp"
#include "node/dispatch_node.hpp"
#include "node_harness.hpp"
#include "payments_fixture.hpp"

using namespace rideshard;
using json = nlohmann::json;

namespace {

constexpr const char* pan = "5555555555554444";  // Mastercard's test number

struct reply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  json j() const { return json::parse(body); }
  std::string code() const { return j()["error"]["code"].get<std::string>(); }
};

struct api_payments_fixture {
  test::payments_fixture pay;
  std::optional<auth::token_authority> tokens;
  auth::user_store users{[] { return 1; }, [] { return test::pay_t0_ms; }};
  gateway::metrics stats;
  std::unique_ptr<node::dispatch_node> node;
  std::unique_ptr<api::http_api> api;

  explicit api_payments_fixture(bool with_payments = true, bool require_method = false) {
    auto t = auth::token_authority::create(std::string(48, 's'), "rideshard",
                                           [] { return test::pay_t0_ms / 1000; });
    REQUIRE(t.ok());
    tokens.emplace(std::move(t).value());
    auto r =
        load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
    REQUIRE(r.ok());
    node::dispatch_options o;
    o.now_ms = [] { return test::pay_t0_ms; };
    auto n = node::dispatch_node::create({std::move(r).value()}, std::move(o),
                                         [](const std::string&) -> result<node::identity> {
                                           return error{errc::forbidden, "no sessions here"};
                                         });
    REQUIRE(n.ok());
    node = std::move(n).value();
    pay.options.observe = [this](std::string_view e, std::int64_t a) {
      stats.payment_event(e, static_cast<double>(a));
    };
    pay.reopen();
    api::api_options opts;
    opts.now_ms = [] { return test::pay_t0_ms; };
    opts.payments = with_payments ? pay.service.get() : nullptr;
    opts.require_payment_method = require_method;
    api = std::make_unique<api::http_api>(*node, *tokens, users, stats, std::move(opts));
  }
  ~api_payments_fixture() {
    api.reset();
    node.reset();
  }

  std::string mint(const std::string& sub, auth::role r) {
    auto t = tokens->mint(sub, r, 3600);
    REQUIRE(t.ok());
    return *t;
  }

  reply call(std::string method, std::string path, const std::string& token, std::string body = {},
             std::string idempotency_key = {}, std::map<std::string, std::string> query = {}) {
    gateway::http_request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.query = std::move(query);
    req.authorization = token.empty() ? std::string() : "Bearer " + token;
    req.body = std::move(body);
    req.idempotency_key = std::move(idempotency_key);
    std::optional<reply> out;
    api->handle(std::move(req), [&](gateway::http_response r) {
      out = reply{r.status, std::move(r.body), std::move(r.headers)};
    });
    REQUIRE(out);  // answered synchronously (no workers)
    return *out;
  }

  std::string add_card(const std::string& rider_token, const char* number = pan) {
    auto r = call(
        "POST", "/api/payments/methods", rider_token,
        json{{"number", number}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}.dump());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.j()["id"];
  }
};

std::string pay_body(std::int64_t amount, const char* driver = "d-9", bool capture = true) {
  return json{{"amount_minor", amount}, {"driver", driver}, {"capture", capture}}.dump();
}

}  // namespace

TEST_CASE("a rider adds a card: brand and last 4 come back, the number never does") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  auto r = f.call(
      "POST", "/api/payments/methods", rider,
      json{{"number", "5555 5555 5555 4444"}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}
          .dump());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(r.j()["brand"] == "mastercard");
  CHECK(r.j()["last4"] == "4444");
  CHECK(r.body.find("5555") == std::string::npos);
  CHECK(r.body.find("tok_") == std::string::npos);

  auto bad = f.call(
      "POST", "/api/payments/methods", rider,
      json{{"number", "5555555555554445"}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}
          .dump());
  CHECK(bad.status == 422);
  CHECK(bad.code() == "invalid_card");
  CHECK(bad.body.find("555555") == std::string::npos);
  auto old =
      f.call("POST", "/api/payments/methods", rider,
             json{{"number", pan}, {"exp_month", 1}, {"exp_year", 2020}, {"cvc", "123"}}.dump());
  CHECK(old.code() == "card_expired");
  auto junk = f.call("POST", "/api/payments/methods", rider, R"({"number": 5555555555554444)");
  CHECK(junk.code() == "bad_json");
  CHECK(junk.body.find("555555") == std::string::npos);
  CHECK(f.stats.payment_events("method_refused") == 2);

  auto list = f.call("GET", "/api/payments/methods", rider);
  REQUIRE(list.status == 200);
  REQUIRE(list.j()["methods"].size() == 1);
  CHECK(list.j()["methods"][0]["last4"] == "4444");
  CHECK(list.body.find("5555") == std::string::npos);
}

TEST_CASE("payment methods RBAC: only the cardholder adds, admins read a named rider's") {
  api_payments_fixture f;
  f.add_card(f.mint("r-7", auth::role::rider));
  const auto admin = f.mint("admin-ops", auth::role::admin);
  const std::string card =
      json{{"number", pan}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}.dump();
  CHECK(f.call("POST", "/api/payments/methods", admin, card).status == 403);
  CHECK(f.call("POST", "/api/payments/methods", f.mint("d-9", auth::role::driver), card).status ==
        403);
  CHECK(f.call("POST", "/api/payments/methods", "", card).status == 401);
  CHECK(f.call("GET", "/api/payments/methods", f.mint("d-9", auth::role::driver)).status == 403);
  CHECK(f.call("GET", "/api/payments/methods", admin).code() == "missing_field");
  auto seen = f.call("GET", "/api/payments/methods", admin, {}, {}, {{"rider", "r-7"}});
  REQUIRE(seen.status == 200);
  CHECK(seen.j()["methods"].size() == 1);
  // Another rider sees only their own (none).
  CHECK(f.call("GET", "/api/payments/methods", f.mint("r-8", auth::role::rider))
            .j()["methods"]
            .empty());
}

TEST_CASE("POST /api/payments: Idempotency-Key required, replayed, bound to the body") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  f.add_card(rider);
  CHECK(f.call("POST", "/api/payments", rider, pay_body(1000)).code() == "missing_field");
  CHECK(f.call("POST", "/api/payments", rider, pay_body(1000), "bad key").code() ==
        "invalid_argument");
  auto first = f.call("POST", "/api/payments", rider, pay_body(1000), "key-1");
  REQUIRE_MESSAGE(first.status == 201, first.body);
  CHECK(first.j()["state"] == "captured");
  CHECK(first.j()["rider"] == "r-7");
  CHECK(first.headers.empty());
  auto again = f.call("POST", "/api/payments", rider, pay_body(1000), "key-1");
  CHECK(again.status == 201);
  CHECK(again.body == first.body);
  REQUIRE(again.headers.size() == 1);
  CHECK(again.headers[0] ==
        std::make_pair(std::string("Idempotent-Replayed"), std::string("true")));
  // The same body with keys in another order is the same request.
  auto reordered = f.call("POST", "/api/payments", rider,
                          R"({"capture": true, "driver": "d-9", "amount_minor": 1000})", "key-1");
  CHECK(reordered.body == first.body);
  auto other = f.call("POST", "/api/payments", rider, pay_body(1001), "key-1");
  CHECK(other.status == 422);
  CHECK(other.code() == "idempotency_conflict");
  CHECK(f.pay.psp.stats().authorizations == 1);
  CHECK(f.stats.payment_events("idempotency_conflict") == 1);
  CHECK(f.stats.payment_success_ratio() == 1.0);
  const std::string metrics = f.stats.render_text();
  CHECK(metrics.find("rideshard_payments_total{event=\"captured\"} 1") != std::string::npos);
  CHECK(metrics.find("rideshard_payment_success_ratio 1") != std::string::npos);
}

TEST_CASE("concurrent duplicates over HTTP get one payment and the same answer") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  f.add_card(rider);
  constexpr int n = 6;
  std::vector<reply> replies(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back(
        [&, i] { replies[i] = f.call("POST", "/api/payments", rider, pay_body(555), "dup"); });
  for (auto& t : threads) t.join();
  for (const auto& r : replies) {
    CHECK(r.status == 201);
    CHECK(r.body == replies[0].body);
  }
  CHECK(f.pay.psp.stats().authorizations == 1);
}

TEST_CASE("declines, riders without a card, drivers and other riders") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  auto none = f.call("POST", "/api/payments", rider, pay_body(100), "k");
  CHECK(none.status == 422);
  CHECK(none.code() == "no_payment_method");
  f.add_card(rider, payments::sandbox_declined_card);
  auto declined = f.call("POST", "/api/payments", rider, pay_body(100), "k2");
  CHECK(declined.status == 402);
  CHECK(declined.code() == "payment_declined");
  CHECK(f.call("POST", "/api/payments", rider, pay_body(100), "k2").body == declined.body);
  CHECK(f.stats.payment_success_ratio() == 0.0);
  CHECK(f.call("POST", "/api/payments", f.mint("d-9", auth::role::driver), pay_body(100), "k3")
            .status == 403);
  auto for_other = f.call("POST", "/api/payments", rider,
                          json{{"amount_minor", 100}, {"rider", "r-8"}}.dump(), "k4");
  CHECK(for_other.status == 403);
}

TEST_CASE("refunds: admin only, full or partial, never more than captured") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  const auto admin = f.mint("admin-ops", auth::role::admin);
  f.add_card(rider);
  const std::string id = f.call("POST", "/api/payments", rider, pay_body(1000), "k").j()["id"];
  int keys = 0;  // a fresh Idempotency-Key per request
  auto refund = [&](const std::string& token, std::optional<std::int64_t> amount) {
    json b{{"payment", id}, {"reason", "late pickup"}};
    if (amount) b["amount_minor"] = *amount;
    return f.call("POST", "/api/payments/refund", token, b.dump(),
                  "refund-" + std::to_string(++keys));
  };
  CHECK(refund(rider, 100).status == 403);
  CHECK(refund(f.mint("d-9", auth::role::driver), 100).status == 403);
  CHECK(refund(admin, 1001).code() == "exceeds_captured");
  CHECK(refund(admin, 1001).status == 409);
  CHECK(refund(admin, -5).code() == "invalid_argument");
  auto part = refund(admin, 400);
  REQUIRE_MESSAGE(part.status == 200, part.body);
  CHECK(part.j()["refunded_minor"] == 400);
  CHECK(part.j()["refundable_minor"] == 600);
  auto rest = refund(admin, std::nullopt);
  REQUIRE(rest.status == 200);
  CHECK(rest.j()["refunded_minor"] == 1000);
  CHECK(refund(admin, 1).status == 409);
  CHECK(f.call("POST", "/api/payments/refund", admin, R"({"payment": "p-99999"})", "refund-x")
            .status == 404);
  CHECK(f.stats.payment_events("refunded") == 2);
}

TEST_CASE("POST /api/payments/refund: Idempotency-Key required, replayed, bound to the body") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  const auto admin = f.mint("admin-ops", auth::role::admin);
  f.add_card(rider);
  const std::string id = f.call("POST", "/api/payments", rider, pay_body(1000), "k").j()["id"];
  const std::string body = json{{"payment", id}, {"amount_minor", 300}}.dump();
  auto none = f.call("POST", "/api/payments/refund", admin, body);
  CHECK(none.status == 400);
  CHECK(none.code() == "missing_field");
  auto first = f.call("POST", "/api/payments/refund", admin, body, "r-key");
  REQUIRE_MESSAGE(first.status == 200, first.body);
  CHECK(first.j()["refunded_minor"] == 300);
  CHECK(first.headers.empty());
  auto again = f.call("POST", "/api/payments/refund", admin, body, "r-key");
  CHECK(again.status == 200);
  CHECK(again.body == first.body);  // refunded once: still 300, not 600
  REQUIRE(again.headers.size() == 1);
  CHECK(again.headers[0] ==
        std::make_pair(std::string("Idempotent-Replayed"), std::string("true")));
  auto other = f.call("POST", "/api/payments/refund", admin,
                      json{{"payment", id}, {"amount_minor", 301}}.dump(), "r-key");
  CHECK(other.status == 422);
  CHECK(other.code() == "idempotency_conflict");
  // A key used for a payment is bound to that route: reused for a refund it conflicts.
  auto paid = f.call("POST", "/api/payments", admin,
                     json{{"amount_minor", 200}, {"rider", "r-7"}}.dump(), "adm");
  REQUIRE_MESSAGE(paid.status == 201, paid.body);
  CHECK(f.call("POST", "/api/payments/refund", admin, body, "adm").code() ==
        "idempotency_conflict");
  // A refusal is the key's answer too.
  const std::string too_much = json{{"payment", id}, {"amount_minor", 5000}}.dump();
  auto refused = f.call("POST", "/api/payments/refund", admin, too_much, "r-big");
  CHECK(refused.status == 409);
  CHECK(f.call("POST", "/api/payments/refund", admin, too_much, "r-big").body == refused.body);
  // Concurrent duplicates: one refund, one answer.
  constexpr int n = 6;
  std::vector<reply> replies(n);
  std::vector<std::thread> threads;
  const std::string rest = json{{"payment", id}}.dump();
  for (int i = 0; i < n; ++i)
    threads.emplace_back(
        [&, i] { replies[i] = f.call("POST", "/api/payments/refund", admin, rest, "r-dup"); });
  for (auto& t : threads) t.join();
  for (const auto& r : replies) {
    CHECK(r.status == 200);
    CHECK(r.body == replies[0].body);
  }
  CHECK(replies[0].j()["refunded_minor"] == 1000);
  CHECK(f.pay.psp.stats().refunds == 2);
  CHECK(f.stats.payment_events("refunded") == 2);
}

TEST_CASE("GET a payment: its rider, its payee and admins; to anyone else it does not exist") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  f.add_card(rider);
  const std::string id = f.call("POST", "/api/payments", rider, pay_body(800), "k").j()["id"];
  CHECK(f.call("GET", "/api/payments/" + id, rider).status == 200);
  CHECK(f.call("GET", "/api/payments/" + id, f.mint("d-9", auth::role::driver)).status == 200);
  CHECK(f.call("GET", "/api/payments/" + id, f.mint("admin-ops", auth::role::admin)).status == 200);
  CHECK(f.call("GET", "/api/payments/" + id, f.mint("r-8", auth::role::rider)).status == 404);
  CHECK(f.call("GET", "/api/payments/" + id, f.mint("d-10", auth::role::driver)).status == 404);
  CHECK(f.call("GET", "/api/payments/x-1", rider).code() == "unknown_payment");
  CHECK(f.call("GET", "/api/payments/" + id, "").status == 401);
}

TEST_CASE("holds over HTTP: admin captures at most the hold or voids it") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  const auto admin = f.mint("admin-ops", auth::role::admin);
  f.add_card(rider);
  const std::string id =
      f.call("POST", "/api/payments", rider, pay_body(900, "d-9", false), "h").j()["id"];
  CHECK(f.call("POST", "/api/payments/" + id + "/capture", rider, "{}").status == 403);
  CHECK(f.call("POST", "/api/payments/" + id + "/capture", admin, R"({"amount_minor": 901})")
            .code() == "invalid_argument");
  auto cap = f.call("POST", "/api/payments/" + id + "/capture", admin, R"({"amount_minor": 700})");
  REQUIRE_MESSAGE(cap.status == 200, cap.body);
  CHECK(cap.j()["captured_minor"] == 700);
  CHECK(f.call("POST", "/api/payments/" + id + "/cancel", admin).code() == "illegal_transition");
  const std::string other =
      f.call("POST", "/api/payments", rider, pay_body(300, "d-9", false), "h2").j()["id"];
  auto voided = f.call("POST", "/api/payments/" + other + "/cancel", admin);
  REQUIRE(voided.status == 200);
  CHECK(voided.j()["state"] == "voided");
}

TEST_CASE("driver earnings: the driver's own or an admin's view, from the ledger") {
  api_payments_fixture f;
  const auto rider = f.mint("r-7", auth::role::rider);
  f.add_card(rider);
  REQUIRE(f.call("POST", "/api/payments", rider, pay_body(1000), "k").status == 201);
  auto mine = f.call("GET", "/api/drivers/d-9/earnings", f.mint("d-9", auth::role::driver));
  REQUIRE_MESSAGE(mine.status == 200, mine.body);
  CHECK(mine.j()["earned_minor"] == split_fare(1000, f.pay.options.rules).driver);
  CHECK(mine.j()["currency"] == "usd");
  CHECK(f.call("GET", "/api/drivers/d-9/earnings", f.mint("d-10", auth::role::driver)).status ==
        403);
  CHECK(f.call("GET", "/api/drivers/d-9/earnings", rider).status == 403);
  CHECK(f.call("GET", "/api/drivers/d-9/earnings", f.mint("admin-ops", auth::role::admin)).status ==
        200);
  CHECK(f.call("GET", "/api/drivers/x/earnings", f.mint("admin-ops", auth::role::admin)).status ==
        400);
}

TEST_CASE("a node without payments answers 503 on every payment route") {
  api_payments_fixture f(false);
  const auto rider = f.mint("r-7", auth::role::rider);
  CHECK(f.call("GET", "/api/payments/methods", rider).status == 503);
  CHECK(f.call("POST", "/api/payments", rider, pay_body(1), "k").status == 503);
}

TEST_CASE("require_payment_method: POST /api/trips refuses a rider without a usable card") {
  api_payments_fixture f(true, true);
  const auto rider = f.mint("r-7", auth::role::rider);
  const std::string trip =
      R"({"pickup":{"lat":40.754,"lng":-73.984},"dropoff":{"lat":40.774,"lng":-73.974}})";
  auto refused = f.call("POST", "/api/trips", rider, trip);
  CHECK(refused.status == 422);
  CHECK(refused.code() == "no_payment_method");
  f.add_card(rider);
  auto ok = f.call("POST", "/api/trips", rider, trip);
  CHECK_MESSAGE(ok.status == 201, ok.body);
  // Off (the default): no card needed.
  api_payments_fixture off;
  CHECK(off.call("POST", "/api/trips", off.mint("r-8", auth::role::rider), trip).status == 201);
}

namespace {
// Records what the gate lets through to the node.
struct recording_handler final : gateway::ws_handler {
  std::vector<schemas::client_message> seen;
  void on_open(const gateway::connection_ptr&) override {}
  void on_message(const gateway::connection_ptr&, schemas::client_message m) override {
    seen.push_back(std::move(m));
  }
  void on_close(const gateway::connection_ptr&) override {}
};
}  // namespace

TEST_CASE("ride_gate: a WebSocket ride_request without a usable card gets no_payment_method") {
  api_payments_fixture f;
  recording_handler node;
  const auth::token_authority* ta = &*f.tokens;
  api::ride_gate gate(
      node,
      [ta](const std::string& token) -> result<node::identity> {
        auto c = ta->verify(token);
        if (!c) return c.err();
        return node::identity{
            c->subject, c->r == auth::role::driver ? schemas::role::driver : schemas::role::rider};
      },
      *f.pay.service, f.stats, [] { return test::pay_t0_ms; });
  auto conn = std::make_shared<test::fake_connection>(1, gateway::endpoint::rider);
  const std::string rider = f.mint("r-7", auth::role::rider);
  gate.on_open(conn);
  gate.on_message(conn, {1, schemas::hello{rider, "test", false}});
  schemas::ride_request ride;
  ride.pickup = lat_lng{40.754, -73.984};
  ride.dropoff = lat_lng{40.774, -73.974};
  gate.on_message(conn, {2, ride});
  auto err = conn->wait<schemas::error_reply>();
  REQUIRE(err);
  CHECK(err->second.code == errc::no_payment_method);
  CHECK(err->second.ref_seq == 2);
  CHECK(err->first.reply_to == 2);
  REQUIRE(node.seen.size() == 1);  // the hello went through, the ride did not
  CHECK(f.stats.errors(errc::no_payment_method) == 1);

  f.add_card(rider);
  gate.on_message(conn, {3, ride});
  REQUIRE(node.seen.size() == 2);
  CHECK(node.seen[1].seq == 3);
  // A connection that has not said hello: the node refuses it itself.
  auto fresh = std::make_shared<test::fake_connection>(2, gateway::endpoint::rider);
  gate.on_message(fresh, {1, ride});
  CHECK(node.seen.size() == 3);
  gate.on_close(conn);
}
