// A declined card through the built binary: a rider adds the sandbox PSP's
// declining test card over HTTP and requests a ride over WebSocket; the node's
// payment worker is refused the authorization and ends the request — the rider
// hears `cancelled` by the system with reason `payment_declined` and a receipt
// charging nothing — the admin view lists the ride as declined, the ledger's hold
// is voided, and the card number is in no file, log line or answer.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/persistence/file_search.hpp"
#include "app_client.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "payments/sandbox_psp.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/store.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;

namespace {

constexpr const char* test_secret = "payment-decline-system-test-secret-0123456789";

std::string mint(const std::string& sub, auth::role r) {
  return system_test::mint_token(test_secret, sub, r);
}

}  // namespace

TEST_CASE("a declined card ends the ride request on the real node: payment_declined, hold voided") {
  const std::string pan = payments::sandbox_declined_card;
  const std::string dir = node_process::fresh_data_dir();
  const std::string log = node_process::fresh_data_dir() + "/node.log";
  std::vector<std::string> answers;
  trip_id trip;
  {
    node_process node(test_secret, dir, log);
    const std::string rider_token = mint("r-901", auth::role::rider);
    auto card =
        http_call(node.port, http::verb::post, "/api/payments/methods", rider_token,
                  R"({"number":")" + pan + R"(","exp_month":12,"exp_year":2031,"cvc":"123"})");
    answers.push_back(card.text);
    REQUIRE_MESSAGE(card.status == 201, card.text);  // a valid card: refused only at authorization

    app_client rider(node.port, "/v1/rider", false);
    rider.send(schemas::hello{rider_token, "system-test-rider", false});
    rider.expect<schemas::welcome>();
    const lat_lng pickup{40.7560, -73.9860}, dropoff{40.7300, -73.9900};
    rider.send(schemas::quote_request{pickup, dropoff});
    const auto q = rider.expect<schemas::quote>();
    rider.send(schemas::ride_request{q.id, pickup, dropoff});
    trip = rider.expect<schemas::trip_status>().trip;
    // No driver is online: only the PSP's decline can end this request now
    // (the no-driver give-up is 20 s away and has another reason).
    const auto ended = rider.expect<schemas::trip_status>(
        [](const schemas::trip_status& t) { return t.state == trip_state::cancelled; });
    CHECK(ended.trip == trip);
    CHECK(ended.cancelled_by == party::system);
    CHECK(ended.cancel_reason == "payment_declined");
    const auto r = rider.expect<schemas::receipt>();
    CHECK(r.trip == trip);
    CHECK(r.final_state == trip_state::cancelled);
    CHECK(r.cancellation_fee_minor == 0);

    // The admin view shows the ride declined and released (it needs attention).
    const std::string admin = mint("ops", auth::role::admin);
    nlohmann::json ride;
    for (int i = 0; i < 200 && ride.is_null(); ++i) {
      auto rides =
          http_call(node.port, http::verb::get, "/api/admin/payments/rides?attention=true", admin);
      answers.push_back(rides.text);
      REQUIRE(rides.status == 200);
      for (const auto& x : rides.body["rides"])
        if (x["trip"] == to_string(trip) && x["settlement"] == "released") ride = x;
      if (ride.is_null()) usleep(50'000);  // the release is recorded after the cancel's commit
    }
    REQUIRE_FALSE(ride.is_null());
    CHECK(ride["authorization"] == "declined");
    CHECK(ride["rider"] == "r-901");
    CHECK(ride["intent"] == "");  // nothing was ever held at the PSP
    CHECK(ride["collected_minor"] == 0);
    auto metrics = http_call(node.port, http::verb::get, "/metrics");
    CHECK(metrics.text.find(
              R"(rideshard_ride_psp_steps_total{outcome="declined",step="authorize"} 1)") !=
          std::string::npos);
    CHECK(node.terminate() == 0);
  }

  // The ledger held the fare at request and voided it at the cancel: nothing owed.
  persistence::store_options so;
  so.path = dir;
  auto store = persistence::store::open(so);
  REQUIRE(store.ok());
  const persistence::ledger ledger(**store);
  CHECK(ledger.check_invariants().ok());
  auto held = ledger.find(make_transfer_id(money_domain::trip, trip.value, money_code::hold));
  REQUIRE(held.ok());
  CHECK(held->has_value());
  CHECK(*ledger.state_of(make_transfer_id(money_domain::trip, trip.value, money_code::hold)) ==
        pending_state::voided);
  const auto owed = ledger.balance_of({account_kind::rider, 901});
  CHECK(owed.debits_pending == 0);
  CHECK(owed.debits_posted == 0);
  store->reset();

  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  CHECK_FALSE(text.str().empty());
  CHECK(text.str().find(pan) == std::string::npos);
  CHECK_FALSE(test::any_file_contains(dir, pan));
  for (const auto& a : answers) CHECK(a.find(pan) == std::string::npos);
}
