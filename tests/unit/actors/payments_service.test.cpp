// payment_service over a real store, vault and the sandbox PSP: cards become
// tokens (the number is in no store file), payments hold/capture/void/refund with
// ledger transfers, Idempotency-Keys replay (also after a restart and under
// concurrent duplicates) and conflict, refunds never exceed the capture, and a
// crash between the PSP's answer and the ledger commit is finished by reconcile()
// without a second capture. The fixture checks the ledger invariants after each case.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "payments_fixture.hpp"
#include "rideshard/persistence/topics.hpp"

using namespace rideshard;
using namespace rideshard::payments;
using json = nlohmann::json;

namespace {

const rider_id rider{7};
const driver_id driver{9};

idempotency_scope scope(const std::string& key, const std::string& fingerprint = "fp-1") {
  return idempotency_scope{"r-7", key, fingerprint};
}

create_request charge(std::int64_t amount, bool capture = true) {
  create_request r;
  r.rider = rider;
  r.driver = driver;
  r.amount = amount;
  r.capture = capture;
  return r;
}

json body_of(const result<payment_answer>& a) {
  REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.err().message));
  REQUIRE_MESSAGE(a->body.ok(), (a->body.ok() ? "" : a->body.err().message));
  return json::parse(*a->body);
}

std::uint64_t id_of(const json& j) { return std::stoull(j["id"].get<std::string>().substr(2)); }

}  // namespace

TEST_CASE("a card becomes a vault token: brand and last 4 only, the number in no store file") {
  test::payments_fixture f;
  const auto m = f.add_card(rider);
  CHECK(m.brand == card_brand::visa);
  CHECK(m.last4 == "4242");
  CHECK(m.token.rfind("tok_", 0) == 0);
  CHECK(method_json(m).find("tok_") == std::string::npos);
  CHECK(f.service->has_usable_method(rider));
  CHECK_FALSE(f.service->has_usable_method(rider_id{8}));

  auto bad = f.service->add_method(rider, card_input{"4242424242424241", 12, 2031, "123"});
  CHECK(bad.code() == errc::invalid_card);
  CHECK(bad.err().message.find("424242") == std::string::npos);
  CHECK(f.service->add_method(rider, card_input{test::test_pan, 1, 2024, "123"}).code() ==
        errc::card_expired);
  CHECK(f.service->methods(rider).size() == 1);
  f.reopen();
  REQUIRE(f.service->methods(rider).size() == 1);
  CHECK(f.service->methods(rider)[0].token == m.token);
  f.store.reset();  // flush and close before reading the files
  f.vault.reset();
  f.service.reset();
  CHECK_FALSE(test::any_file_contains(f.store_dir.path, test::test_pan));
  CHECK_FALSE(test::any_file_contains(f.vault_dir.path, test::test_pan));
}

TEST_CASE("authorize + capture posts the hold, the capture and the split; events carry ids only") {
  test::payments_fixture f;
  f.add_card(rider);
  auto a = f.service->create(charge(1080), scope("k1"));
  const json p = body_of(a);
  CHECK(p["state"] == "captured");
  CHECK(p["captured_minor"] == 1080);
  CHECK(p["refundable_minor"] == 1080);
  const auto e = f.service->earnings_of(driver);
  // 1080 incl. 8% tax = 80 tax; 25% of 1000 = 250 platform; driver 750.
  CHECK(e.earned_minor == 750);
  CHECK(e.balance_minor == 750);
  const auto stats = f.psp.stats();
  CHECK(stats.authorizations == 1);
  CHECK(stats.captures == 1);

  auto rows = f.store->read_outbox(0, 100);
  REQUIRE(rows.ok());
  std::vector<std::string> types;
  for (const auto& row : *rows) {
    CHECK(row.event.topic == persistence::payment_events_topic);
    CHECK(row.event.key == p["id"].get<std::string>());
    CHECK(row.event.payload.find("4242") == std::string::npos);
    CHECK(row.event.payload.find("tok_") == std::string::npos);
    types.push_back(json::parse(row.event.payload)["event_type"]);
  }
  CHECK(types == std::vector<std::string>{"authorized", "captured"});
}

