// payment_service: opening, payment methods, leases, reads and reconciliation.
// The PSP steps are in payment_steps.cpp, the API's operations (Idempotency-Keys,
// create / capture / cancel / refund) in payment_requests.cpp. Every PSP call is
// preceded by a synced write of the call in flight (payment_record::pending) and
// followed by one synced batch holding its outcome: the payment, its ledger
// chain, its event and the Idempotency-Key answer. A crash between the two is
// finished by reconcile(), which sends the call again with the same key.
#include "payments/payment_service.hpp"

#include <algorithm>
#include <chrono>

#include "payments/detail/payment_events.hpp"
#include "rideshard/persistence/ledger.hpp"

namespace rideshard::payments {

namespace {

bool is_currency(const std::string& c) {
  return c.size() == 3 &&
         std::all_of(c.begin(), c.end(), [](char x) { return x >= 'a' && x <= 'z'; });
}

}  // namespace

payment_service::payment_service(persistence::store& store, persistence::token_vault& vault,
                                 psp& provider, payment_options opts)
    : store_(store), vault_(vault), psp_(provider), opts_(std::move(opts)) {}

payment_service::~payment_service() = default;

result<std::unique_ptr<payment_service>> payment_service::open(persistence::store& store,
                                                               persistence::token_vault& vault,
                                                               psp& provider,
                                                               payment_options opts) {
  if (!opts.now_ms || !opts.next_id)
    return error{errc::bad_config, "payments: now_ms and next_id are required"};
  if (auto ok = validate(opts.rules); !ok) return ok.err();
  if (opts.idempotency_ttl_ms < 24LL * 3600 * 1000)
    return error{errc::bad_config, "payments: Idempotency-Keys must be kept for at least 24 h"};
  if (!is_currency(opts.currency))
    return error{errc::bad_config, "payments: currency must be 3 lowercase letters (ISO 4217)"};
  if (opts.max_amount_minor <= 0 || opts.max_amount_minor > max_transfer_minor)
    return error{errc::bad_config, "payments: max_amount_minor must be in (0, 1e12]"};
  std::unique_ptr<payment_service> s(new payment_service(store, vault, provider, std::move(opts)));
  if (auto ok = s->load(); !ok) return ok.err();
  return s;
}

result<void> payment_service::load() {
  auto methods = store_.load_entities(persistence::entity_kind::payment_method);
  if (!methods) return methods.err();
  for (const auto& e : *methods) {
    auto m = decode_method(e.value);
    if (!m) return m.err();
    methods_[m->id] = std::move(*m);
  }
  auto payments = store_.load_entities(persistence::entity_kind::payment);
  if (!payments) return payments.err();
  for (const auto& e : *payments) {
    auto p = decode_payment(e.value);
    if (!p) return p.err();
    if (!p->intent.empty()) by_intent_[p->intent] = p->id;
    payments_[p->id] = std::move(*p);
  }
  auto keys = store_.load_entities(persistence::entity_kind::idempotency);
  if (!keys) return keys.err();
  for (const auto& e : *keys) {
    auto r = decode_idempotency(e.value);
    if (!r) return r.err();
    idem_[r->id] = std::move(*r);
  }
  return {};
}

void payment_service::note(std::string_view event, std::int64_t amount) const {
  if (opts_.observe) opts_.observe(event, amount);
}

ride_parties payment_service::parties(const payment_record& p) const {
  return ride_parties{money_domain::payment, p.id, p.rider, p.driver};
}

std::optional<method_record> payment_service::method_of(std::uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = methods_.find(id);
  if (it == methods_.end()) return std::nullopt;
  return it->second;
}

// ---- payment methods ----

result<method_record> payment_service::add_method(rider_id rider, const card_input& card) {
  if (!rider.valid()) return error{errc::invalid_argument, "a payment method needs a rider"};
  const std::int64_t now = opts_.now_ms();
  auto summary = validate_card(card, now);
  if (!summary) {
    note("method_refused");
    return summary.err();
  }
  {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& [id, m] : methods_) n += m.rider == rider;
    if (n >= opts_.max_methods_per_rider)
      return error{errc::rate_limited, "at most " + std::to_string(opts_.max_methods_per_rider) +
                                           " payment methods per rider"};
  }
  std::string digits = card_digits(card.number);
  auto token = vault_.store_card(digits, summary->exp_month, summary->exp_year);
  auto fingerprint = vault_.card_fingerprint(digits);
  std::fill(digits.begin(), digits.end(), '0');
  if (!token) return token.err();
  if (!fingerprint) {
    (void)vault_.erase(*token);
    return fingerprint.err();
  }
  method_record m{opts_.next_id(),
                  rider,
                  *token,
                  summary->brand,
                  summary->last4,
                  *fingerprint,
                  summary->exp_month,
                  summary->exp_year,
                  now};
  persistence::write_batch b;
  b.put_entity(persistence::entity_kind::payment_method, m.id, 0, encode(m));
  if (auto c = store_.commit(b); !c) {
    (void)vault_.erase(m.token);  // best effort: an orphan row is unreadable without its token
    return c.err();
  }
  {
    std::lock_guard lock(mu_);
    methods_[m.id] = m;
  }
  note("method_added");
  if (opts_.on_method_added) opts_.on_method_added(m);
  return m;
}

