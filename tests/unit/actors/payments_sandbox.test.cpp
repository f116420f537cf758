// sandbox_psp: Stripe-like intents and idempotency keys, declining test cards,
// and seeded failure injection (5xx, timeouts, declines, duplicate and late callbacks).
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "../persistence/temp_dir.hpp"
#include "payments/sandbox_psp.hpp"

using namespace rideshard;
using namespace rideshard::payments;

namespace {

persistence::vaulted_card card(const char* number = "4242424242424242") {
  return persistence::vaulted_card{number, 12, 2031};
}

authorize_request auth_req(const std::string& key, std::int64_t amount,
                           const persistence::vaulted_card& c) {
  authorize_request r;
  r.idempotency_key = key;
  r.amount = amount;
  r.card = &c;
  return r;
}

}  // namespace

TEST_CASE("authorize, capture at most the hold, refund at most the capture") {
  sandbox_psp psp;
  const auto c = card();
  auto in = psp.authorize(auth_req("k-hold", 1500, c));
  REQUIRE(in.ok());
  CHECK(in->status == intent_status::requires_capture);
  CHECK(in->amount_capturable == 1500);

  CHECK(psp.capture(in->id, 1501, "k-cap-big").code() == errc::invalid_argument);
  auto cap = psp.capture(in->id, 1200, "k-cap");
  REQUIRE(cap.ok());
  CHECK(cap->status == intent_status::succeeded);
  CHECK(cap->amount_received == 1200);
  // A second capture under another key is refused: an intent captures once.
  CHECK(psp.capture(in->id, 100, "k-cap-2").code() == errc::invalid_argument);
  CHECK(psp.cancel(in->id, "k-cancel").code() == errc::invalid_argument);

  CHECK(psp.refund(in->id, 1201, "k-ref-big").code() == errc::invalid_argument);
  REQUIRE(psp.refund(in->id, 700, "k-ref-1").ok());
  CHECK(psp.refund(in->id, 501, "k-ref-2").code() == errc::invalid_argument);
  REQUIRE(psp.refund(in->id, 500, "k-ref-3").ok());
  const auto seen = psp.find(in->id);
  REQUIRE(seen);
  CHECK(seen->captures == 1);
  CHECK(seen->refunded == 1200);
}

TEST_CASE("the same key replays its answer; other parameters under it conflict") {
  sandbox_psp psp;
  const auto c = card();
  auto a = psp.authorize(auth_req("k1", 900, c));
  auto b = psp.authorize(auth_req("k1", 900, c));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->id == b->id);
  CHECK(psp.authorize(auth_req("k1", 901, c)).code() == errc::idempotency_conflict);
  auto cap1 = psp.capture(a->id, 900, "cap");
  auto cap2 = psp.capture(a->id, 900, "cap");
  REQUIRE(cap1.ok());
  REQUIRE(cap2.ok());
  CHECK(psp.find(a->id)->captures == 1);
  const auto s = psp.stats();
  CHECK(s.authorizations == 1);
  CHECK(s.captures == 1);
  CHECK(s.replays == 2);
  CHECK(s.conflicts == 1);
  CHECK(psp.capture(a->id, 900, "").code() == errc::invalid_argument);
}

TEST_CASE("Stripe's test cards decline, and the decline is final for its key") {
  sandbox_psp psp;
  const auto declined = card(sandbox_declined_card);
  const auto broke = card(sandbox_insufficient_funds_card);
  auto a = psp.authorize(auth_req("d1", 500, declined));
  CHECK(a.code() == errc::payment_declined);
  CHECK(a.err().message.find("0002") == std::string::npos);  // never the number
  CHECK(psp.authorize(auth_req("d1", 500, declined)).code() == errc::payment_declined);
  CHECK(psp.authorize(auth_req("d2", 500, broke)).err().message ==
        "card declined (insufficient_funds)");
  CHECK(psp.stats().declines == 2);
  CHECK(psp.intents().empty());
}

TEST_CASE("a 5xx applies nothing; a timeout applies and a retry with the key learns the outcome") {
  const auto c = card();
  sandbox_psp psp(sandbox_faults{7, 1.0, 0, 0, 0, 0});
  CHECK(psp.authorize(auth_req("k", 800, c)).code() == errc::psp_unavailable);
  CHECK(psp.intents().empty());

  psp.set_faults(sandbox_faults{7, 0, 1.0, 0, 0, 0});
  CHECK(psp.authorize(auth_req("k", 800, c)).code() == errc::psp_unavailable);
  REQUIRE(psp.intents().size() == 1);  // applied, answer lost
  const std::string id = psp.intents().front().intent.id;
  CHECK(psp.capture(id, 800, "cap").code() == errc::psp_unavailable);
  CHECK(psp.find(id)->captures == 1);

  psp.set_faults(sandbox_faults{7, 0, 0, 0, 0, 0});
  auto again = psp.authorize(auth_req("k", 800, c));
  REQUIRE(again.ok());
  CHECK(again->id == id);
  auto cap = psp.capture(id, 800, "cap");
  REQUIRE(cap.ok());
  CHECK(cap->status == intent_status::succeeded);
  CHECK(psp.find(id)->captures == 1);
  CHECK(psp.stats().authorizations == 1);
  CHECK(psp.stats().timeouts == 2);
  CHECK(psp.stats().server_errors == 1);
}

