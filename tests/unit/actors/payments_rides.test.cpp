// Rides at the PSP (payments/ride_charger): the ledger's hold, capture, void
// and fee of a trip reach the sandbox PSP with keys derived from their transfer
// ids and the right amounts; a declined card ends the request with the typed
// reason and voids the hold; unknown outcomes are retried with the same key;
// after a crash between "PSP accepted" and "outcome recorded" reconcile()
// finishes the ride without a second hold or capture, and so it does after a
// power cut drops the charger's unsynced records; and a ride on the node
// charged through the Stripe-shaped adapter against the real stripe-mock.
#include <limits>
#include <utility>

#include "node_harness.hpp"
#include "payments/ride_charger.hpp"
#include "payments/stripe_psp.hpp"
#include "payments_fixture.hpp"
#include "rideshard/engine/trip_money.hpp"
#include "stripe_mock.hpp"

using namespace rideshard;
using namespace rideshard::test;
using payments::ride_charger;

namespace {

std::string key_of(trip_id t, money_code code) {
  return to_string(make_transfer_id(money_domain::trip, t.value, code));
}

std::unique_ptr<ride_charger> open_charger(payments_fixture& f, payments::psp& psp,
                                           std::vector<std::string>* ended = nullptr) {
  payments::ride_charger_options o;
  o.now_ms = [c = f.clock] { return c->load(); };
  auto c = ride_charger::open(*f.store, *f.vault, *f.service, psp, std::move(o));
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  if (ended)
    (*c)->set_end_request([ended](trip_id t, const std::string& reason) -> result<void> {
      ended->push_back(to_string(t) + " " + reason);
      return {};
    });
  f.store->set_commit_listener(
      [r = c->get()](const persistence::write_batch& b) { r->committed(b); });
  return std::move(*c);
}

// The trip actor's part: one transition's ledger chain, committed.
void commit_money(persistence::store& s, const trip& before, const trip& after,
                  std::int64_t fare = 0) {
  auto chain = trip_transfers(before, after, fare, pay_t0_ms, money_rules{});
  REQUIRE(chain.ok());
  REQUIRE_FALSE(chain->empty());
  persistence::write_batch b;
  b.add_transfers(std::move(*chain));
  REQUIRE(s.commit(b).ok());
}

trip requested(std::uint64_t id, rider_id r, std::int64_t quoted) {
  trip t;
  t.id = trip_id{id};
  t.rider = r;
  t.quoted_fare_minor = quoted;
  return t;
}

trip ended(trip t, trip_state s, std::int64_t fee = 0) {
  t.state = s;
  t.driver = driver_id{5};
  t.cancel_fee_minor = fee;
  ++t.sequence;
  return t;
}

// The PSP intent a ride's hold created (by the key of its authorization).
std::optional<payments::sandbox_intent> intent_of(const payments::sandbox_psp& psp, trip_id t) {
  for (auto& in : psp.intents())
    if (in.key == key_of(t, money_code::hold)) return in;
  return std::nullopt;
}

// The driver takes the requested ride through to completion a minute later;
// the rider's receipt.
schemas::receipt drive_to_receipt(harness& h, const fake_ptr& driver, const fake_ptr& rider,
                                  const schemas::trip_status& req) {
  REQUIRE(h.next_offer(driver));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{req.trip}));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{req.trip}));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::start_trip{req.trip, req.pin}));
  h.clock->fetch_add(60 * 1000);
  auto done =
      h.reply<schemas::trip_status>(driver, h.send(driver, schemas::complete_trip{req.trip}));
  REQUIRE(done.state == trip_state::completed);
  auto receipt = h.receipt(rider, req.trip);
  REQUIRE(receipt);
  return *receipt;
}

}  // namespace

