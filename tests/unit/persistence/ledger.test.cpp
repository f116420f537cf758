// The ledger in the store: chains commit atomically with the rest of a batch (a
// refused chain refuses the trip write too), survive a reopen, and stay
// consistent under concurrent group commits racing for the same hold.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <rocksdb/db.h>

#include "../../../persistence/src/ledger_rows.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/store.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

std::unique_ptr<store> open_store(const std::string& path) {
  store_options o;
  o.path = path;
  auto s = store::open(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

void require_invariants(const ledger& l) {
  auto r = l.check_invariants();
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
}

ride_parties ride(std::uint64_t trip) {
  return {money_domain::trip, trip, rider_id{trip % 5 + 1}, driver_id{trip % 3 + 1}};
}

const account_id clearing{account_kind::psp_clearing, 0};

}  // namespace

TEST_CASE("a hold commits in the same batch as the trip write, or neither does") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  ledger l(*s);
  const money_rules rules;
  write_batch b;
  b.put_entity(entity_kind::trip, 11, 1, {1, 2, 3});
  b.add_event({"t", "k", "requested", {}});
  b.add_transfers({*hold_transfer(ride(11), 2500, 1000, rules)});
  REQUIRE(s->commit(b).ok());
  CHECK(l.balance_of({account_kind::rider, ride(11).rider.value}).debits_pending == 2500);
  CHECK(*l.state_of(make_transfer_id(money_domain::trip, 11, money_code::hold)) ==
        pending_state::open);

  // A second hold with the same id but another amount is
  // refused, and the trip snapshot and event of that batch are not written.
  write_batch bad;
  bad.put_entity(entity_kind::trip, 12, 1, {4});
  bad.add_event({"t", "k", "should not exist", {}});
  bad.add_transfers({*hold_transfer(ride(11), 9999, 1000, rules)});
  CHECK(s->commit(bad).code() == errc::transfer_exists);
  CHECK_FALSE(s->load_entity(entity_kind::trip, 12)->has_value());
  auto rows = s->read_outbox(0, 100);
  REQUIRE(rows.ok());
  CHECK(rows->size() == 1);
  CHECK(s->outbox_depth() == 1);
  // The next batch's event gets the next sequence: no hole.
  write_batch next;
  next.add_event({"t", "k", "next", {}});
  REQUIRE(s->commit(next).ok());
  rows = s->read_outbox(0, 100);
  REQUIRE(rows->size() == 2);
  CHECK(rows->at(1).sequence == rows->at(0).sequence + 1);
  require_invariants(l);
}

TEST_CASE("capture, void and fee chains; a second capture is refused; replays are free") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  ledger l(*s);
  money_rules rules;
  rules.tax_permille = 80;
  for (std::uint64_t trip : {1, 2, 3})
    REQUIRE(l.post({*hold_transfer(ride(trip), 2000, 10, rules)}).ok());
  REQUIRE(l.post(*capture_transfers(ride(1), 2000, 1800, 20, rules)).ok());
  REQUIRE(l.post(*cancel_transfers(ride(2), 2000, 0, 20, rules)).ok());
  REQUIRE(l.post(*cancel_transfers(ride(3), 2000, 500, 20, rules)).ok());
  // Retry of the capture (same ids, same fields): ok and nothing moves twice.
  const auto before = l.balance_of({account_kind::rider, ride(1).rider.value});
  REQUIRE(l.post(*capture_transfers(ride(1), 2000, 1800, 20, rules)).ok());
  CHECK(l.balance_of({account_kind::rider, ride(1).rider.value}) == before);
  // A second, different capture of the same hold is refused.
  CHECK(l.post(*capture_transfers(ride(1), 2000, 1700, 30, rules)).code() == errc::transfer_exists);
  CHECK(l.post(*capture_transfers(ride(2), 2000, 1700, 30, rules)).code() == errc::ledger_rejected);
  CHECK(l.open_holds().empty());
  const auto c = l.balance_of(clearing);
  CHECK(c.credits_posted == c.debits_posted);  // everything captured is allocated
  auto drv = l.transfers_of({account_kind::driver_payable, ride(1).driver.value});
  REQUIRE(drv.ok());
  CHECK_FALSE(drv->empty());
  require_invariants(l);
}

