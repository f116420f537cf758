// Payments through the built binary over real sockets: a rider adds a card and
// pays a driver, the key replays (also after a restart), an admin refunds part
// (its key replays too),
// earnings and metrics show it. Then the card number is searched for in every
// file of the data directory (store and vault), the node's log and every answer
// it gave: it must be nowhere. The ledger balances (Σdebits = Σcredits).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/persistence/file_search.hpp"
#include "auth/jwt.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/store.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const char* test_secret = "payments-flow-system-test-secret-0123456789";
constexpr const char* pan = "4000056655665556";  // Visa debit test number

std::string mint_admin() { return system_test::mint_token(test_secret, "ops", auth::role::admin); }

}  // namespace

TEST_CASE("pay, replay, refund over HTTP; the card number is nowhere; the ledger balances") {
  const std::string dir = node_process::fresh_data_dir();
  const std::string log_dir = node_process::fresh_data_dir();
  const std::string log = log_dir + "/node.log";
  std::vector<std::string> answers;  // every body the node sent
  auto keep = [&answers](http_reply r) {
    answers.push_back(r.text);
    return r;
  };
  const std::string admin = mint_admin();
  std::string payment_body, payment_id, rider_token;
  const std::string pay = R"({"amount_minor":2500,"driver":"DRIVER","capture":true})";
  std::string pay_request, refund_request, refund_body;
  const http_headers refund_key{{"Authorization", "Bearer " + admin},
                                {"Idempotency-Key", "flow-refund-1"}};
  {
    node_process node(test_secret, dir, log);
    auto rider = keep(http_call(
        node.port, http::verb::post, "/api/users", {},
        R"({"role":"rider","name":"Rae","email":"rae@example.com","password":"rider-pass-1"})"));
    REQUIRE(rider.status == 201);
    rider_token = rider.body["token"];
    auto driver =
        keep(http_call(node.port, http::verb::post, "/api/drivers", {},
                       R"({"name":"Dev","email":"dev@example.com","password":"driver-pass-1"})"));
    REQUIRE(driver.status == 201);
    const std::string driver_id = driver.body["id"];
    pay_request = pay;
    pay_request.replace(pay_request.find("DRIVER"), 6, driver_id);

    auto card = keep(http_call(
        node.port, http::verb::post, "/api/payments/methods", rider_token,
        R"({"number":"4000 0566 5566 5556","exp_month":11,"exp_year":2032,"cvc":"737"})"));
    REQUIRE_MESSAGE(card.status == 201, card.text);
    CHECK(card.body["brand"] == "visa");
    CHECK(card.body["last4"] == "5556");
    auto bad = keep(
        http_call(node.port, http::verb::post, "/api/payments/methods", rider_token,
                  R"({"number":"4000056655665557","exp_month":11,"exp_year":2032,"cvc":"737"})"));
    CHECK(bad.status == 422);

    const http_headers with_key{{"Authorization", "Bearer " + rider_token},
                                {"Idempotency-Key", "flow-key-1"}};
    auto paid =
        keep(http_call_with(node.port, http::verb::post, "/api/payments", with_key, pay_request));
    REQUIRE_MESSAGE(paid.status == 201, paid.text);
    CHECK(paid.body["state"] == "captured");
    payment_body = paid.text;
    payment_id = paid.body["id"];
    auto again =
        keep(http_call_with(node.port, http::verb::post, "/api/payments", with_key, pay_request));
    CHECK(again.status == 201);
    CHECK(again.text == payment_body);
    auto other = keep(http_call_with(node.port, http::verb::post, "/api/payments", with_key,
                                     R"({"amount_minor":2600})"));
    CHECK(other.status == 422);
    CHECK(other.body["error"]["code"] == "idempotency_conflict");

    refund_request = R"({"payment":")" + payment_id + R"(","amount_minor":1000})";
    auto refund = keep(http_call_with(node.port, http::verb::post, "/api/payments/refund",
                                      refund_key, refund_request));
    REQUIRE_MESSAGE(refund.status == 200, refund.text);
    CHECK(refund.body["refunded_minor"] == 1000);
    refund_body = refund.text;
    auto too_much = keep(
        http_call_with(node.port, http::verb::post, "/api/payments/refund",
                       {{"Authorization", "Bearer " + admin}, {"Idempotency-Key", "flow-refund-2"}},
                       R"({"payment":")" + payment_id + R"(","amount_minor":1501})"));
    CHECK(too_much.status == 409);
    auto earnings = keep(
        http_call(node.port, http::verb::get, "/api/drivers/" + driver_id + "/earnings", admin));
    REQUIRE(earnings.status == 200);
    CHECK(earnings.body["earned_minor"].get<std::int64_t>() > 0);
    auto methods =
        keep(http_call(node.port, http::verb::get, "/api/payments/methods", rider_token));
    CHECK(methods.status == 200);
    auto metrics = keep(http_call(node.port, http::verb::get, "/metrics"));
    CHECK(metrics.text.find("rideshard_payments_total{event=\"captured\"} 1") != std::string::npos);
    CHECK(metrics.text.find("rideshard_payments_total{event=\"refunded\"} 1") != std::string::npos);
    CHECK(node.terminate() == 0);
  }
  {
    // After a restart the key still replays the first answer.
    node_process node(test_secret, dir, log);
    auto again = keep(http_call_with(
        node.port, http::verb::post, "/api/payments",
        {{"Authorization", "Bearer " + rider_token}, {"Idempotency-Key", "flow-key-1"}},
        pay_request));
    CHECK(again.status == 201);
    CHECK(again.text == payment_body);
    auto got =
        keep(http_call(node.port, http::verb::get, "/api/payments/" + payment_id, rider_token));
    CHECK(got.body["refunded_minor"] == 1000);
    // So does the refund's key: the same answer, nothing refunded twice.
    auto refund_again = keep(http_call_with(node.port, http::verb::post, "/api/payments/refund",
                                            refund_key, refund_request));
    CHECK(refund_again.status == 200);
    CHECK(refund_again.text == refund_body);
    auto metrics = keep(http_call(node.port, http::verb::get, "/metrics"));
    CHECK(metrics.text.find("rideshard_revenue_per_ride_minor") != std::string::npos);
    CHECK(metrics.text.find("rideshard_driver_utilization_ratio 0") != std::string::npos);
    CHECK(node.terminate() == 0);
  }

  // The log is real (the node logged at info), and nothing holds the number.
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK_FALSE(ss.str().empty());
  CHECK(ss.str().find(pan) == std::string::npos);
  CHECK_FALSE(test::any_file_contains(dir, pan));
  CHECK_FALSE(test::any_file_contains(log_dir, pan));
  CHECK(std::filesystem::exists(dir + "/vault"));
  for (const auto& a : answers) CHECK(a.find(pan) == std::string::npos);
  CHECK(answers.size() >= 14);

  persistence::store_options so;
  so.path = dir;
  auto store = persistence::store::open(so);
  REQUIRE(store.ok());
  auto ok = persistence::ledger(**store).check_invariants();
  CHECK_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.err().message));
  CHECK(persistence::ledger(**store).balance_of({account_kind::refunds, 0}).debits_posted == 1000);
  store->reset();
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(log_dir);
}