TEST_CASE("a ride's hold, capture, void and fee reach the PSP keyed by their transfers") {
  payments_fixture f;
  f.add_card(rider_id{1});
  auto rides = open_charger(f, f.psp);
  const trip a = requested(501, rider_id{1}, 2400);
  commit_money(*f.store, a, a);
  CHECK(rides->backlog() == 1);  // queued by the commit, not called on the committer's thread
  CHECK(f.psp.intents().empty());
  CHECK(rides->run_queued() == 0);
  auto held = intent_of(f.psp, a.id);
  REQUIRE(held);
  CHECK(held->intent.status == payments::intent_status::requires_capture);
  CHECK(held->intent.amount == 2400);

  commit_money(*f.store, a, ended(a, trip_state::completed), 2400);
  CHECK(rides->run_queued() == 0);
  held = intent_of(f.psp, a.id);
  CHECK(held->intent.status == payments::intent_status::succeeded);
  CHECK(held->intent.amount_received == 2400);
  CHECK(held->captures == 1);
  auto rec = rides->find(a.id);
  REQUIRE(rec);
  CHECK(rec->psp.settle == ride_settle::captured);
  CHECK(rec->collected == 2400);
  // Running again changes nothing at the PSP.
  const auto before = f.psp.stats();
  commit_money(*f.store, requested(502, rider_id{1}, 900), requested(502, rider_id{1}, 900));
  rides->run_queued();
  CHECK(f.psp.stats().captures == before.captures);
  CHECK(f.psp.stats().authorizations == before.authorizations + 1);

  // A free cancel releases the intent; a late one captures the fee.
  const trip b = requested(502, rider_id{1}, 900);
  commit_money(*f.store, b, ended(b, trip_state::cancelled));
  rides->run_queued();
  CHECK(intent_of(f.psp, b.id)->intent.status == payments::intent_status::canceled);
  CHECK(rides->find(b.id)->psp.settle == ride_settle::released);
  const trip c = requested(503, rider_id{1}, 1500);
  commit_money(*f.store, c, c);
  commit_money(*f.store, c, ended(c, trip_state::cancelled, 500));
  rides->run_queued();
  auto fee = intent_of(f.psp, c.id);
  CHECK(fee->intent.amount_received == 500);
  CHECK(fee->captures == 1);
  CHECK(f.psp.stats().replays == 0);  // every call was a first call
}

TEST_CASE("a declined card ends the request with payment_declined; nothing is captured") {
  payments_fixture f;
  f.add_card(rider_id{2}, payments::sandbox_declined_card);
  std::vector<std::string> asked;
  auto rides = open_charger(f, f.psp, &asked);
  const trip t = requested(601, rider_id{2}, 1800);
  commit_money(*f.store, t, t);
  rides->run_queued();
  REQUIRE(asked.size() == 1);
  CHECK(asked[0] == "t-601 payment_declined");
  CHECK(rides->find(t.id)->psp.auth == ride_auth::declined);
  CHECK(f.psp.intents().empty());
  // The node's cancel voids the ledger hold; the charger records it released.
  commit_money(*f.store, t, ended(t, trip_state::cancelled));
  rides->run_queued();
  CHECK(rides->find(t.id)->psp.settle == ride_settle::released);
  CHECK(asked.size() == 1);
  CHECK(payments::needs_attention(*rides->find(t.id)));
}

TEST_CASE("unknown outcomes are retried with the same key and applied once") {
  payments_fixture f;
  f.add_card(rider_id{3});
  auto rides = open_charger(f, f.psp);
  const trip t = requested(701, rider_id{3}, 2000);
  commit_money(*f.store, t, t);
  commit_money(*f.store, t, ended(t, trip_state::completed), 2000);
  payments::sandbox_faults lossy;
  lossy.timeout = 1.0;  // every call applied, every answer lost
  f.psp.set_faults(lossy);
  CHECK(rides->run_queued() == 1);
  CHECK(rides->find(t.id)->retries == 1);
  CHECK(rides->run_queued() == 1);
  f.psp.set_faults({});
  CHECK(rides->run_queued() == 0);
  auto in = intent_of(f.psp, t.id);
  REQUIRE(in);
  CHECK(in->captures == 1);
  CHECK(f.psp.intents().size() == 1);  // the lost answers were replays, not new holds
  CHECK(f.psp.stats().authorizations == 1);
  CHECK(rides->find(t.id)->retries == 0);
  CHECK(rides->find(t.id)->psp.settle == ride_settle::captured);
}