TEST_CASE("ride transfers are indexed as due with their batch until cleared; others never") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  ledger l(*s);
  money_rules rules;
  rules.tax_permille = 80;
  auto id = [](std::uint64_t trip, money_code c) {
    return make_transfer_id(money_domain::trip, trip, c);
  };
  CHECK(l.rides_due()->empty());
  REQUIRE(l.post({*hold_transfer(ride(7), 2000, 10, rules)}).ok());
  REQUIRE(l.post({*hold_transfer(ride(8), 900, 10, rules)}).ok());
  // A payment's hold and a ride's split lines move no ride money at the PSP.
  REQUIRE(l.post({*hold_transfer({money_domain::payment, 9, rider_id{1}, driver_id{1}}, 500, 10,
                                 rules)})
              .ok());
  CHECK(*l.rides_due() ==
        std::vector<transfer_id>{id(7, money_code::hold), id(8, money_code::hold)});
  REQUIRE(l.clear_ride_due({id(7, money_code::hold)}).ok());
  // The capture chain indexes its capture only; a replay of it indexes nothing new.
  REQUIRE(l.post(*capture_transfers(ride(7), 2000, 1800, 20, rules)).ok());
  REQUIRE(l.clear_ride_due({id(7, money_code::capture)}).ok());
  REQUIRE(l.post(*capture_transfers(ride(7), 2000, 1800, 20, rules)).ok());
  CHECK(*l.rides_due() == std::vector<transfer_id>{id(8, money_code::hold)});
  // The index is durable: it survives a reopen as written.
  s.reset();
  s = open_store(dir.sub("db"));
  ledger again(*s);
  CHECK(*again.rides_due() == std::vector<transfer_id>{id(8, money_code::hold)});
  REQUIRE(again.post(*cancel_transfers(ride(8), 900, 0, 20, rules)).ok());
  CHECK(*again.rides_due() ==
        std::vector<transfer_id>{id(8, money_code::hold), id(8, money_code::release)});
  require_invariants(again);
}

TEST_CASE("a store from before the ride-due index gets it once at open, then keeps it") {
  test::temp_dir dir;
  money_rules rules;
  auto id = [](std::uint64_t trip, money_code c) {
    return make_transfer_id(money_domain::trip, trip, c);
  };
  {
    auto s = open_store(dir.sub("db"));
    ledger l(*s);
    REQUIRE(l.post({*hold_transfer(ride(7), 2000, 10, rules)}).ok());
    REQUIRE(l.post(*capture_transfers(ride(7), 2000, 1800, 20, rules)).ok());
    REQUIRE(l.post({*hold_transfer(ride(8), 900, 10, rules)}).ok());
    REQUIRE(l.post({*hold_transfer({money_domain::payment, 9, rider_id{1}, driver_id{1}}, 500, 10,
                                   rules)})
                .ok());
  }
  {
    // Make it a store written before the index: no 'D' rows, no marker.
    rocksdb::DBOptions o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", "entities", "journal", "outbox", "meta", "ledger"})
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions{});
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.sub("db"), cfs, &h, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const std::string from(1, ledger_rows::ride_due_prefix);
    const std::string to(1, ledger_rows::ride_due_prefix + 1);
    REQUIRE(db->DeleteRange(rocksdb::WriteOptions{}, h[5], from, to).ok());
    REQUIRE(db->Delete(rocksdb::WriteOptions{}, h[4], ledger_rows::meta_ride_due_indexed).ok());
    std::string row;
    REQUIRE(db->Get(rocksdb::ReadOptions{}, h[5],
                    ledger_rows::ride_due_key(id(8, money_code::hold)), &row)
                .IsNotFound());
    for (auto* c : h) REQUIRE(db->DestroyColumnFamilyHandle(c).ok());
  }
  auto s = open_store(dir.sub("db"));
  ledger l(*s);
  // Every ride transfer is due again (the charger drops those in line at its
  // first reconcile); the payment's hold is not a ride's.
  CHECK(*l.rides_due() == std::vector<transfer_id>{id(7, money_code::hold),
                                                   id(7, money_code::capture),
                                                   id(8, money_code::hold)});
  REQUIRE(l.clear_ride_due({id(7, money_code::hold), id(7, money_code::capture)}).ok());
  // Once: the next open does not scan again (cleared rows stay cleared).
  s.reset();
  s = open_store(dir.sub("db"));
  ledger again(*s);
  CHECK(*again.rides_due() == std::vector<transfer_id>{id(8, money_code::hold)});
  require_invariants(again);
}