TEST_CASE("hold, capture at most the hold, void, and earnings only from captures") {
  test::payments_fixture f;
  f.add_card(rider);
  const json held = body_of(f.service->create(charge(2000, false), scope("h1")));
  CHECK(held["state"] == "authorized");
  const auto id = id_of(held);
  CHECK(f.service->capture(id, 2001).code() == errc::invalid_argument);
  auto cap = f.service->capture(id, 1500);
  REQUIRE(cap.ok());
  CHECK(cap->captured == 1500);
  CHECK(f.service->capture(id, 100).code() == errc::illegal_transition);
  CHECK(f.service->cancel(id).code() == errc::illegal_transition);

  const json other = body_of(f.service->create(charge(900, false), scope("h2")));
  auto voided = f.service->cancel(id_of(other));
  REQUIRE(voided.ok());
  CHECK(voided->state == payment_state::voided);
  CHECK(persistence::ledger(*f.store).open_holds().empty());
  CHECK(f.service->earnings_of(driver).earned_minor == split_fare(1500, f.options.rules).driver);
  CHECK(f.service->get(424242).code() == errc::unknown_payment);
}

TEST_CASE("refunds: full or partial, never more than captured") {
  test::payments_fixture f;
  f.add_card(rider);
  const auto id = id_of(body_of(f.service->create(charge(1000), scope("r1"))));
  CHECK(f.service->refund(id, 0).code() == errc::invalid_argument);
  CHECK(f.service->refund(id, 1001).code() == errc::exceeds_captured);
  REQUIRE(f.service->refund(id, 300).ok());
  CHECK(f.service->refund(id, 701).code() == errc::exceeds_captured);
  auto rest = f.service->refund(id, std::nullopt);  // what is left
  REQUIRE(rest.ok());
  CHECK(rest->refunded == 1000);
  CHECK(rest->refunds == 2);
  CHECK(f.service->refund(id, 1).code() == errc::exceeds_captured);
  CHECK(f.psp.find(rest->intent)->refunded == 1000);
  const auto r = persistence::ledger(*f.store).balance_of({account_kind::refunds, 0});
  CHECK(r.debits_posted == 1000);

  const auto held = id_of(body_of(f.service->create(charge(500, false), scope("r2"))));
  CHECK(f.service->refund(held, 100).code() == errc::illegal_transition);
}

TEST_CASE("Idempotency-Key: replay, other parameters conflict, kept across a restart for 24 h") {
  test::payments_fixture f;
  f.add_card(rider);
  const json first = body_of(f.service->create(charge(700), scope("same")));
  auto again = f.service->create(charge(700), scope("same"));
  CHECK(again->replayed);
  CHECK(body_of(again) == first);
  auto other = f.service->create(charge(701), scope("same", "fp-2"));
  CHECK(other.code() == errc::idempotency_conflict);
  // Another caller with the same key is another key: a second payment.
  auto theirs = f.service->create(charge(700), idempotency_scope{"a-1", "same", "fp-1"});
  REQUIRE(theirs.ok());
  CHECK_FALSE(theirs->replayed);
  CHECK(body_of(theirs)["id"] != first["id"]);

  f.reopen();
  *f.clock += 23LL * 3600 * 1000;
  auto later = f.service->create(charge(700), scope("same"));
  CHECK(later->replayed);
  CHECK(body_of(later) == first);
  CHECK(f.psp.stats().authorizations == 2);

  *f.clock += 2LL * 3600 * 1000;  // 25 h: the key is forgotten, a new payment
  auto fresh = f.service->create(charge(700), scope("same"));
  CHECK_FALSE(fresh->replayed);
  CHECK(body_of(fresh)["id"] != first["id"]);
}

TEST_CASE("concurrent duplicates: one payment, one PSP authorization, one answer for all") {
  test::payments_fixture f;
  f.add_card(rider);
  constexpr int n = 8;
  std::vector<std::string> bodies(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      auto a = f.service->create(charge(1234), scope("dup"));
      bodies[i] = a.ok() && a->body.ok() ? *a->body : std::string("error");
    });
  for (auto& t : threads) t.join();
  for (const auto& b : bodies) CHECK(b == bodies[0]);
  CHECK(json::parse(bodies[0])["state"] == "captured");
  CHECK(f.psp.stats().authorizations == 1);
  CHECK(f.psp.stats().captures == 1);
}

TEST_CASE("a declined card: the decline is the key's answer, nothing moves in the ledger") {
  test::payments_fixture f;
  f.add_card(rider, sandbox_declined_card);
  auto a = f.service->create(charge(500), scope("d"));
  REQUIRE(a.ok());
  CHECK(a->body.code() == errc::payment_declined);
  auto again = f.service->create(charge(500), scope("d"));
  CHECK(again->replayed);
  CHECK(again->body.code() == errc::payment_declined);
  CHECK(f.psp.stats().declines == 1);
  CHECK(persistence::ledger(*f.store).balance_of({account_kind::rider, rider.value}) == balance{});
}