TEST_CASE("after a crash between the PSP's answer and its record, reconcile captures once") {
  payments_fixture f;
  f.add_card(rider_id{4});
  temp_dir psp_dir;
  const std::string journal = psp_dir.path + "/sandbox.journal";
  const trip t = requested(801, rider_id{4}, 3100);
  const trip u = requested(802, rider_id{4}, 700);
  {
    auto psp = payments::sandbox_psp::open_durable(journal);
    REQUIRE(psp.ok());
    auto rides = open_charger(f, **psp);
    commit_money(*f.store, t, t);
    commit_money(*f.store, u, u);
    rides->run_queued();  // both authorized and recorded
    commit_money(*f.store, t, ended(t, trip_state::completed), 3100);
    commit_money(*f.store, u, ended(u, trip_state::cancelled));
    // The dead process sent the capture and the cancel, the PSP applied them,
    // and it died before recording either.
    auto rec = rides->find(t.id);
    REQUIRE(rec);
    REQUIRE((*psp)->capture(rec->intent, 3100, key_of(t.id, money_code::capture)).ok());
    REQUIRE((*psp)->cancel(rides->find(u.id)->intent, key_of(u.id, money_code::release)).ok());
    f.store->set_commit_listener(nullptr);
  }
  f.reopen();
  auto psp = payments::sandbox_psp::open_durable(journal);  // the PSP kept its records
  REQUIRE(psp.ok());
  auto rides = open_charger(f, **psp);
  CHECK(rides->find(t.id)->psp.settle == ride_settle::open);
  auto rep = rides->reconcile();
  REQUIRE(rep.ok());
  CHECK(rep->trips == 2);
  CHECK(rep->pending == 2);
  CHECK(rides->run_queued() == 0);
  CHECK(rides->find(t.id)->psp.settle == ride_settle::captured);
  CHECK(rides->find(u.id)->psp.settle == ride_settle::released);
  auto in = intent_of(**psp, t.id);
  REQUIRE(in);
  CHECK(in->captures == 1);
  CHECK(in->intent.amount_received == 3100);
  CHECK((*psp)->stats().captures == 0);  // answered from the PSP's records: replays
  CHECK((*psp)->stats().cancels == 0);
  CHECK((*psp)->stats().replays == 2);
  auto again = rides->reconcile();
  CHECK(again->pending == 0);
  f.store->set_commit_listener(nullptr);
}

