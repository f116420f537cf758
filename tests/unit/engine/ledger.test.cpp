// The double-entry model: one transfer per id, holds posted (<= hold) or voided
// once, linked chains all-or-nothing, balances that always sum to zero.
#include <doctest/doctest.h>

#include "rideshard/engine/ledger.hpp"

using namespace rideshard;

namespace {

const account_id rider{account_kind::rider, 7};
const account_id clearing{account_kind::psp_clearing, 0};
const account_id revenue{account_kind::platform_revenue, 0};
const account_id driver{account_kind::driver_payable, 9};

transfer make(std::uint64_t id, account_id d, account_id c, std::int64_t amount,
              transfer_kind kind = transfer_kind::posted) {
  transfer t;
  t.id = {1, id};
  t.debit = d;
  t.credit = c;
  t.amount = amount;
  t.kind = kind;
  t.timestamp_ms = 1000;
  return t;
}

transfer settle(std::uint64_t id, std::uint64_t hold, transfer_kind kind, std::int64_t amount,
                std::int64_t at_ms = 1000) {
  transfer t;
  t.id = {1, id};
  t.kind = kind;
  t.pending_id = {1, hold};
  t.amount = amount;
  t.timestamp_ms = at_ms;
  return t;
}

void require_invariants(const memory_ledger& l) {
  auto r = l.check_invariants();
  REQUIRE_MESSAGE(r.ok(), r.err().message);
}

}  // namespace

TEST_CASE("a posted transfer moves money and debits equal credits") {
  memory_ledger l;
  REQUIRE(l.apply({make(1, rider, clearing, 1500)}).ok());
  CHECK(l.balance_of(rider).debits_posted == 1500);
  CHECK(l.balance_of(clearing).credits_posted == 1500);
  require_invariants(l);
}

TEST_CASE("one transfer per id: an identical retry is a replay, a different one is refused") {
  memory_ledger l;
  REQUIRE(l.apply({make(1, rider, clearing, 1500)}).ok());
  auto again = l.apply({make(1, rider, clearing, 1500)});
  REQUIRE(again.ok());
  CHECK(again->replay);
  CHECK(l.balance_of(rider).debits_posted == 1500);
  CHECK(l.apply({make(1, rider, clearing, 1600)}).code() == errc::transfer_exists);
  CHECK(l.apply({make(1, rider, revenue, 1500)}).code() == errc::transfer_exists);
  require_invariants(l);
}

TEST_CASE("malformed transfers are invalid_argument") {
  memory_ledger l;
  CHECK(l.apply({make(1, rider, rider, 5)}).code() == errc::invalid_argument);
  CHECK(l.apply({make(1, rider, clearing, 0)}).code() == errc::invalid_argument);
  CHECK(l.apply({make(1, rider, clearing, -5)}).code() == errc::invalid_argument);
  CHECK(l.apply({make(1, rider, clearing, max_transfer_minor + 1)}).code() ==
        errc::invalid_argument);
  transfer t = make(2, rider, clearing, 5);
  t.id = {};
  CHECK(l.apply({t}).code() == errc::invalid_argument);
  CHECK(l.apply({}).code() == errc::invalid_argument);
  CHECK(l.transfers().empty());
}

TEST_CASE("a hold is posted for at most its amount and the rest is released") {
  memory_ledger l;
  REQUIRE(l.apply({make(1, rider, clearing, 2000, transfer_kind::pending)}).ok());
  CHECK(l.balance_of(rider).debits_pending == 2000);
  CHECK(l.state_of({1, 1}) == pending_state::open);
  CHECK(l.apply({settle(2, 1, transfer_kind::post_pending, 2001)}).code() == errc::ledger_rejected);
  REQUIRE(l.apply({settle(2, 1, transfer_kind::post_pending, 1700)}).ok());
  CHECK(l.state_of({1, 1}) == pending_state::posted);
  CHECK(l.balance_of(rider).debits_pending == 0);
  CHECK(l.balance_of(rider).debits_posted == 1700);
  CHECK(l.balance_of(clearing).credits_posted == 1700);
  // Never twice: neither a second post nor a void after the post.
  CHECK(l.apply({settle(3, 1, transfer_kind::post_pending, 100)}).code() == errc::ledger_rejected);
  CHECK(l.apply({settle(4, 1, transfer_kind::void_pending, 0)}).code() == errc::ledger_rejected);
  // A retry of the same post is a replay, not a second capture.
  auto retry = l.apply({settle(2, 1, transfer_kind::post_pending, 1700)});
  REQUIRE(retry.ok());
  CHECK(retry->replay);
  CHECK(l.balance_of(rider).debits_posted == 1700);
  require_invariants(l);
}