TEST_CASE("balances and open holds survive a reopen") {
  test::temp_dir dir;
  const money_rules rules;
  balance rider_before;
  {
    auto s = open_store(dir.sub("db"));
    ledger l(*s);
    REQUIRE(l.post({*hold_transfer(ride(1), 2000, 10, rules)}).ok());
    REQUIRE(l.post({*hold_transfer(ride(6), 1500, 10, rules)}).ok());
    REQUIRE(l.post(*capture_transfers(ride(1), 2000, 1900, 20, rules)).ok());
    rider_before = l.balance_of({account_kind::rider, ride(1).rider.value});
  }
  auto s = open_store(dir.sub("db"));
  ledger l(*s);
  CHECK(l.balance_of({account_kind::rider, ride(1).rider.value}) == rider_before);
  REQUIRE(l.open_holds().size() == 1);
  CHECK(l.open_holds().front().amount == 1500);
  // The reopened ledger still knows the capture: a retry is a replay, another
  // amount is refused; the open hold can still be captured.
  REQUIRE(l.post(*capture_transfers(ride(1), 2000, 1900, 99, rules)).ok());
  CHECK(l.balance_of({account_kind::rider, ride(1).rider.value}) == rider_before);
  CHECK(l.post(*capture_transfers(ride(1), 2000, 1800, 99, rules)).code() == errc::transfer_exists);
  REQUIRE(l.post(*capture_transfers(ride(6), 1500, 1500, 30, rules)).ok());
  require_invariants(l);
}

TEST_CASE("concurrent group commits: exactly one of two racing captures wins") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  ledger l(*s);
  const money_rules rules;
  constexpr int trips = 200;
  for (std::uint64_t t = 1; t <= trips; ++t)
    REQUIRE(l.post({*hold_transfer(ride(t), 1000 + static_cast<std::int64_t>(t), 5, rules)}).ok());
  // Four threads: two capture every trip with different final fares (different
  // transfers, one hold), two void every trip. Each hold is resolved exactly once.
  std::atomic<int> captured{0}, voided{0}, refused{0};
  auto worker = [&](int kind) {
    for (std::uint64_t t = 1; t <= trips; ++t) {
      ride_parties p = ride(t);
      const auto hold = 1000 + static_cast<std::int64_t>(t);
      auto chain = kind < 2 ? *capture_transfers(p, hold, hold - kind, 10, rules)
                            : *cancel_transfers(p, hold, 0, 10, rules);
      auto r = l.post(chain);
      if (r.ok())
        (kind < 2 ? captured : voided)++;
      else if (r.code() == errc::ledger_rejected || r.code() == errc::transfer_exists)
        refused++;
      else
        FAIL("unexpected ", r.err().message);
    }
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) threads.emplace_back(worker, k);
  for (auto& th : threads) th.join();
  // Void replays (identical void from the other voider) also succeed: count holds instead.
  int posted = 0, voids = 0;
  for (std::uint64_t t = 1; t <= trips; ++t) {
    auto st = l.state_of(make_transfer_id(money_domain::trip, t, money_code::hold));
    REQUIRE(st.ok());
    REQUIRE((*st == pending_state::posted || *st == pending_state::voided));
    (*st == pending_state::posted ? posted : voids)++;
  }
  CHECK(posted + voids == trips);
  CHECK(captured.load() == posted);  // a capture never succeeds for a voided hold
  CHECK(l.open_holds().empty());
  require_invariants(l);
}