TEST_CASE("ride records a power cut drops are rebuilt by reconcile; each PSP call applied once") {
  // The charger commits its records unsynced: a power cut after them loses
  // them, with the ledger's ride-due deletes that followed them in the WAL.
  auto disk = std::make_shared<persistence::power_loss_disk>();
  payments_fixture f(disk);
  f.add_card(rider_id{9});
  temp_dir psp_dir;  // the PSP's own disk: the cut does not reach it
  const std::string journal = psp_dir.path + "/sandbox.journal";
  const trip t = requested(851, rider_id{9}, 2600);  // loses its authorization record
  const trip u = requested(852, rider_id{9}, 1900);  // loses its capture record
  std::string t_intent;
  {
    auto psp = payments::sandbox_psp::open_durable(journal);
    REQUIRE(psp.ok());
    auto rides = open_charger(f, **psp);
    commit_money(*f.store, u, u);
    CHECK(rides->run_queued() == 0);  // u authorized
    // A synced commit (the completion) takes u's authorization record to disk with it.
    commit_money(*f.store, u, ended(u, trip_state::completed), 1900);
    commit_money(*f.store, t, t);
    CHECK(rides->run_queued() == 0);  // u captured, t authorized: no synced commit after
    CHECK(rides->find(u.id)->psp.settle == ride_settle::captured);
    t_intent = rides->find(t.id)->intent;
    CHECK_FALSE(t_intent.empty());
    CHECK((*psp)->stats().authorizations == 2);
    CHECK((*psp)->stats().captures == 1);
    disk->cut_power();
    f.store->set_commit_listener(nullptr);
  }
  f.service.reset();
  f.store.reset();  // closed with the power off
  auto cut = disk->restore_power();
  REQUIRE(cut.ok());
  CHECK(cut->bytes_dropped > 0);
  f.reopen();
  auto psp = payments::sandbox_psp::open_durable(journal);
  REQUIRE(psp.ok());
  auto rides = open_charger(f, **psp);
  CHECK_FALSE(rides->find(t.id));  // both records are behind the PSP now
  auto ru = rides->find(u.id);
  REQUIRE(ru);
  CHECK(ru->psp.settle == ride_settle::open);
  auto rep = rides->reconcile();
  REQUIRE(rep.ok());
  CHECK(rep->pending == 2);
  CHECK(rides->run_queued() == 0);
  auto rt = rides->find(t.id);
  REQUIRE(rt);
  CHECK(rt->psp.auth == ride_auth::authorized);
  CHECK(rt->intent == t_intent);  // the same hold, answered again by its key
  CHECK(rides->find(u.id)->psp.settle == ride_settle::captured);
  CHECK(rides->find(u.id)->collected == 1900);
  CHECK((*psp)->stats().authorizations == 0);  // no second hold
  CHECK((*psp)->stats().captures == 0);        // no second capture
  CHECK((*psp)->stats().replays == 2);
  CHECK((*psp)->intents().size() == 2);
  CHECK(intent_of(**psp, u.id)->captures == 1);
  CHECK(intent_of(**psp, u.id)->intent.amount_received == 1900);
  commit_money(*f.store, t, ended(t, trip_state::completed), 2600);
  CHECK(rides->run_queued() == 0);
  CHECK(intent_of(**psp, t.id)->captures == 1);
  CHECK(persistence::ledger(*f.store).rides_due()->empty());
  f.store->set_commit_listener(nullptr);
}

TEST_CASE("reconcile reads only rides not known in line, never the settled ones") {
  payments_fixture f;
  f.add_card(rider_id{6});
  const trip settled = requested(1001, rider_id{6}, 1500);
  const trip completing = requested(1002, rider_id{6}, 1600);
  const trip fresh = requested(1003, rider_id{6}, 1700);
  {
    auto rides = open_charger(f, f.psp);
    commit_money(*f.store, settled, settled);
    commit_money(*f.store, settled, ended(settled, trip_state::completed), 1500);
    commit_money(*f.store, completing, completing);
    CHECK(rides->run_queued() == 0);  // settled captured, completing authorized
    CHECK(persistence::ledger(*f.store).rides_due()->empty());
    // The node dies right after committing a completion and a new request:
    // the charger never saw them.
    f.store->set_commit_listener(nullptr);
    commit_money(*f.store, completing, ended(completing, trip_state::completed), 1600);
    commit_money(*f.store, fresh, fresh);
  }
  f.reopen();
  auto rides = open_charger(f, f.psp);
  auto rep = rides->reconcile();
  REQUIRE(rep.ok());
  CHECK(rep->trips == 2);  // the settled ride is not read (a full ledger scan would give 3)
  CHECK(rep->pending == 2);
  CHECK(rides->run_queued() == 0);
  CHECK(rides->find(completing.id)->psp.settle == ride_settle::captured);
  CHECK(rides->find(fresh.id)->psp.auth == ride_auth::authorized);
  CHECK(intent_of(f.psp, settled.id)->captures == 1);
  CHECK(persistence::ledger(*f.store).rides_due()->empty());
  CHECK(rides->reconcile()->trips == 0);
  f.store->set_commit_listener(nullptr);
}