TEST_CASE("failures are a function of the seed") {
  const auto c = card();
  auto outcomes = [&](std::uint64_t seed) {
    sandbox_psp psp(sandbox_faults{seed, 0.2, 0.2, 0.2, 0, 0});
    std::vector<int> out;
    for (int i = 0; i < 200; ++i)
      out.push_back(
          static_cast<int>(psp.authorize(auth_req("k" + std::to_string(i), 100 + i, c)).code()));
    return out;
  };
  const auto a = outcomes(42), b = outcomes(42), other = outcomes(43);
  CHECK(a == b);
  CHECK(a != other);
  int declined = 0, unavailable = 0, ok = 0;
  for (int code : a) {
    declined += code == static_cast<int>(errc::payment_declined);
    unavailable += code == static_cast<int>(errc::psp_unavailable);
    ok += code == static_cast<int>(errc::ok);
  }
  CHECK(declined > 0);
  CHECK(unavailable > 0);
  CHECK(ok > 0);
  CHECK(declined + unavailable + ok == 200);
}

TEST_CASE("callbacks: duplicated, and late ones arrive after newer events") {
  const auto c = card();
  sandbox_psp dup(sandbox_faults{3, 0, 0, 0, 1.0, 0});
  auto in = dup.authorize(auth_req("k", 100, c));
  REQUIRE(in.ok());
  auto evs = dup.take_events();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].id == evs[1].id);
  CHECK(evs[0].type == "payment_intent.amount_capturable_updated");
  CHECK(evs[0].intent == in->id);
  CHECK(dup.take_events().empty());

  sandbox_psp late(sandbox_faults{3, 0, 0, 0, 0, 1.0});
  auto held = late.authorize(auth_req("k", 100, c));
  REQUIRE(held.ok());
  CHECK(late.take_events().empty());  // held back
  late.set_faults(sandbox_faults{3, 0, 0, 0, 0, 0});
  REQUIRE(late.capture(held->id, 100, "cap").ok());
  evs = late.take_events();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].type == "payment_intent.succeeded");
  CHECK(evs[1].type == "payment_intent.amount_capturable_updated");  // late, after the newer one
}

TEST_CASE("a durable sandbox keeps its intents and keys across a restart") {
  test::temp_dir dir;
  const std::string journal = dir.sub("sandbox.journal");
  const auto c = card();
  std::string id;
  {
    auto psp = sandbox_psp::open_durable(journal);
    REQUIRE(psp.ok());
    auto in = (*psp)->authorize(auth_req("tr-9-65537", 1500, c));
    REQUIRE(in.ok());
    id = in->id;
    REQUIRE((*psp)->capture(id, 1200, "tr-9-65538").ok());
    CHECK((*psp)->authorize(auth_req("tr-10-65537", 900, card(sandbox_declined_card))).code() ==
          errc::payment_declined);
  }  // the process dies here: nothing but the journal survives
  {
    std::ofstream torn(journal, std::ios::app);
    torn << R"({"k":"tr-11-65537","f":"authorize|)";  // a write the crash cut short
  }
  auto psp = sandbox_psp::open_durable(journal);
  REQUIRE(psp.ok());
  auto& p = **psp;
  // The same keys replay their first answers: no second hold, no second capture.
  auto again = p.authorize(auth_req("tr-9-65537", 1500, c));
  REQUIRE(again.ok());
  CHECK(again->id == id);
  auto cap = p.capture(id, 1200, "tr-9-65538");
  REQUIRE(cap.ok());
  CHECK(cap->amount_received == 1200);
  CHECK(p.authorize(auth_req("tr-10-65537", 900, card(sandbox_declined_card))).code() ==
        errc::payment_declined);
  CHECK(p.capture(id, 1300, "tr-9-65538").code() == errc::idempotency_conflict);
  auto rec = p.find(id);
  REQUIRE(rec.has_value());
  CHECK(rec->captures == 1);
  CHECK(rec->key == "tr-9-65537");
  CHECK(p.stats().captures == 0);  // this process applied none: both were replays
  CHECK(p.stats().replays == 3);
  // New ids do not collide with the replayed ones.
  auto fresh = p.authorize(auth_req("tr-12-65537", 500, c));
  REQUIRE(fresh.ok());
  CHECK(fresh->id != id);
  CHECK(p.intents().size() == 2);
}
