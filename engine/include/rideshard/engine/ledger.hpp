// The double-entry ledger model (TigerBeetle's shape): accounts, immutable
// transfers, pending holds that are posted (<= the hold) or voided once, linked
// chains applied all-or-nothing, and the invariants every state must satisfy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/result.hpp"

namespace rideshard {

/// What an account stands for. Part of the on-disk key: never renumber.
enum class account_kind : std::uint8_t {
  rider = 1,             ///< per rider: debited for what the rider is charged
  driver_payable = 2,    ///< per driver: credited with what the platform owes the driver
  psp_clearing = 3,      ///< money authorised or collected at the payment provider
  platform_revenue = 4,  ///< commission and the platform's share of fees
  tax = 5,               ///< tax collected on fares, owed to the authority
  refunds = 6,           ///< refunds granted (contra-revenue)
};
std::string_view to_string(account_kind k) noexcept;

/// An account: a kind plus an owner (rider or driver id; 0 for platform accounts).
struct account_id {
  account_kind kind = account_kind::rider;
  std::uint64_t owner = 0;
  friend bool operator==(account_id a, account_id b) {
    return a.kind == b.kind && a.owner == b.owner;
  }
  friend bool operator!=(account_id a, account_id b) { return !(a == b); }
  friend bool operator<(account_id a, account_id b) {
    return a.kind != b.kind ? a.kind < b.kind : a.owner < b.owner;
  }
};

/// A 128-bit transfer id. Callers derive it from what causes the transfer (trip or
/// payment id + purpose, see make_transfer_id), so a retry reuses the same id.
struct transfer_id {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  bool valid() const noexcept { return hi != 0 || lo != 0; }
  friend bool operator==(transfer_id a, transfer_id b) { return a.hi == b.hi && a.lo == b.lo; }
  friend bool operator!=(transfer_id a, transfer_id b) { return !(a == b); }
  friend bool operator<(transfer_id a, transfer_id b) {
    return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
  }
};
/// "tr-<hi>-<lo>" (hex-free decimal), e.g. for Idempotency-Keys and logs.
std::string to_string(transfer_id id);

enum class transfer_kind : std::uint8_t {
  posted = 0,        ///< moves money now
  pending = 1,       ///< a hold: reserves money until posted or voided
  post_pending = 2,  ///< settles a hold for amount <= the hold; the rest is released
  void_pending = 3,  ///< releases a hold
};

/// One immutable transfer. Amounts are minor units (> 0). For post/void the
/// accounts may be left default: the ledger copies them from the pending transfer.
struct transfer {
  transfer_id id;
  account_id debit;
  account_id credit;
  std::int64_t amount = 0;  ///< post: 0 means the whole hold; void: 0 or the hold
  transfer_kind kind = transfer_kind::posted;
  transfer_id pending_id;         ///< post/void only: the hold it settles
  bool linked = false;            ///< set by the ledger on all but the last of a chain
  std::int64_t timestamp_ms = 0;  ///< when it was created (injected clock)
  std::int64_t timeout_ms = 0;  ///< pending only: posting fails after timestamp+timeout (0: never)
  std::uint16_t code = 0;       ///< purpose (ride_money.hpp money_code)
};
/// Equal in every field but linked and timestamp (what a retry may change).
bool same_transfer(const transfer& a, const transfer& b);

/// An account's balance, TigerBeetle-style: pending and posted, each side.
struct balance {
  std::int64_t debits_pending = 0;
  std::int64_t debits_posted = 0;
  std::int64_t credits_pending = 0;
  std::int64_t credits_posted = 0;
  friend bool operator==(const balance& a, const balance& b) {
    return a.debits_pending == b.debits_pending && a.debits_posted == b.debits_posted &&
           a.credits_pending == b.credits_pending && a.credits_posted == b.credits_posted;
  }
};

/// Where a pending transfer stands.
enum class pending_state : std::uint8_t { none = 0, open = 1, posted = 2, voided = 3 };

/// Largest single transfer (10^12 minor units): keeps every balance inside int64.
inline constexpr std::int64_t max_transfer_minor = 1'000'000'000'000;

/// What a chain is validated against. Implemented in memory (memory_ledger) and
/// over RocksDB (persistence::ledger).
class ledger_view {
 public:
  virtual ~ledger_view() = default;
  virtual std::optional<transfer> find(const transfer_id& id) const = 0;
  /// none when `id` is not a pending transfer.
  virtual pending_state state_of(const transfer_id& id) const = 0;
  virtual balance balance_of(const account_id& a) const = 0;
};

/// The writes a valid chain makes: the transfers as recorded (post/void with
/// accounts and amount filled in), the holds it resolves, and the new balance of
/// every account it touches. Empty when the chain was already applied (a retry).
struct ledger_effect {
  std::vector<transfer> transfers;
  std::vector<std::pair<transfer_id, pending_state>> resolved;
  std::map<account_id, balance> balances;
  bool replay = false;  ///< every transfer already existed, identical: nothing to write
};

/// Validates `chain` as one all-or-nothing unit against `view` (later transfers
/// see earlier ones). A chain whose transfers all exist identically is a replay
/// (ok, empty effect). Errors: invalid_argument (bad id/amount/accounts, debit ==
/// credit, kind fields), transfer_exists (an id used by a different transfer, or
/// part of the chain already applied), ledger_rejected (post/void of an unknown,
/// non-pending or resolved hold; post above the hold; post after its timeout).
[[nodiscard]] result<ledger_effect> plan_transfers(const ledger_view& view,
                                                   std::vector<transfer> chain);

/// The whole ledger in memory: a reference model for tests and the invariant
/// checker. Not thread-safe.
class memory_ledger final : public ledger_view {
 public:
  /// plan_transfers + apply the effect.
  [[nodiscard]] result<ledger_effect> apply(std::vector<transfer> chain);
  /// Records an already validated effect (e.g. replaying stored transfers).
  void apply_effect(const ledger_effect& e);

  std::optional<transfer> find(const transfer_id& id) const override;
  pending_state state_of(const transfer_id& id) const override;
  balance balance_of(const account_id& a) const override;

  const std::map<account_id, balance>& balances() const noexcept { return balances_; }
  const std::vector<transfer>& transfers() const noexcept { return order_; }

  /// Σdebits = Σcredits (pending and posted), every balance equals the sum of
  /// its transfers, every post <= its hold, every hold resolved at most once and
  /// only by a post/void. Errors: internal, naming the first broken invariant.
  [[nodiscard]] result<void> check_invariants() const;

 private:
  std::map<transfer_id, std::size_t> by_id_;
  std::vector<transfer> order_;
  std::map<transfer_id, pending_state> pending_;
  std::map<account_id, balance> balances_;
};

/// Checks the invariants of a list of recorded transfers (in the order they were
/// applied) against a set of stored balances and pending states. Used by
/// memory_ledger and persistence::ledger::check_invariants.
[[nodiscard]] result<void> check_ledger_invariants(
    const std::vector<transfer>& recorded, const std::map<account_id, balance>& balances,
    const std::map<transfer_id, pending_state>& pending);

}  // namespace rideshard