TEST_CASE("open() reads no ride record however many rides are settled; the admin list pages") {
  payments_fixture f;
  f.add_card(rider_id{6});
  f.add_card(rider_id{2}, payments::sandbox_declined_card);
  std::vector<std::uint64_t> all, declined;
  {
    std::vector<std::string> asked;
    auto rides = open_charger(f, f.psp, &asked);
    for (std::uint64_t id = 2001; id <= 2063; ++id) {
      const bool declines = id % 20 == 0;  // 2020, 2040, 2060
      const trip t = requested(id, declines ? rider_id{2} : rider_id{6}, 1000 + id);
      commit_money(*f.store, t, t);
      REQUIRE(rides->run_queued() == 0);  // authorized, or declined and the request ended
      commit_money(*f.store, t, ended(t, declines ? trip_state::cancelled : trip_state::completed),
                   declines ? 0 : 1000 + id);
      REQUIRE(rides->run_queued() == 0);
      all.push_back(id);
      if (declines) declined.push_back(id);
    }
    CHECK(asked.size() == declined.size());
    f.store->set_commit_listener(nullptr);
  }
  f.reopen();
  auto rides = open_charger(f, f.psp);
  CHECK(rides->records_read() == 0);  // loading them all at open would read 63
  auto rep = rides->reconcile();
  REQUIRE(rep.ok());
  CHECK(rep->trips == 0);
  CHECK(rides->records_read() == 0);

  // Rides needing an operator come from their index: exactly the declined ones.
  auto attention = rides->records(true, 0, 10);
  REQUIRE(attention.ok());
  std::vector<std::uint64_t> got;
  for (const auto& r : attention->rides) {
    CHECK(r.psp.auth == ride_auth::declined);
    got.push_back(r.trip);
  }
  CHECK(got == declined);
  CHECK(attention->next == 0);
  CHECK(rides->records_read() == declined.size());
  // Every ride, 25 a page, each page reading only its rows.
  got.clear();
  std::uint64_t after = 0;
  for (int pages = 1;; ++pages) {
    const auto read_before = rides->records_read();
    auto page = rides->records(false, after, 25);
    REQUIRE(page.ok());
    CHECK(page->rides.size() <= 25);
    CHECK(rides->records_read() - read_before == page->rides.size());
    for (const auto& r : page->rides) got.push_back(r.trip);
    if (page->next == 0) {
      CHECK(pages == 3);
      break;
    }
    after = page->next;
  }
  CHECK(got == all);
  // One ride on demand.
  CHECK(rides->find(trip_id{2007})->psp.settle == ride_settle::captured);
  CHECK(rides->find(trip_id{2060})->psp.auth == ride_auth::declined);
  CHECK_FALSE(rides->find(trip_id{999}));
  f.store->set_commit_listener(nullptr);
}

