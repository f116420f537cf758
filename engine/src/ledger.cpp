// plan_transfers(): validation of one linked chain against a ledger view with a
// chain-local overlay; memory_ledger; the invariant checker.
#include "rideshard/engine/ledger.hpp"

#include <set>

namespace rideshard {
namespace {

bool valid_kind(account_kind k) { return k >= account_kind::rider && k <= account_kind::refunds; }

// The view plus what earlier transfers of the same chain changed.
class overlay final : public ledger_view {
 public:
  explicit overlay(const ledger_view& base) : base_(base) {}
  std::optional<transfer> find(const transfer_id& id) const override {
    for (const auto& t : effect.transfers)
      if (t.id == id) return t;
    return base_.find(id);
  }
  pending_state state_of(const transfer_id& id) const override {
    for (auto it = effect.resolved.rbegin(); it != effect.resolved.rend(); ++it)
      if (it->first == id) return it->second;
    return base_.state_of(id);
  }
  balance balance_of(const account_id& a) const override {
    auto it = effect.balances.find(a);
    return it != effect.balances.end() ? it->second : base_.balance_of(a);
  }
  balance& touch(const account_id& a) {
    auto it = effect.balances.find(a);
    if (it == effect.balances.end()) it = effect.balances.emplace(a, base_.balance_of(a)).first;
    return it->second;
  }
  ledger_effect effect;

 private:
  const ledger_view& base_;
};

result<void> check_shape(const transfer& t) {
  if (!t.id.valid()) return {errc::invalid_argument, "transfer id must not be zero"};
  const bool settles =
      t.kind == transfer_kind::post_pending || t.kind == transfer_kind::void_pending;
  if (settles != t.pending_id.valid())
    return {errc::invalid_argument, "pending_id is required for post/void and only for them"};
  if (t.amount < 0 || t.amount > max_transfer_minor)
    return {errc::invalid_argument, "transfer amount out of range"};
  if (!settles) {
    if (t.amount == 0) return {errc::invalid_argument, "transfer amount must be > 0"};
    if (!valid_kind(t.debit.kind) || !valid_kind(t.credit.kind))
      return {errc::invalid_argument, "unknown account kind"};
    if (t.debit == t.credit) return {errc::invalid_argument, "debit and credit are one account"};
  }
  if (t.kind != transfer_kind::pending && t.timeout_ms != 0)
    return {errc::invalid_argument, "only a pending transfer has a timeout"};
  if (t.timeout_ms < 0) return {errc::invalid_argument, "timeout must be >= 0"};
  return {};
}

// Fills in a post/void from its hold and checks it may settle it.
result<void> resolve_settlement(const overlay& view, transfer& t) {
  auto hold = view.find(t.pending_id);
  if (!hold || hold->kind != transfer_kind::pending)
    return {errc::ledger_rejected, "no pending transfer " + to_string(t.pending_id)};
  const auto state = view.state_of(t.pending_id);
  if (state != pending_state::open)
    return {errc::ledger_rejected, "hold " + to_string(t.pending_id) + " is already " +
                                       (state == pending_state::posted ? "posted" : "voided")};
  const bool default_accounts = t.debit == account_id{} && t.credit == account_id{};
  if (!default_accounts && (t.debit != hold->debit || t.credit != hold->credit))
    return {errc::invalid_argument, "post/void accounts differ from the hold's"};
  t.debit = hold->debit;
  t.credit = hold->credit;
  if (t.kind == transfer_kind::void_pending) {
    if (t.amount != 0 && t.amount != hold->amount)
      return {errc::invalid_argument, "a void releases the whole hold"};
    t.amount = hold->amount;
    return {};
  }
  if (t.amount == 0) t.amount = hold->amount;
  if (t.amount > hold->amount)
    return {errc::ledger_rejected, "post of " + std::to_string(t.amount) + " exceeds the hold of " +
                                       std::to_string(hold->amount)};
  if (hold->timeout_ms > 0 && t.timestamp_ms > hold->timestamp_ms + hold->timeout_ms)
    return {errc::ledger_rejected, "hold " + to_string(t.pending_id) + " has expired"};
  return {};
}

void book(overlay& view, const transfer& t, std::int64_t hold_amount) {
  balance& d = view.touch(t.debit);
  balance& c = view.touch(t.credit);
  switch (t.kind) {
    case transfer_kind::posted:
      d.debits_posted += t.amount;
      c.credits_posted += t.amount;
      break;
    case transfer_kind::pending:
      d.debits_pending += t.amount;
      c.credits_pending += t.amount;
      break;
    case transfer_kind::post_pending:
      d.debits_pending -= hold_amount;
      c.credits_pending -= hold_amount;
      d.debits_posted += t.amount;
      c.credits_posted += t.amount;
      break;
    case transfer_kind::void_pending:
      d.debits_pending -= hold_amount;
      c.credits_pending -= hold_amount;
      break;
  }
}

}  // namespace

std::string_view to_string(account_kind k) noexcept {
  switch (k) {
    case account_kind::rider:
      return "rider";
    case account_kind::driver_payable:
      return "driver_payable";
    case account_kind::psp_clearing:
      return "psp_clearing";
    case account_kind::platform_revenue:
      return "platform_revenue";
    case account_kind::tax:
      return "tax";
    case account_kind::refunds:
      return "refunds";
  }
  return "unknown";
}

std::string to_string(transfer_id id) {
  return "tr-" + std::to_string(id.hi) + "-" + std::to_string(id.lo);
}

bool same_transfer(const transfer& a, const transfer& b) {
  return a.id == b.id && a.debit == b.debit && a.credit == b.credit && a.amount == b.amount &&
         a.kind == b.kind && a.pending_id == b.pending_id && a.timeout_ms == b.timeout_ms &&
         a.code == b.code;
}

result<ledger_effect> plan_transfers(const ledger_view& view, std::vector<transfer> chain) {
  if (chain.empty()) return {errc::invalid_argument, "empty transfer chain"};
  std::size_t existing = 0;
  for (auto& t : chain) {
    auto shape = check_shape(t);
    if (!shape) return shape.err();
    auto old = view.find(t.id);
    if (!old) continue;
    // A retry may leave post/void accounts and amounts to the ledger: compare filled in.
    transfer filled = t;
    if (filled.kind == transfer_kind::post_pending || filled.kind == transfer_kind::void_pending) {
      if (filled.debit == account_id{} && filled.credit == account_id{}) {
        filled.debit = old->debit;
        filled.credit = old->credit;
      }
      if (filled.amount == 0) filled.amount = old->amount;
    }
    if (!same_transfer(filled, *old))
      return {errc::transfer_exists, to_string(t.id) + " exists with different fields"};
    ++existing;
  }
  if (existing == chain.size()) {
    ledger_effect e;
    e.replay = true;
    return e;
  }
  if (existing != 0) return {errc::transfer_exists, "part of the chain was already applied"};

  overlay ov(view);
  std::set<transfer_id> seen;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    transfer t = chain[i];
    if (!seen.insert(t.id).second)
      return {errc::transfer_exists, to_string(t.id) + " appears twice in the chain"};
    t.linked = i + 1 < chain.size();
    std::int64_t hold_amount = 0;
    if (t.kind == transfer_kind::post_pending || t.kind == transfer_kind::void_pending) {
      auto r = resolve_settlement(ov, t);
      if (!r) return r.err();
      hold_amount = ov.find(t.pending_id)->amount;
      ov.effect.resolved.emplace_back(t.pending_id, t.kind == transfer_kind::post_pending
                                                        ? pending_state::posted
                                                        : pending_state::voided);
    } else if (t.kind == transfer_kind::pending) {
      ov.effect.resolved.emplace_back(t.id, pending_state::open);
    }
    book(ov, t, hold_amount);
    ov.effect.transfers.push_back(t);
  }
  return std::move(ov.effect);
}

