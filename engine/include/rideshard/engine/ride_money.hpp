// The ride money plan: which ledger transfers a ride's lifecycle makes — a hold
// for the upfront fare at request, capture of the final fare split between
// driver, platform and tax at completion, a void on a free cancel, a fee on a
// late one — and refunds. Pure: callers add the transfers to a ledger.
#pragma once

#include <cstdint>
#include <vector>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/ledger.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard {

/// Purpose of a transfer (transfer.code and the low 16 bits of its id).
enum class money_code : std::uint16_t {
  hold = 1,               ///< pending: rider -> psp_clearing, the upfront fare
  capture = 2,            ///< post of the hold: the final fare (<= hold)
  extra_charge = 3,       ///< posted: rider -> psp_clearing, final fare above the hold
  driver_share = 4,       ///< posted: psp_clearing -> driver_payable
  commission = 5,         ///< posted: psp_clearing -> platform_revenue
  tax = 6,                ///< posted: psp_clearing -> tax
  release = 7,            ///< void of the hold (free cancel)
  cancel_fee = 8,         ///< post of the hold for the late-cancel fee
  refund = 9,             ///< posted: refunds -> rider
  fee_driver_share = 10,  ///< posted: psp_clearing -> driver_payable, from a cancel fee
  fee_commission = 11,    ///< posted: psp_clearing -> platform_revenue, from a cancel fee
};

/// What a transfer id's `hi` half names: a trip or an API payment.
enum class money_domain : std::uint16_t { trip = 1, payment = 2 };

/// Deterministic ids: hi = the trip/payment id; lo = n << 32 | domain << 16 | code.
/// `n` tells apart repeated transfers of one purpose (the n-th refund).
transfer_id make_transfer_id(money_domain domain, std::uint64_t owner, money_code code,
                             std::uint32_t n = 0);

/// How a region charges. Percentages are per-mille of the amount.
struct money_rules {
  std::int32_t tax_permille = 0;           ///< tax included in the fare (e.g. 80 = 8%)
  std::int32_t commission_permille = 250;  ///< platform's share of the fare net of tax
  std::int32_t fee_driver_permille = 800;  ///< driver's share of a late-cancel fee
  std::int64_t hold_timeout_ms = 7LL * 24 * 3600 * 1000;  ///< a hold expires after this
};
/// Errors: bad_config (a per-mille outside [0, 1000], timeout <= 0).
[[nodiscard]] result<void> validate(const money_rules& r);

/// A fare split exactly: driver + platform + tax == amount.
struct fare_split {
  std::int64_t driver = 0;
  std::int64_t platform = 0;
  std::int64_t tax = 0;
};
/// tax = round(amount * t / (1000 + t)) (tax included), platform =
/// round((amount - tax) * commission / 1000), driver = the rest. Half-up rounding.
fare_split split_fare(std::int64_t amount, const money_rules& r);

/// The parties of one ride's money.
struct ride_parties {
  money_domain domain = money_domain::trip;
  std::uint64_t owner = 0;  ///< trip (or payment) id: the hi half of every transfer id
  rider_id rider;
  driver_id driver;  ///< may be invalid: the driver's share goes to the platform
};

/// At request: a pending rider -> psp_clearing hold for the upfront fare.
/// Errors: invalid_argument (amount <= 0 or above max_transfer_minor, no owner or rider).
[[nodiscard]] result<transfer> hold_transfer(const ride_parties& p, std::int64_t upfront_minor,
                                             std::int64_t now_ms, const money_rules& r);

/// At completion: post the hold for min(final, hold), a posted extra charge for
/// any excess, then the split out of psp_clearing (zero lines omitted). One
/// linked chain. Errors: invalid_argument (final <= 0, hold <= 0).
[[nodiscard]] result<std::vector<transfer>> capture_transfers(const ride_parties& p,
                                                              std::int64_t hold_minor,
                                                              std::int64_t final_minor,
                                                              std::int64_t now_ms,
                                                              const money_rules& r);

/// At cancel: fee 0 voids the hold; otherwise post the hold for min(fee, hold)
/// (releasing the rest) and split it driver/platform by fee_driver_permille.
/// Errors: invalid_argument (fee < 0, hold <= 0).
[[nodiscard]] result<std::vector<transfer>> cancel_transfers(const ride_parties& p,
                                                             std::int64_t hold_minor,
                                                             std::int64_t fee_minor,
                                                             std::int64_t now_ms,
                                                             const money_rules& r);

/// The n-th refund (n >= 1) of a ride or payment: refunds -> rider, posted.
/// The caller checks it never exceeds what was captured (the ledger cannot: a
/// refund is a new movement, not a settlement). Errors: invalid_argument.
[[nodiscard]] result<transfer> refund_transfer(const ride_parties& p, std::uint32_t n,
                                               std::int64_t amount_minor, std::int64_t now_ms);

}  // namespace rideshard