TEST_CASE("a store from before the attention index gets it once, at its first open") {
  payments_fixture f;
  f.add_card(rider_id{6});
  f.add_card(rider_id{2}, payments::sandbox_declined_card);
  const trip paid = requested(3001, rider_id{6}, 1200);
  const trip refused = requested(3002, rider_id{2}, 1300);
  {
    std::vector<std::string> asked;
    auto rides = open_charger(f, f.psp, &asked);
    commit_money(*f.store, paid, paid);
    commit_money(*f.store, paid, ended(paid, trip_state::completed), 1200);
    commit_money(*f.store, refused, refused);
    CHECK(rides->run_queued() == 0);
    f.store->set_commit_listener(nullptr);
    // What a store written before the index holds: the records, no index rows.
    persistence::write_batch old;
    old.erase_entity(persistence::entity_kind::ride_charge_attention, refused.id.value);
    old.erase_entity(persistence::entity_kind::ride_charge_attention,
                     std::numeric_limits<std::uint64_t>::max());
    REQUIRE(f.store->commit(old).ok());
    auto none = rides->records(true, 0, 10);
    REQUIRE(none.ok());
    CHECK(none->rides.empty());
  }
  f.reopen();
  {
    auto rides = open_charger(f, f.psp);
    CHECK(rides->records_read() == 2);  // the one pass over the records
    auto attention = rides->records(true, 0, 10);
    REQUIRE(attention.ok());
    REQUIRE(attention->rides.size() == 1);
    CHECK(attention->rides[0].trip == refused.id.value);
    CHECK(attention->rides[0].psp.auth == ride_auth::declined);
    f.store->set_commit_listener(nullptr);
  }
  f.reopen();
  auto rides = open_charger(f, f.psp);
  CHECK(rides->records_read() == 0);  // once: the marker went with the index
  CHECK(rides->records(true, 0, 10)->rides.size() == 1);
  f.store->set_commit_listener(nullptr);
}

TEST_CASE("a hold whose authorization was never recorded is authorized by its key, then voided") {
  payments_fixture f;
  f.add_card(rider_id{5});
  const trip t = requested(901, rider_id{5}, 1200);
  // The authorization reached the PSP; the crash came before its record, and
  // the rider cancelled after the restart.
  {
    auto card = f.vault->reveal(f.service->default_method(rider_id{5})->token);
    REQUIRE(card.ok());
    payments::authorize_request req;
    req.idempotency_key = key_of(t.id, money_code::hold);
    req.amount = 1200;
    req.card = &*card;
    REQUIRE(f.psp.authorize(req).ok());
  }
  auto rides = open_charger(f, f.psp);
  commit_money(*f.store, t, t);
  commit_money(*f.store, t, ended(t, trip_state::cancelled));
  rides->run_queued();
  CHECK(f.psp.intents().size() == 1);  // the same intent, found again by its key
  CHECK(intent_of(f.psp, t.id)->intent.status == payments::intent_status::canceled);
  CHECK(rides->find(t.id)->psp.settle == ride_settle::released);
  f.store->set_commit_listener(nullptr);
}

TEST_CASE("a ride on the node: hold at request, capture at completion, decline ends it") {
  payments_fixture f;
  f.add_card(rider_id{11});
  f.add_card(rider_id{12}, payments::sandbox_insufficient_funds_card);
  auto rides = open_charger(f, f.psp);
  harness h(3s, [&](node::dispatch_options& o) { o.store = f.store.get(); });
  rides->set_end_request([&h](trip_id t, const std::string& reason) -> result<void> {
    auto ended = h.node->end_trip(t, reason);
    if (!ended) return ended.err();
    return {};
  });
  auto driver = h.online_driver("d-11", h.near(300));
  auto rider = h.connect("r-11");
  // No quote: the request holds the fare estimate.
  auto req = h.request_ride(rider, h.near(0), h.near(3000, 2000));
  rides->run_queued();
  auto held = intent_of(f.psp, req.trip);
  REQUIRE(held);
  const auto hold = persistence::ledger(*f.store).find(
      make_transfer_id(money_domain::trip, req.trip.value, money_code::hold));
  REQUIRE(hold.ok());
  REQUIRE(hold->has_value());
  CHECK(held->intent.amount == (*hold)->amount);
  CHECK(held->intent.amount > 0);
  auto receipt = drive_to_receipt(h, driver, rider, req);
  rides->run_queued();
  // The PSP collected exactly the receipt's fare: the hold's capture (<= hold)
  // plus, above the estimate, an extra charge on its own intent.
  auto rec = rides->find(req.trip);
  REQUIRE(rec);
  CHECK(rec->collected == receipt.fare.total_minor);
  CHECK(intent_of(f.psp, req.trip)->captures == 1);
  CHECK(rec->psp.settle == ride_settle::captured);

  // A declined card: the rider hears the request end with the typed reason.
  auto rider2 = h.connect("r-12");
  auto req2 = h.request_ride(rider2, h.near(0), h.near(2000, 1000));
  rides->run_queued();
  auto cancelled = h.status(rider2, req2.trip, trip_state::cancelled);
  REQUIRE(cancelled);
  CHECK(cancelled->cancel_reason == "payment_declined");
  CHECK(cancelled->cancelled_by == party::system);
  rides->run_queued();
  CHECK(rides->find(req2.trip)->psp.settle == ride_settle::released);
  const auto r2 = persistence::ledger(*f.store).balance_of({account_kind::rider, 12});
  CHECK(r2.debits_pending == 0);  // the hold was voided
  CHECK(r2.debits_posted == 0);
  h.node.reset();
  f.store->set_commit_listener(nullptr);
}