TEST_CASE("only an open pending transfer can be voided, and only once") {
  memory_ledger l;
  REQUIRE(l.apply({make(1, rider, clearing, 2000, transfer_kind::pending)}).ok());
  REQUIRE(l.apply({make(2, rider, clearing, 500)}).ok());
  CHECK(l.apply({settle(3, 2, transfer_kind::void_pending, 0)}).code() == errc::ledger_rejected);
  CHECK(l.apply({settle(3, 99, transfer_kind::void_pending, 0)}).code() == errc::ledger_rejected);
  CHECK(l.apply({settle(3, 1, transfer_kind::void_pending, 1999)}).code() ==
        errc::invalid_argument);
  REQUIRE(l.apply({settle(3, 1, transfer_kind::void_pending, 0)}).ok());
  CHECK(l.state_of({1, 1}) == pending_state::voided);
  CHECK(l.balance_of(rider).debits_pending == 0);
  CHECK(l.balance_of(rider).debits_posted == 500);
  CHECK(l.apply({settle(4, 1, transfer_kind::void_pending, 0)}).code() == errc::ledger_rejected);
  CHECK(l.apply({settle(5, 1, transfer_kind::post_pending, 10)}).code() == errc::ledger_rejected);
  require_invariants(l);
}

TEST_CASE("a hold cannot be posted after its timeout, but can be voided") {
  memory_ledger l;
  transfer hold = make(1, rider, clearing, 2000, transfer_kind::pending);
  hold.timeout_ms = 60'000;
  REQUIRE(l.apply({hold}).ok());
  CHECK(l.apply({settle(2, 1, transfer_kind::post_pending, 10, 61'001)}).code() ==
        errc::ledger_rejected);
  REQUIRE(l.apply({settle(3, 1, transfer_kind::void_pending, 0, 61'001)}).ok());
  require_invariants(l);
}

TEST_CASE("a linked chain applies all or nothing") {
  memory_ledger l;
  REQUIRE(l.apply({make(1, rider, clearing, 2000, transfer_kind::pending)}).ok());
  // The last transfer is invalid: the post before it must not happen either.
  auto bad = l.apply({settle(2, 1, transfer_kind::post_pending, 2000),
                      make(3, clearing, driver, 1500), make(4, clearing, clearing, 500)});
  CHECK(bad.code() == errc::invalid_argument);
  CHECK(l.state_of({1, 1}) == pending_state::open);
  CHECK(l.balance_of(driver) == balance{});
  // Two settlements of one hold in one chain: the second sees the first.
  CHECK(l.apply({settle(2, 1, transfer_kind::post_pending, 100),
                 settle(5, 1, transfer_kind::void_pending, 0)})
            .code() == errc::ledger_rejected);
  auto ok = l.apply({settle(2, 1, transfer_kind::post_pending, 2000),
                     make(3, clearing, driver, 1500), make(4, clearing, revenue, 500)});
  REQUIRE(ok.ok());
  CHECK(ok->transfers[0].linked);
  CHECK(ok->transfers[1].linked);
  CHECK_FALSE(ok->transfers[2].linked);
  CHECK(l.balance_of(driver).credits_posted == 1500);
  CHECK(l.balance_of(clearing).credits_posted - l.balance_of(clearing).debits_posted == 0);
  // A chain partly applied before is refused, not half-replayed.
  CHECK(l.apply({make(3, clearing, driver, 1500), make(6, clearing, revenue, 1)}).code() ==
        errc::transfer_exists);
  require_invariants(l);
}

TEST_CASE("the invariant checker catches a balance that disagrees with the transfers") {
  memory_ledger l;
  REQUIRE(l.apply({make(1, rider, clearing, 1500)}).ok());
  auto balances = l.balances();
  balances[rider].debits_posted += 1;
  auto r = check_ledger_invariants(l.transfers(), balances, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("ledger invariant") != std::string::npos);
  auto dup = l.transfers();
  dup.push_back(dup.front());
  CHECK_FALSE(check_ledger_invariants(dup, l.balances(), {}).ok());
}
