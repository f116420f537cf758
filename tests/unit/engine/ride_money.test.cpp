// The ride money plan on the in-memory ledger: hold at request, capture of the
// final fare split exactly, void on a free cancel, a fee on a late one, refunds.
#include <doctest/doctest.h>

#include "rideshard/engine/ride_money.hpp"

using namespace rideshard;

namespace {

const ride_parties ride{money_domain::trip, 8812, rider_id{1}, driver_id{7}};
const account_id rider_acct{account_kind::rider, 1};
const account_id driver_acct{account_kind::driver_payable, 7};
const account_id revenue{account_kind::platform_revenue, 0};
const account_id tax_acct{account_kind::tax, 0};
const account_id clearing{account_kind::psp_clearing, 0};

std::int64_t net_credit(const memory_ledger& l, account_id a) {
  auto b = l.balance_of(a);
  return b.credits_posted - b.debits_posted;
}

memory_ledger held(std::int64_t amount, money_rules rules = {}) {
  memory_ledger l;
  auto hold = hold_transfer(ride, amount, 1000, rules);
  REQUIRE(hold.ok());
  REQUIRE(l.apply({*hold}).ok());
  return l;
}

}  // namespace

TEST_CASE("split_fare sums exactly, tax included in the fare") {
  money_rules r;
  r.tax_permille = 80;
  r.commission_permille = 250;
  for (std::int64_t amount : {1, 2, 99, 1000, 1234, 2549, 999'999}) {
    CAPTURE(amount);
    auto s = split_fare(amount, r);
    CHECK(s.driver + s.platform + s.tax == amount);
    CHECK(s.driver >= 0);
  }
  auto s = split_fare(1080, r);
  CHECK(s.tax == 80);
  CHECK(s.platform == 250);
  CHECK(s.driver == 750);
}

TEST_CASE("request holds the upfront fare; completion captures the final fare, split") {
  money_rules r;
  r.tax_permille = 80;
  auto l = held(2500, r);
  CHECK(l.balance_of(rider_acct).debits_pending == 2500);
  auto chain = capture_transfers(ride, 2500, 2160, 5000, r);
  REQUIRE(chain.ok());
  REQUIRE(l.apply(*chain).ok());
  CHECK(l.balance_of(rider_acct).debits_pending == 0);
  CHECK(l.balance_of(rider_acct).debits_posted == 2160);
  auto s = split_fare(2160, r);
  CHECK(net_credit(l, driver_acct) == s.driver);
  CHECK(net_credit(l, revenue) == s.platform);
  CHECK(net_credit(l, tax_acct) == s.tax);
  CHECK(net_credit(l, clearing) == 0);  // everything collected is allocated
  // Completion delivered twice (a retry after a crash) captures once.
  auto again = l.apply(*capture_transfers(ride, 2500, 2160, 5000, r));
  REQUIRE(again.ok());
  CHECK(again->replay);
  CHECK(l.balance_of(rider_acct).debits_posted == 2160);
  auto inv = l.check_invariants();
  CHECK_MESSAGE(inv.ok(), (inv.ok() ? "" : inv.err().message));
}

TEST_CASE("a final fare above the hold captures the hold plus an extra charge") {
  auto l = held(2000);
  REQUIRE(l.apply(*capture_transfers(ride, 2000, 2600, 5000, {})).ok());
  CHECK(l.balance_of(rider_acct).debits_posted == 2600);
  CHECK(net_credit(l, clearing) == 0);
  CHECK(net_credit(l, driver_acct) + net_credit(l, revenue) == 2600);
  CHECK(l.check_invariants().ok());
}

TEST_CASE("a free cancel voids the hold; a late cancel charges the fee only") {
  auto free_cancel = held(2000);
  REQUIRE(free_cancel.apply(*cancel_transfers(ride, 2000, 0, 3000, {})).ok());
  CHECK(free_cancel.balance_of(rider_acct) == balance{});
  CHECK(free_cancel.state_of(make_transfer_id(money_domain::trip, 8812, money_code::hold)) ==
        pending_state::voided);

  money_rules r;
  r.fee_driver_permille = 800;
  auto late = held(2000, r);
  REQUIRE(late.apply(*cancel_transfers(ride, 2000, 500, 3000, r)).ok());
  CHECK(late.balance_of(rider_acct).debits_posted == 500);
  CHECK(late.balance_of(rider_acct).debits_pending == 0);
  CHECK(net_credit(late, driver_acct) == 400);
  CHECK(net_credit(late, revenue) == 100);
  CHECK(late.check_invariants().ok());
  // After a cancel nothing can be captured any more.
  CHECK(late.apply(*capture_transfers(ride, 2000, 1800, 4000, r)).code() == errc::ledger_rejected);
}

TEST_CASE("refunds credit the rider and are numbered") {
  auto l = held(2000);
  REQUIRE(l.apply(*capture_transfers(ride, 2000, 2000, 5000, {})).ok());
  REQUIRE(l.apply({*refund_transfer(ride, 1, 500, 6000)}).ok());
  REQUIRE(l.apply({*refund_transfer(ride, 2, 300, 6000)}).ok());
  CHECK(l.balance_of(rider_acct).credits_posted == 800);
  CHECK(refund_transfer(ride, 0, 300, 6000).code() == errc::invalid_argument);
  CHECK(refund_transfer(ride, 3, 0, 6000).code() == errc::invalid_argument);
  CHECK(l.check_invariants().ok());
}

TEST_CASE("transfer ids are deterministic and distinct per purpose") {
  auto a = make_transfer_id(money_domain::trip, 5, money_code::hold);
  CHECK(a == make_transfer_id(money_domain::trip, 5, money_code::hold));
  CHECK(a != make_transfer_id(money_domain::payment, 5, money_code::hold));
  CHECK(a != make_transfer_id(money_domain::trip, 5, money_code::capture));
  CHECK(make_transfer_id(money_domain::trip, 5, money_code::refund, 1) !=
        make_transfer_id(money_domain::trip, 5, money_code::refund, 2));
  CHECK(validate(money_rules{}).ok());
  money_rules bad;
  bad.commission_permille = 1001;
  CHECK(validate(bad).code() == errc::bad_config);
}