std::vector<method_record> payment_service::methods(rider_id rider) const {
  std::lock_guard lock(mu_);
  std::vector<method_record> out;
  for (auto it = methods_.rbegin(); it != methods_.rend(); ++it)
    if (it->second.rider == rider) out.push_back(it->second);
  return out;
}

bool payment_service::has_usable_method(rider_id rider) const {
  return default_method(rider).has_value();
}

std::optional<method_record> payment_service::default_method(rider_id rider) const {
  const std::int64_t now = opts_.now_ms();
  std::lock_guard lock(mu_);
  for (auto it = methods_.rbegin(); it != methods_.rend(); ++it)
    if (it->second.rider == rider && !detail::expired(it->second, now)) return it->second;
  return std::nullopt;
}

// ---- payments: leases ----

result<payment_record> payment_service::acquire(std::uint64_t id) {
  std::unique_lock lock(mu_);
  const bool free = cv_.wait_for(lock, std::chrono::milliseconds(opts_.busy_wait_ms),
                                 [&] { return busy_.count(id) == 0; });
  if (!free) return error{errc::unavailable, "another request is working on this payment; retry"};
  auto it = payments_.find(id);
  if (it == payments_.end()) return error{errc::unknown_payment, "no such payment"};
  busy_.insert(id);
  return it->second;
}

void payment_service::release(std::uint64_t id) {
  {
    std::lock_guard lock(mu_);
    busy_.erase(id);
  }
  cv_.notify_all();
}

result<payment_record> payment_service::get(std::uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = payments_.find(id);
  if (it == payments_.end()) return error{errc::unknown_payment, "no such payment"};
  return it->second;
}

earnings payment_service::earnings_of(driver_id driver) const {
  const balance b =
      persistence::ledger(store_).balance_of({account_kind::driver_payable, driver.value});
  return earnings{driver, b.credits_posted, b.debits_posted, b.credits_posted - b.debits_posted};
}

// ---- reconciliation ----

reconcile_report payment_service::reconcile() {
  reconcile_report rep;
  const std::int64_t now = opts_.now_ms();
  std::vector<std::uint64_t> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, p] : payments_) {
      const bool stale_hold =
          p.state == payment_state::authorized && now - p.created_ms >= opts_.rules.hold_timeout_ms;
      if (p.pending != payment_op::none || stale_hold) ids.push_back(id);
    }
  }
  for (auto id : ids) {
    auto p = acquire(id);
    if (!p) {
      ++rep.still_unknown;
      continue;
    }
    if (p->pending != payment_op::none) {
      ++rep.in_flight;
      auto out = advance(std::move(*p));
      const auto now_rec = get(id);
      if (out) {
        ++rep.finished;
      } else if (now_rec && now_rec->pending == payment_op::none) {
        ++rep.failed;  // the PSP refused; recorded
      } else {
        ++rep.still_unknown;
      }
    } else if (start(std::move(*p), payment_op::cancel, 0)) {
      ++rep.expired_voided;
    }
    release(id);
  }
  return rep;
}

bool payment_service::on_psp_event(const psp_event& ev) {
  std::uint64_t id = 0;
  payment_record p;
  {
    std::lock_guard lock(mu_);
    auto it = by_intent_.find(ev.intent);
    if (it == by_intent_.end()) return false;  // unknown, or its authorization still in flight
    id = it->second;
    if (busy_.count(id) != 0) return false;  // someone is finishing it
    p = payments_.at(id);
    if (p.pending == payment_op::none) return false;  // duplicate or late: nothing to do
    busy_.insert(id);
  }
  auto out = advance(std::move(p));
  release(id);
  return out.ok();
}

}  // namespace rideshard::payments
