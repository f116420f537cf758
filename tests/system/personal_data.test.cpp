// GDPR through the built binary over real sockets: a rider's export holds what
// was stored about them (account, rectified name, trip and its places, payment,
// card as brand + last 4); their personal data is never in clear in the data
// directory; after erasure (DELETE /api/users/{id}) nothing personal is
// readable from the store files, the vault, the export or any event, their
// personal-data key is gone and their trips' places are rounded to ~1 km —
// while the ledger still balances. Erasure waits until their trips are over.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/persistence/file_search.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/token_vault.hpp"
#include "rideshard/schemas/records.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const char* test_secret = "personal-data-system-test-secret-0123456789";
// Distinctive enough that a hit in any file can only be this person's data.
constexpr const char* first_name = "Hedwig Quillfeather";
constexpr const char* rectified_name = "Hedwig Q. Marchbanks";
constexpr const char* email = "hedwig.quillfeather@example.org";

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("export holds what was stored; after erasure nothing personal is readable") {
  const std::string dir = node_process::fresh_data_dir();
  const std::string log_dir = node_process::fresh_data_dir();
  const std::string log = log_dir + "/node.log";
  const std::string admin = mint_token(test_secret, "ops", auth::role::admin);
  std::vector<std::string> answers;  // every body the node sent after the erasure
  std::string rider_id, driver_id, payment_id, trip_id;
  {
    node_process node(test_secret, dir, log);
    auto rider = http_call(node.port, http::verb::post, "/api/users", {},
                           json{{"role", "rider"},
                                {"name", first_name},
                                {"email", email},
                                {"password", "hedwig-pass-1"}}
                               .dump());
    REQUIRE(rider.status == 201);
    const std::string token = rider.body["token"];
    rider_id = rider.body["id"];
    auto driver =
        http_call(node.port, http::verb::post, "/api/drivers", {},
                  R"({"name":"Dov","email":"dov@example.com","password":"driver-pass-1"})");
    REQUIRE(driver.status == 201);
    driver_id = driver.body["id"];
    auto card =
        http_call(node.port, http::verb::post, "/api/payments/methods", token,
                  R"({"number":"4242424242424242","exp_month":9,"exp_year":2033,"cvc":"314"})");
    REQUIRE_MESSAGE(card.status == 201, card.text);
    auto paid =
        http_call_with(node.port, http::verb::post, "/api/payments",
                       {{"Authorization", "Bearer " + token}, {"Idempotency-Key", "gdpr-1"}},
                       json{{"amount_minor", 1800}, {"driver", driver_id}}.dump());
    REQUIRE_MESSAGE(paid.status == 201, paid.text);
    payment_id = paid.body["id"];
    auto trip = http_call(node.port, http::verb::post, "/api/trips", token,
                          R"({"pickup":{"lat":40.7541,"lng":-73.9842},)"
                          R"("dropoff":{"lat":40.7807,"lng":-73.9613}})");
    REQUIRE_MESSAGE(trip.status == 201, trip.text);
    trip_id = trip.body["id"];

    // Rectification: the existing PUT.
    auto put = http_call(node.port, http::verb::put, "/api/users/" + rider_id, token,
                         json{{"name", rectified_name}}.dump());
    REQUIRE(put.status == 200);

    auto ex = http_call(node.port, http::verb::get, "/api/users/" + rider_id + "/export", token);
    REQUIRE_MESSAGE(ex.status == 200, ex.text);
    CHECK(ex.body["subject"] == rider_id);
    CHECK(ex.body["account"]["name"] == rectified_name);
    CHECK(ex.body["account"]["email"] == email);
    CHECK(ex.text.find("password") == std::string::npos);
    REQUIRE(ex.body["trips"].size() == 1);
    CHECK(ex.body["trips"][0]["id"] == trip_id);
    bool pickup_listed = false;
    for (const auto& l : ex.body["locations"])
      pickup_listed |= l["kind"] == "pickup" && l["trip"] == trip_id && l["lat"] == 40.7541;
    CHECK(pickup_listed);
    REQUIRE(ex.body["payments"].size() == 1);
    CHECK(ex.body["payments"][0]["id"] == payment_id);
    CHECK(ex.body["payments"][0]["captured_minor"] == 1800);
    REQUIRE(ex.body["payment_methods"].size() == 1);
    CHECK(ex.body["payment_methods"][0]["last4"] == "4242");
    CHECK(ex.text.find("4242424242424242") == std::string::npos);
    // Only the person and admins export.
    auto other = http_call(node.port, http::verb::get, "/api/users/" + rider_id + "/export",
                           mint_token(test_secret, "r-999999", auth::role::rider));
    CHECK(other.status == 403);
    auto by_admin =
        http_call(node.port, http::verb::get, "/api/users/" + rider_id + "/export", admin);
    CHECK(by_admin.status == 200);
    auto drv = http_call(node.port, http::verb::get, "/api/users/" + driver_id + "/export", admin);
    REQUIRE(drv.status == 200);
    CHECK(drv.body["payments"].size() == 1);
    CHECK(drv.body["earnings"]["earned_minor"].get<std::int64_t>() > 0);
    CHECK(node.terminate() == 0);
  }
  // At rest the name and email are sealed: no file of the store or the vault
  // holds them in clear, even before erasure.
  for (const char* s : {first_name, rectified_name, email})
    CHECK_MESSAGE(!test::any_file_contains(dir, s), s);
  {
    node_process node(test_secret, dir, log);
    // The sealed account reads back after a restart.
    auto login = http_call(node.port, http::verb::post, "/api/login", {},
                           json{{"email", email}, {"password", "hedwig-pass-1"}}.dump());
    REQUIRE(login.status == 200);
    const std::string token = login.body["token"];
    // Not while a trip of theirs is live (its actor would write the exact
    // places again): refused, nothing erased.
    auto early = http_call(node.port, http::verb::delete_, "/api/users/" + rider_id, token);
    CHECK_MESSAGE(early.status == 409, early.text);
    CHECK(early.text.find(trip_id) != std::string::npos);
    CHECK(http_call(node.port, http::verb::get, "/api/users/" + rider_id, admin).status == 200);
    auto cancel = http_call(node.port, http::verb::put, "/api/trips/" + trip_id + "/status", token,
                            R"({"status":"cancelled"})");
    REQUIRE_MESSAGE(cancel.status == 200, cancel.text);
    auto erase = http_call(node.port, http::verb::delete_, "/api/users/" + rider_id, token);
    REQUIRE_MESSAGE(erase.status == 204, erase.text);
    for (const auto& target : {"/api/users/" + rider_id + "/export", "/api/users/" + rider_id}) {
      auto r = http_call(node.port, http::verb::get, target, admin);
      answers.push_back(r.text);
      CHECK(r.status == 404);
    }
    auto methods =
        http_call(node.port, http::verb::get, "/api/payments/methods?rider=" + rider_id, admin);
    answers.push_back(methods.text);
    CHECK(methods.body["methods"].empty());
    // Legal retention: the payment stays, under the pseudonymous id only.
    auto payment = http_call(node.port, http::verb::get, "/api/payments/" + payment_id, admin);
    answers.push_back(payment.text);
    CHECK(payment.status == 200);
    CHECK(payment.body["rider"] == rider_id);
    CHECK(node.terminate() == 0);
  }
  {
    node_process node(test_secret, dir, log);
    auto login = http_call(node.port, http::verb::post, "/api/login", {},
                           json{{"email", email}, {"password", "hedwig-pass-1"}}.dump());
    CHECK(login.status == 401);
    auto drv = http_call(node.port, http::verb::get, "/api/users/" + driver_id + "/export", admin);
    answers.push_back(drv.text);
    CHECK(drv.status == 200);
    CHECK(node.terminate() == 0);
  }
  for (const char* s : {first_name, rectified_name, email}) {
    CHECK_MESSAGE(!test::any_file_contains(dir, s), s);
    CHECK_MESSAGE(file_text(log).find(s) == std::string::npos, s);
    for (const auto& a : answers) CHECK(a.find(s) == std::string::npos);
  }
  CHECK_FALSE(test::any_file_contains(dir, "4242424242424242"));

  // Every event the node wrote (no broker: all still in the outbox) names
  // people by pseudonymous id only.
  persistence::store_options so;
  so.path = dir;
  auto store = persistence::store::open(so);
  REQUIRE(store.ok());
  auto events = (*store)->read_outbox(0, 100000);
  REQUIRE(events.ok());
  CHECK_FALSE(events->empty());
  for (const auto& row : *events)
    for (const char* s : {first_name, rectified_name, email, "Hedwig", "hedwig"})
      CHECK(row.event.payload.find(s) == std::string::npos);
  // The trip stays (legal retention), its places rounded to the ~1 km grid in
  // the snapshot and in every journal entry.
  const auto trip_number = std::stoull(trip_id.substr(2));
  auto snap = (*store)->load_entity(persistence::entity_kind::trip, trip_number);
  REQUIRE(snap.ok());
  REQUIRE(snap->has_value());
  std::vector<rideshard::trip> records;
  auto first = schemas::decode_trip_record((**snap).value.data(), (**snap).value.size());
  REQUIRE(first.ok());
  records.push_back(*first);
  auto journal = (*store)->journal_after(rideshard::trip_id{trip_number}, 0);
  REQUIRE(journal.ok());
  CHECK_FALSE(journal->empty());
  for (const auto& j : *journal) {
    auto t = schemas::decode_trip_record(j.value.data(), j.value.size());
    REQUIRE(t.ok());
    records.push_back(*t);
  }
  for (const auto& t : records) {
    CHECK(to_string(t.rider) == rider_id);
    CHECK(t.pickup.lat == doctest::Approx(40.75).epsilon(1e-9));
    CHECK(t.pickup.lng == doctest::Approx(-73.98).epsilon(1e-9));
    CHECK(t.dropoff.lat == doctest::Approx(40.78).epsilon(1e-9));
    CHECK(t.dropoff.lng == doctest::Approx(-73.96).epsilon(1e-9));
  }
  CHECK(records.back().state == trip_state::cancelled);
  auto ok = persistence::ledger(**store).check_invariants();
  CHECK_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.err().message));
  store->reset();

  // The person's key is gone from the vault; the driver's is still there.
  persistence::vault_options vo;
  vo.path = dir + "/vault";
  vo.key = *persistence::parse_vault_key(test_vault_key);
  auto vault = persistence::token_vault::open(vo);
  REQUIRE(vault.ok());
  CHECK_FALSE(*(*vault)->has_personal_key(rider_id));
  CHECK(*(*vault)->has_personal_key(driver_id));
  vault->reset();
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(log_dir);
}
