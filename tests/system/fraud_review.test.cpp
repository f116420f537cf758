// Fraud checks through the built binary over real sockets: a rider adds a fifth
// card within a day, a second rider adds a card the first already holds, the
// first gets three refunds — each decision lands in the node's log (ids only),
// /metrics and, when flagged, in the review queue with its event; an admin
// clears one case and confirms another (the account is suspended), both
// audited; the queue survives a restart. A driver whose positions jump
// impossibly far is flagged for GPS spoofing the same way.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "app_client.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const char* test_secret = "fraud-review-system-test-secret-0123456789";
constexpr const char* cards[] = {"4242424242424242", "5555555555554444", "4000056655665556",
                                 "378282246310005", "6011111111111117"};

std::string card_body(const char* number) {
  const bool amex = number[0] == '3';  // four-digit CVC
  return json{
      {"number", number}, {"exp_month", 10}, {"exp_year", 2034}, {"cvc", amex ? "1234" : "123"}}
      .dump();
}

json find_case(const json& cases, const std::string& rule, const std::string& subject) {
  for (const auto& c : cases)
    if (c["rule"] == rule && c["subject"] == subject) return c;
  return nullptr;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The /metrics line of one rule's decisions says `n`.
bool decisions_are(const std::string& metrics, const char* decision, const char* rule, int n) {
  const std::string line = std::string("rideshard_fraud_decisions_total{decision=\"") + decision +
                           "\",rule=\"" + rule + "\"} " + std::to_string(n) + "\n";
  return metrics.find(line) != std::string::npos;
}

// The fraud events the node left in its outbox (no broker: all of them).
std::vector<persistence::outbox_row> fraud_events(const std::string& dir) {
  persistence::store_options so;
  so.path = dir;
  auto store = persistence::store::open(so);
  REQUIRE(store.ok());
  auto rows = (*store)->read_outbox(0, 100000);
  REQUIRE(rows.ok());
  std::vector<persistence::outbox_row> out;
  for (auto& r : *rows)
    if (r.event.topic == persistence::fraud_events_topic) out.push_back(std::move(r));
  return out;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("fraud rules on the live path, a review queue admins resolve") {
  const std::string dir = node_process::fresh_data_dir();
  const std::string log_dir = node_process::fresh_data_dir();
  const std::string log = log_dir + "/node.log";
  const std::string admin = mint_token(test_secret, "ops", auth::role::admin);
  std::string ann, bo, ann_token;
  {
    node_process node(test_secret, dir, log);
    auto a = http_call(
        node.port, http::verb::post, "/api/users", {},
        R"({"role":"rider","name":"Ann","email":"ann@example.com","password":"ann-pass-1"})");
    auto b = http_call(
        node.port, http::verb::post, "/api/users", {},
        R"({"role":"rider","name":"Bo","email":"bo@example.com","password":"bo-pass-12"})");
    REQUIRE(a.status == 201);
    REQUIRE(b.status == 201);
    ann = a.body["id"];
    bo = b.body["id"];
    ann_token = a.body["token"];
    for (int i = 0; i < 4; ++i)  // within the limit of 3 a day, then one more
      REQUIRE(http_call(node.port, http::verb::post, "/api/payments/methods", ann_token,
                        card_body(cards[i]))
                  .status == 201);
    REQUIRE(http_call(node.port, http::verb::post, "/api/payments/methods",
                      std::string(b.body["token"]), card_body(cards[0]))
                .status == 201);
    for (int i = 0; i < 3; ++i) {
      auto paid = http_call_with(
          node.port, http::verb::post, "/api/payments",
          {{"Authorization", "Bearer " + ann_token}, {"Idempotency-Key", "p" + std::to_string(i)}},
          R"({"amount_minor":1200})");
      REQUIRE_MESSAGE(paid.status == 201, paid.text);
      auto refund = http_call_with(
          node.port, http::verb::post, "/api/payments/refund",
          {{"Authorization", "Bearer " + admin}, {"Idempotency-Key", "r" + std::to_string(i)}},
          json{{"payment", paid.body["id"]}}.dump());
      REQUIRE_MESSAGE(refund.status == 200, refund.text);
    }
    CHECK(http_call(node.port, http::verb::get, "/api/admin/fraud/cases", ann_token).status == 403);
    auto open = http_call(node.port, http::verb::get, "/api/admin/fraud/cases?state=open", admin);
    REQUIRE(open.status == 200);
    CHECK(open.body["cases"].size() == 3);
    const json many = find_case(open.body["cases"], "too_many_cards", ann);
    const json shared = find_case(open.body["cases"], "shared_card", bo);
    const json refunds = find_case(open.body["cases"], "repeated_refunds", ann);
    REQUIRE(many.is_object());
    REQUIRE(shared.is_object());
    REQUIRE(refunds.is_object());
    CHECK(many["count"] == 4);
    CHECK(shared["related"] == ann);
    CHECK(refunds["count"] == 3);

    const std::string cleared_target = "/api/admin/fraud/cases/" + shared["id"].get<std::string>();
    auto cleared = http_call(node.port, http::verb::post, cleared_target + "/resolve", admin,
                             R"({"decision":"cleared","note":"family card"})");
    REQUIRE_MESSAGE(cleared.status == 200, cleared.text);
    CHECK(cleared.body["state"] == "cleared");
    CHECK(http_call(node.port, http::verb::post, cleared_target + "/resolve", admin,
                    R"({"decision":"confirmed"})")
              .status == 409);
    auto confirmed =
        http_call(node.port, http::verb::post,
                  "/api/admin/fraud/cases/" + refunds["id"].get<std::string>() + "/resolve", admin,
                  R"({"decision":"confirmed"})");
    REQUIRE(confirmed.status == 200);
    // Confirmed: the account is suspended, its token refused.
    const int after = http_call(node.port, http::verb::get, "/api/users/" + ann, ann_token).status;
    CHECK((after == 401 || after == 403));
    auto audit = http_call(node.port, http::verb::get, "/api/admin/audit", admin);
    int resolutions = 0;
    for (const auto& e : audit.body["entries"])
      resolutions += e["action"] == "POST /api/admin/fraud/cases/{id}/resolve";
    CHECK(resolutions == 3);  // the refused second resolution is recorded too

    auto metrics = http_call(node.port, http::verb::get, "/metrics");
    CHECK(decisions_are(metrics.text, "flag", "too_many_cards", 1));
    CHECK(decisions_are(metrics.text, "allow", "too_many_cards", 4));
    CHECK(node.terminate() == 0);
  }
  {
    node_process node(test_secret, dir, log);
    auto all = http_call(node.port, http::verb::get, "/api/admin/fraud/cases", admin);
    REQUIRE(all.status == 200);
    CHECK(all.body["cases"].size() == 3);
    auto open = http_call(node.port, http::verb::get, "/api/admin/fraud/cases?state=open", admin);
    CHECK(open.body["cases"].size() == 1);
    CHECK(node.terminate() == 0);
  }
  // Each decision is in the log, with pseudonymous ids and no personal data.
  const std::string text = read_file(log);
  CHECK(text.find("event=fraud_decision rule=shared_card decision=flag subject=" + bo) !=
        std::string::npos);
  for (const char* pii : {"ann@example.com", "bo@example.com", cards[0]})
    CHECK(text.find(pii) == std::string::npos);
  // The events: three flagged, one cleared, one confirmed; no note, no email.
  int flagged = 0, resolved = 0;
  for (const auto& r : fraud_events(dir)) {
    const json e = json::parse(r.event.payload);
    flagged += e["event_type"] == "flagged";
    resolved += e["event_type"] == "cleared" || e["event_type"] == "confirmed";
    CHECK(r.event.payload.find("family card") == std::string::npos);
    CHECK(r.event.payload.find("@example.com") == std::string::npos);
  }
  CHECK(flagged == 3);
  CHECK(resolved == 2);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(log_dir);
}

TEST_CASE("a driver whose positions jump impossibly far is flagged for GPS spoofing") {
  const std::string dir = node_process::fresh_data_dir();
  const std::string log_dir = node_process::fresh_data_dir();
  const std::string log = log_dir + "/node.log";
  const std::string admin = mint_token(test_secret, "ops", auth::role::admin);
  {
    node_process node(test_secret, dir, log);
    app_client driver(node.port, "/v1/driver", true);
    driver.send(
        schemas::hello{mint_token(test_secret, "d-701", auth::role::driver), "fraud-test", false});
    REQUIRE(driver.expect<schemas::welcome>().subject == "d-701");
    driver.send(schemas::go_online{});
    driver.expect<schemas::ack>();
    const std::int64_t t0 = now_ms() - 30'000;
    driver.send(schemas::location_batch{{schemas::location_sample{{40.7540, -73.9840}, 0, 0, t0}}});
    driver.expect<schemas::ack>();
    // Three frames, each ~110 km from the last accepted fix within seconds:
    // each refused as impossible_jump, each one signal (the rule flags past 2).
    for (int i = 1; i <= 3; ++i) {
      driver.send(schemas::location_batch{
          {schemas::location_sample{{41.7540, -73.9840}, 0, 0, t0 + i * 1000}}});
      const auto m = driver.read();
      const auto* e = std::get_if<schemas::error_reply>(&m.body);
      REQUIRE(e != nullptr);
      CHECK(e->code == errc::impossible_jump);
    }
    auto open = http_call(node.port, http::verb::get, "/api/admin/fraud/cases?state=open", admin);
    REQUIRE(open.status == 200);
    const json gps = find_case(open.body["cases"], "gps_spoofing", "d-701");
    REQUIRE_MESSAGE(gps.is_object(), open.text);
    CHECK(gps["count"] == 3);
    auto metrics = http_call(node.port, http::verb::get, "/metrics");
    CHECK(decisions_are(metrics.text, "flag", "gps_spoofing", 1));
    CHECK(decisions_are(metrics.text, "allow", "gps_spoofing", 2));
    CHECK(node.terminate() == 0);
  }
  CHECK(read_file(log).find("event=fraud_decision rule=gps_spoofing decision=flag subject=d-701") !=
        std::string::npos);
  int flagged = 0;
  for (const auto& r : fraud_events(dir))
    flagged += json::parse(r.event.payload)["event_type"] == "flagged" &&
               r.event.payload.find("gps_spoofing") != std::string::npos;
  CHECK(flagged == 1);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(log_dir);
}