// --- memory_ledger -----------------------------------------------------------

result<ledger_effect> memory_ledger::apply(std::vector<transfer> chain) {
  auto e = plan_transfers(*this, std::move(chain));
  if (e) apply_effect(*e);
  return e;
}

void memory_ledger::apply_effect(const ledger_effect& e) {
  for (const auto& t : e.transfers) {
    by_id_[t.id] = order_.size();
    order_.push_back(t);
  }
  for (const auto& [id, st] : e.resolved) pending_[id] = st;
  for (const auto& [a, b] : e.balances) balances_[a] = b;
}

std::optional<transfer> memory_ledger::find(const transfer_id& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return order_[it->second];
}

pending_state memory_ledger::state_of(const transfer_id& id) const {
  auto it = pending_.find(id);
  return it == pending_.end() ? pending_state::none : it->second;
}

balance memory_ledger::balance_of(const account_id& a) const {
  auto it = balances_.find(a);
  return it == balances_.end() ? balance{} : it->second;
}

result<void> memory_ledger::check_invariants() const {
  return check_ledger_invariants(order_, balances_, pending_);
}

result<void> check_ledger_invariants(const std::vector<transfer>& recorded,
                                     const std::map<account_id, balance>& balances,
                                     const std::map<transfer_id, pending_state>& pending) {
  auto broken = [](std::string what) { return error{errc::internal, "ledger invariant: " + what}; };
  // Replay every transfer through a fresh ledger: each must validate in order.
  memory_ledger replay;
  std::vector<transfer> chain;
  for (const auto& t : recorded) {
    chain.push_back(t);
    chain.back().linked = false;
    if (t.linked) continue;
    auto e = replay.apply(chain);
    if (!e) return broken("replaying " + to_string(chain.front().id) + ": " + e.err().message);
    if (e->replay) return broken("transfer " + to_string(chain.front().id) + " recorded twice");
    chain.clear();
  }
  if (!chain.empty()) return broken("a linked chain is not closed");
  std::int64_t debits_posted = 0, credits_posted = 0, debits_pending = 0, credits_pending = 0;
  for (const auto& [a, b] : balances) {
    debits_posted += b.debits_posted;
    credits_posted += b.credits_posted;
    debits_pending += b.debits_pending;
    credits_pending += b.credits_pending;
    if (b.debits_pending < 0 || b.credits_pending < 0)
      return broken("negative pending balance on " + std::string(to_string(a.kind)));
    if (!(replay.balance_of(a) == b))
      return broken("stored balance of " + std::string(to_string(a.kind)) + " " +
                    std::to_string(a.owner) + " differs from its transfers");
  }
  if (debits_posted != credits_posted) return broken("posted debits != posted credits");
  if (debits_pending != credits_pending) return broken("pending debits != pending credits");
  for (const auto& [a, b] : replay.balances())
    if (balances.find(a) == balances.end() && !(b == balance{}))
      return broken("an account with transfers has no stored balance");
  for (const auto& t : replay.transfers()) {
    if (t.kind != transfer_kind::pending) continue;
    auto it = pending.find(t.id);
    if (it == pending.end() || it->second != replay.state_of(t.id))
      return broken("stored state of hold " + to_string(t.id) + " differs from its transfers");
  }
  return {};
}

}  // namespace rideshard
