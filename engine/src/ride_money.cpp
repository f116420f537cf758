// The ride money plan: hold, capture + split, void or fee, refund; exact integer
// splits with half-up rounding.
#include "rideshard/engine/ride_money.hpp"

#include <algorithm>

namespace rideshard {
namespace {

constexpr account_id clearing{account_kind::psp_clearing, 0};
constexpr account_id revenue{account_kind::platform_revenue, 0};
constexpr account_id tax_account{account_kind::tax, 0};
constexpr account_id refunds_account{account_kind::refunds, 0};

// Half-up division of a non-negative numerator.
std::int64_t div_half_up(std::int64_t num, std::int64_t den) { return (num + den / 2) / den; }

result<void> check_parties(const ride_parties& p) {
  if (p.owner == 0) return {errc::invalid_argument, "money needs a trip or payment id"};
  if (!p.rider.valid()) return {errc::invalid_argument, "money needs a rider"};
  return {};
}

transfer posted(transfer_id id, account_id debit, account_id credit, std::int64_t amount,
                std::int64_t now_ms, money_code code) {
  transfer t;
  t.id = id;
  t.debit = debit;
  t.credit = credit;
  t.amount = amount;
  t.timestamp_ms = now_ms;
  t.code = static_cast<std::uint16_t>(code);
  return t;
}

transfer settle(const ride_parties& p, transfer_kind kind, money_code code, std::int64_t amount,
                std::int64_t now_ms) {
  transfer t;
  t.id = make_transfer_id(p.domain, p.owner, code);
  t.kind = kind;
  t.pending_id = make_transfer_id(p.domain, p.owner, money_code::hold);
  t.amount = amount;
  t.timestamp_ms = now_ms;
  t.code = static_cast<std::uint16_t>(code);
  return t;
}

account_id driver_or_platform(const ride_parties& p) {
  return p.driver.valid() ? account_id{account_kind::driver_payable, p.driver.value} : revenue;
}

}  // namespace

transfer_id make_transfer_id(money_domain domain, std::uint64_t owner, money_code code,
                             std::uint32_t n) {
  return {owner, (std::uint64_t{n} << 32) |
                     (std::uint64_t{static_cast<std::uint16_t>(domain)} << 16) |
                     static_cast<std::uint16_t>(code)};
}

result<void> validate(const money_rules& r) {
  for (auto v : {r.tax_permille, r.commission_permille, r.fee_driver_permille})
    if (v < 0 || v > 1000) return {errc::bad_config, "money per-mille values must be in [0, 1000]"};
  if (r.hold_timeout_ms <= 0) return {errc::bad_config, "hold_timeout_ms must be > 0"};
  return {};
}

fare_split split_fare(std::int64_t amount, const money_rules& r) {
  fare_split s;
  s.tax = div_half_up(amount * r.tax_permille, 1000 + r.tax_permille);
  s.platform = div_half_up((amount - s.tax) * r.commission_permille, 1000);
  s.driver = amount - s.tax - s.platform;
  return s;
}

result<transfer> hold_transfer(const ride_parties& p, std::int64_t upfront_minor,
                               std::int64_t now_ms, const money_rules& r) {
  if (auto c = check_parties(p); !c) return c.err();
  if (upfront_minor <= 0 || upfront_minor > max_transfer_minor)
    return {errc::invalid_argument, "hold amount must be in (0, 1e12]"};
  transfer t = posted(make_transfer_id(p.domain, p.owner, money_code::hold),
                      {account_kind::rider, p.rider.value}, clearing, upfront_minor, now_ms,
                      money_code::hold);
  t.kind = transfer_kind::pending;
  t.timeout_ms = r.hold_timeout_ms;
  return t;
}

result<std::vector<transfer>> capture_transfers(const ride_parties& p, std::int64_t hold_minor,
                                                std::int64_t final_minor, std::int64_t now_ms,
                                                const money_rules& r) {
  if (auto c = check_parties(p); !c) return c.err();
  if (final_minor <= 0 || final_minor > max_transfer_minor || hold_minor <= 0)
    return {errc::invalid_argument, "capture needs a positive hold and final fare"};
  std::vector<transfer> chain;
  chain.push_back(settle(p, transfer_kind::post_pending, money_code::capture,
                         std::min(final_minor, hold_minor), now_ms));
  if (final_minor > hold_minor)
    chain.push_back(posted(make_transfer_id(p.domain, p.owner, money_code::extra_charge),
                           {account_kind::rider, p.rider.value}, clearing, final_minor - hold_minor,
                           now_ms, money_code::extra_charge));
  const fare_split s = split_fare(final_minor, r);
  const std::pair<std::int64_t, std::pair<account_id, money_code>> lines[] = {
      {s.driver, {driver_or_platform(p), money_code::driver_share}},
      {s.platform, {revenue, money_code::commission}},
      {s.tax, {tax_account, money_code::tax}},
  };
  for (const auto& [amount, to] : lines)
    if (amount > 0)
      chain.push_back(posted(make_transfer_id(p.domain, p.owner, to.second), clearing, to.first,
                             amount, now_ms, to.second));
  return chain;
}

result<std::vector<transfer>> cancel_transfers(const ride_parties& p, std::int64_t hold_minor,
                                               std::int64_t fee_minor, std::int64_t now_ms,
                                               const money_rules& r) {
  if (auto c = check_parties(p); !c) return c.err();
  if (fee_minor < 0 || hold_minor <= 0)
    return {errc::invalid_argument, "cancel needs a hold and a fee >= 0"};
  if (fee_minor == 0)
    return std::vector<transfer>{
        settle(p, transfer_kind::void_pending, money_code::release, 0, now_ms)};
  const std::int64_t fee = std::min(fee_minor, hold_minor);
  std::vector<transfer> chain{
      settle(p, transfer_kind::post_pending, money_code::cancel_fee, fee, now_ms)};
  const std::int64_t to_driver =
      p.driver.valid() ? div_half_up(fee * r.fee_driver_permille, 1000) : 0;
  if (to_driver > 0)
    chain.push_back(posted(make_transfer_id(p.domain, p.owner, money_code::fee_driver_share),
                           clearing, driver_or_platform(p), to_driver, now_ms,
                           money_code::fee_driver_share));
  if (fee - to_driver > 0)
    chain.push_back(posted(make_transfer_id(p.domain, p.owner, money_code::fee_commission),
                           clearing, revenue, fee - to_driver, now_ms, money_code::fee_commission));
  return chain;
}

result<transfer> refund_transfer(const ride_parties& p, std::uint32_t n, std::int64_t amount_minor,
                                 std::int64_t now_ms) {
  if (auto c = check_parties(p); !c) return c.err();
  if (n == 0 || amount_minor <= 0 || amount_minor > max_transfer_minor)
    return {errc::invalid_argument, "a refund needs n >= 1 and an amount in (0, 1e12]"};
  return posted(make_transfer_id(p.domain, p.owner, money_code::refund, n), refunds_account,
                {account_kind::rider, p.rider.value}, amount_minor, now_ms, money_code::refund);
}

}  // namespace rideshard