TEST_CASE("a ride on the node through the Stripe adapter: hold at request, capture at completion") {
  stripe_mock mock;  // the real stripe-mock: each request checked against Stripe's API spec
  payments::stripe_options so;
  so.port = mock.port();
  so.secret_key = "sk_test_123";
  payments::stripe_psp stripe(so);
  payments_fixture f;
  f.add_card(rider_id{21});
  auto rides = open_charger(f, stripe);
  harness h(3s, [&](node::dispatch_options& o) { o.store = f.store.get(); });
  auto driver = h.online_driver("d-21", h.near(300));
  auto rider = h.connect("r-21");

  // Request: the ledger holds the fare; the charger sends the vaulted card as a
  // PaymentMethod, then a manual-capture PaymentIntent keyed by the hold's transfer id.
  auto req = h.request_ride(rider, h.near(0), h.near(3000, 2000));
  CHECK(stripe.calls().empty());  // the PSP call is the charger's, off the actors' path
  CHECK(rides->run_queued() == 0);
  const std::string hold = key_of(req.trip, money_code::hold);
  auto calls = stripe.calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].target == "/v1/payment_methods");
  CHECK(calls[0].echoed_key == hold + "-pm");
  CHECK(calls[1].target == "/v1/payment_intents");
  CHECK(calls[1].echoed_key == hold);
  auto rec = rides->find(req.trip);
  REQUIRE(rec);
  CHECK(rec->psp.auth == ride_auth::authorized);
  CHECK(rec->intent.rfind("pi_", 0) == 0);

  // Completion: the ledger captures; the charger captures the intent under the
  // capture's transfer id (and charges anything above the hold on a new intent).
  auto receipt = drive_to_receipt(h, driver, rider, req);
  CHECK(rides->run_queued() == 0);
  rec = rides->find(req.trip);
  REQUIRE(rec);
  CHECK(rec->psp.settle == ride_settle::captured);
  CHECK(rec->collected == receipt.fare.total_minor);
  calls = stripe.calls();
  REQUIRE(calls.size() == (rec->extra_intent.empty() ? 3u : 6u));
  CHECK(calls[2].target == "/v1/payment_intents/" + rec->intent + "/capture");
  CHECK(calls[2].echoed_key == key_of(req.trip, money_code::capture));
  if (!rec->extra_intent.empty()) {
    const std::string extra = key_of(req.trip, money_code::extra_charge);
    CHECK(calls[4].echoed_key == extra);
    CHECK(calls[5].target == "/v1/payment_intents/" + rec->extra_intent + "/capture");
    CHECK(calls[5].echoed_key == extra + "-capture");
  }
  for (const auto& c : calls) {
    CAPTURE(c.target);
    CHECK(c.method == "POST");
    CHECK(c.status == 200);  // stripe-mock accepted every parameter
  }
  // Nothing left to do: a second pass sends nothing.
  CHECK(rides->reconcile()->pending == 0);
  CHECK(stripe.calls().size() == calls.size());
  h.node.reset();
  f.store->set_commit_listener(nullptr);
}