TEST_CASE("the PSP times out: the retry with the same key finishes the same authorization") {
  test::payments_fixture f;
  f.add_card(rider);
  f.psp.set_faults(sandbox_faults{5, 0, 1.0, 0, 0, 0});
  auto a = f.service->create(charge(600), scope("t"));
  CHECK(a.code() == errc::psp_unavailable);
  CHECK(f.psp.stats().authorizations == 1);  // applied at the PSP, answer lost
  f.psp.set_faults(sandbox_faults{5, 0, 0, 0, 0, 0});
  const json p = body_of(f.service->create(charge(600), scope("t")));
  CHECK(p["state"] == "captured");
  CHECK(f.psp.stats().authorizations == 1);
  CHECK(f.psp.stats().captures == 1);
}

TEST_CASE("crash between the PSP's capture and the ledger commit: reconcile captures once") {
  test::payments_fixture f;
  f.add_card(rider);
  bool crash = true;
  f.options.crash_after_psp = [&crash](payment_op op) {
    return crash && op == payment_op::capture;
  };
  f.reopen();
  auto a = f.service->create(charge(1500), scope("c"));
  CHECK(a.code() == errc::internal);
  REQUIRE(f.psp.stats().captures == 1);  // the PSP captured; the ledger does not know yet
  crash = false;
  f.reopen();  // restart
  const auto rep = f.service->reconcile();
  CHECK(rep.in_flight == 1);
  CHECK(rep.finished == 1);
  const json p = body_of(f.service->create(charge(1500), scope("c")));
  CHECK(p["state"] == "captured");
  CHECK(p["captured_minor"] == 1500);
  CHECK(f.psp.stats().captures == 1);
  CHECK(f.psp.stats().authorizations == 1);
  const auto cap = persistence::ledger(*f.store).find(
      make_transfer_id(money_domain::payment, id_of(p), money_code::capture));
  REQUIRE(cap.ok());
  CHECK(cap->has_value());
  CHECK(f.service->reconcile().in_flight == 0);  // a second pass finds nothing
}

TEST_CASE("crash after a refund at the PSP: reconcile records it once") {
  test::payments_fixture f;
  f.add_card(rider);
  const auto id = id_of(body_of(f.service->create(charge(800), scope("x"))));
  bool crash = true;
  f.options.crash_after_psp = [&crash](payment_op op) { return crash && op == payment_op::refund; };
  f.reopen();
  CHECK(f.service->refund(id, 300).code() == errc::internal);
  crash = false;
  f.reopen();
  CHECK(f.service->reconcile().finished == 1);
  auto p = f.service->get(id);
  REQUIRE(p.ok());
  CHECK(p->refunded == 300);
  CHECK(f.psp.stats().refunds == 1);
  CHECK(f.service->refund(id, 501).code() == errc::exceeds_captured);
}

TEST_CASE("callbacks: duplicates and late ones change nothing; one finishes an open call") {
  test::payments_fixture f;
  f.add_card(rider);
  f.psp.set_faults(sandbox_faults{9, 0, 0, 0, 1.0, 1.0});
  const json done = body_of(f.service->create(charge(400), scope("cb1")));
  f.psp.set_faults(sandbox_faults{9, 0, 0, 0, 0, 0});
  for (const auto& ev : f.psp.take_events()) CHECK_FALSE(f.service->on_psp_event(ev));
  for (const auto& ev : f.psp.take_events()) CHECK_FALSE(f.service->on_psp_event(ev));

  // A capture whose answer was lost (timeout) stays in flight until a callback.
  const auto id = id_of(body_of(f.service->create(charge(900, false), scope("cb2"))));
  (void)f.psp.take_events();
  f.psp.set_faults(sandbox_faults{9, 0, 1.0, 0, 0, 0});
  CHECK(f.service->capture(id, 900).code() == errc::psp_unavailable);
  f.psp.set_faults(sandbox_faults{9, 0, 0, 0, 0, 0});
  auto evs = f.psp.take_events();
  REQUIRE(evs.size() == 1);
  CHECK(f.service->on_psp_event(evs[0]));
  CHECK(f.service->get(id)->state == payment_state::captured);
  CHECK_FALSE(f.service->on_psp_event(evs[0]));  // the duplicate
  CHECK(f.psp.find(f.service->get(id)->intent)->captures == 1);
  (void)done;
}
