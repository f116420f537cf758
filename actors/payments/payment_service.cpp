// payment_service: methods, payments and reconciliation. Every PSP call is
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

std::string key_of(std::uint64_t payment, money_code code, std::uint32_t n = 0) {
  return to_string(make_transfer_id(money_domain::payment, payment, code, n));
}

result<std::string> replay(const idempotency_record& r) {
  if (r.ok) return r.answer;
  return error{r.error_code, r.answer};
}

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

// ---- payments: commits and PSP steps ----

result<payment_record> payment_service::commit(payment_record next, std::vector<transfer> chain,
                                               const char* event,
                                               std::optional<result<void>> answer,
                                               const idempotency_record* claim) {
  const std::int64_t now = opts_.now_ms();
  next.updated_ms = now;
  persistence::write_batch b;
  std::optional<idempotency_record> idem;
  if (answer && next.idem != 0) {
    std::lock_guard lock(mu_);
    if (auto it = idem_.find(next.idem); it != idem_.end()) idem = it->second;
  }
  if (idem) next.idem = 0;  // answered below
  if (event != nullptr) {
    if (auto ok = detail::add_payment_event(b, next, event, psp_.name(), now); !ok) return ok.err();
    ++next.sequence;
  }
  if (idem) {
    idem->done = true;
    idem->ok = answer->ok();
    idem->answer = idem->ok ? payment_json(next) : answer->err().message;
    idem->error_code = idem->ok ? errc::ok : answer->err().code;
    b.put_entity(persistence::entity_kind::idempotency, idem->id, 0, encode(*idem));
  }
  if (claim != nullptr)
    b.put_entity(persistence::entity_kind::idempotency, claim->id, 0, encode(*claim));
  b.put_entity(persistence::entity_kind::payment, next.id, 0, encode(next));
  if (!chain.empty()) b.add_transfers(std::move(chain));
  if (auto c = store_.commit(b); !c) return c.err();
  std::lock_guard lock(mu_);
  payments_[next.id] = next;
  if (!next.intent.empty()) by_intent_[next.intent] = next.id;
  if (idem) idem_[idem->id] = std::move(*idem);
  return next;
}

result<payment_record> payment_service::advance(payment_record p) {
  while (p.pending != payment_op::none) {
    auto next = step(p);
    if (!next) return next.err();
    p = std::move(*next);
  }
  return p;
}

result<payment_record> payment_service::step(const payment_record& p) {
  const std::int64_t now = opts_.now_ms();
  const payment_op op = p.pending;
  payment_record next = p;
  next.pending = payment_op::none;
  next.pending_amount = 0;
  // The PSP refused for good: record why, answer the error, keep the money as it was.
  auto refused = [&](const error& e, payment_state state,
                     const char* event) -> result<payment_record> {
    next.state = state;
    next.failure = e.message;
    auto c = commit(next, {}, event, result<void>(e));
    if (!c) return c.err();
    return e;
  };
  auto crashed = [&] { return opts_.crash_after_psp && opts_.crash_after_psp(op); };
  const error crash{errc::internal, "simulated crash after the PSP answered"};

  switch (op) {
    case payment_op::none:
      return next;
    case payment_op::authorize: {
      auto m = method_of(p.method);
      if (!m)
        return refused({errc::no_payment_method, "the payment method is gone"},
                       payment_state::failed, "failed");
      auto card = vault_.reveal(m->token);
      if (!card) return card.err();  // the vault is down: stays in flight
      authorize_request req;
      req.idempotency_key = key_of(p.id, money_code::hold);
      req.amount = p.pending_amount;
      req.currency = p.currency;
      req.card = &*card;
      auto r = psp_.authorize(req);
      if (crashed()) return crash;
      if (!r) {
        note(r.code() == errc::payment_declined  ? "declined"
             : r.code() == errc::psp_unavailable ? "psp_unavailable"
                                                 : "failed",
             p.pending_amount);
        if (r.code() == errc::psp_unavailable) return r.err();
        return refused(
            r.err(),
            r.code() == errc::payment_declined ? payment_state::declined : payment_state::failed,
            r.code() == errc::payment_declined ? "declined" : "failed");
      }
      const std::int64_t held = r->amount_capturable > 0 ? r->amount_capturable
                                : r->amount > 0          ? r->amount
                                                         : p.pending_amount;
      next.intent = r->id;
      next.state = payment_state::authorized;
      next.authorized = std::min(held, p.pending_amount);
      if (p.auto_capture) {
        next.pending = payment_op::capture;
        next.pending_amount = next.authorized;
      }
      auto hold = hold_transfer(parties(p), next.authorized, now, opts_.rules);
      if (!hold) return hold.err();
      std::optional<result<void>> answer;
      if (next.pending == payment_op::none) answer = result<void>();
      auto c = commit(next, {*hold}, "authorized", answer);
      if (c) note("authorized", next.authorized);
      return c;
    }
    case payment_op::capture: {
      auto r = psp_.capture(p.intent, p.pending_amount, key_of(p.id, money_code::capture));
      if (crashed()) return crash;
      if (!r) {
        if (r.code() == errc::psp_unavailable) return r.err();
        note("failed", p.pending_amount);
        return refused(r.err(), p.state, nullptr);
      }
      next.state = payment_state::captured;
      next.captured = p.pending_amount;
      auto chain = capture_transfers(parties(p), p.authorized, next.captured, now, opts_.rules);
      if (!chain) return chain.err();
      auto c = commit(next, std::move(*chain), "captured", result<void>());
      if (c) note("captured", next.captured);
      return c;
    }
    case payment_op::cancel: {
      auto r = psp_.cancel(p.intent, key_of(p.id, money_code::release));
      if (crashed()) return crash;
      if (!r) {
        if (r.code() == errc::psp_unavailable) return r.err();
        return refused(r.err(), p.state, nullptr);
      }
      next.state = payment_state::voided;
      auto chain = cancel_transfers(parties(p), p.authorized, 0, now, opts_.rules);
      if (!chain) return chain.err();
      auto c = commit(next, std::move(*chain), "voided", result<void>());
      if (c) note("voided", p.authorized);
      return c;
    }
    case payment_op::refund: {
      const std::uint32_t n = p.refunds + 1;
      auto r = psp_.refund(p.intent, p.pending_amount, key_of(p.id, money_code::refund, n));
      if (crashed()) return crash;
      if (!r) {
        if (r.code() == errc::psp_unavailable) return r.err();
        return refused(r.err(), p.state, nullptr);
      }
      next.refunded += p.pending_amount;
      next.refunds = n;
      auto t = refund_transfer(parties(p), n, p.pending_amount, now);
      if (!t) return t.err();
      auto c = commit(next, {*t}, "refunded", result<void>());
      if (c) note("refunded", p.pending_amount);
      if (c && opts_.on_refunded) opts_.on_refunded(*c);
      return c;
    }
  }
  return next;
}

result<payment_record> payment_service::start(payment_record p, payment_op op, std::int64_t amount,
                                              const idempotency_record* claim) {
  p.pending = op;
  p.pending_amount = amount;
  p.failure.clear();
  auto in_flight = commit(p, {}, nullptr, std::nullopt, claim);  // durable before the PSP hears
  if (!in_flight) return in_flight.err();
  return advance(std::move(*in_flight));
}

// ---- payments: the API's operations ----

void payment_service::expire_idempotency(std::int64_t now) {
  std::vector<std::uint64_t> gone;
  {
    std::lock_guard lock(mu_);
    if (now - last_expiry_ms_ < 60'000) return;
    last_expiry_ms_ = now;
    for (auto it = idem_.begin(); it != idem_.end();) {
      if (it->second.done && now - it->second.created_ms > opts_.idempotency_ttl_ms) {
        gone.push_back(it->first);
        it = idem_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (gone.empty()) return;
  persistence::write_batch b;
  for (auto id : gone) b.erase_entity(persistence::entity_kind::idempotency, id);
  (void)store_.commit(b);  // best effort: a key kept longer is harmless
}

std::optional<payment_answer> payment_service::stored_answer(std::uint64_t key_id) const {
  std::lock_guard lock(mu_);
  auto it = idem_.find(key_id);
  if (it == idem_.end() || !it->second.done) return std::nullopt;
  return payment_answer{true, replay(it->second)};
}

result<std::optional<payment_answer>> payment_service::known_key(std::unique_lock<std::mutex>& lock,
                                                                 const idempotency_scope& scope,
                                                                 std::uint64_t key_id) {
  auto it = idem_.find(key_id);
  if (it == idem_.end()) return std::optional<payment_answer>();
  const idempotency_record& r = it->second;
  if (r.caller != scope.caller || r.key != scope.key || r.fingerprint != scope.fingerprint) {
    lock.unlock();
    note("idempotency_conflict");
    return error{errc::idempotency_conflict,
                 "this Idempotency-Key was already used with different parameters"};
  }
  const std::uint64_t payment = r.payment;
  lock.unlock();
  note("idempotent_replay");
  if (auto done = stored_answer(key_id)) return done;
  // In flight: a concurrent duplicate (wait for it) or a call a crash or an
  // unavailable PSP left open (finish it now).
  auto p = acquire(payment);
  if (!p) return p.err();
  if (auto done = stored_answer(key_id)) {
    release(payment);
    return done;
  }
  auto out = advance(std::move(*p));
  release(payment);
  if (auto done = stored_answer(key_id)) return done;
  if (!out) return out.err();
  return std::optional<payment_answer>(payment_answer{false, payment_json(*out)});
}

result<std::optional<payment_answer>> payment_service::open_key(std::unique_lock<std::mutex>& lock,
                                                                const idempotency_scope& scope,
                                                                std::int64_t now) {
  if (scope.key.empty() || scope.caller.empty() || scope.fingerprint.empty())
    return error{errc::invalid_argument, "this call needs an Idempotency-Key"};
  expire_idempotency(now);
  lock.lock();
  return known_key(lock, scope, idempotency_id(scope.caller, scope.key));
}

result<payment_answer> payment_service::create(const create_request& req,
                                               const idempotency_scope& scope) {
  const std::int64_t now = opts_.now_ms();
  const std::uint64_t key_id = idempotency_id(scope.caller, scope.key);
  std::unique_lock lock(mu_, std::defer_lock);
  auto known = open_key(lock, scope, now);
  if (!known) return known.err();
  if (*known) return std::move(**known);

  // A new key: validate, then claim it in the same batch as the payment.
  if (!req.rider.valid()) return error{errc::invalid_argument, "a payment needs a rider"};
  const std::string currency = req.currency.empty() ? opts_.currency : req.currency;
  if (currency != opts_.currency)
    return error{errc::invalid_argument, "currency must be " + opts_.currency};
  if (req.amount <= 0 || req.amount > opts_.max_amount_minor)
    return error{errc::invalid_argument,
                 "amount_minor must be in [1, " + std::to_string(opts_.max_amount_minor) + "]"};
  const method_record* method = nullptr;
  for (auto it = methods_.rbegin(); it != methods_.rend(); ++it) {
    const method_record& m = it->second;
    if (m.rider != req.rider || (req.method != 0 && m.id != req.method)) continue;
    if (req.method == 0 && detail::expired(m, now)) continue;
    method = &m;
    break;
  }
  if (method == nullptr)
    return error{errc::no_payment_method, req.method == 0
                                              ? "the rider has no unexpired payment method"
                                              : "no such payment method for this rider"};
  if (detail::expired(*method, now))
    return error{errc::card_expired, "the payment method has expired"};

  payment_record p;
  p.id = opts_.next_id();
  p.rider = req.rider;
  p.driver = req.driver;
  p.method = method->id;
  p.currency = currency;
  p.amount = req.amount;
  p.auto_capture = req.capture;
  p.pending = payment_op::authorize;
  p.pending_amount = req.amount;
  p.idem = key_id;
  p.created_ms = p.updated_ms = now;
  idempotency_record r;
  r.id = key_id;
  r.caller = scope.caller;
  r.key = scope.key;
  r.fingerprint = scope.fingerprint;
  r.payment = p.id;
  r.created_ms = now;
  idem_[key_id] = r;
  payments_[p.id] = p;
  busy_.insert(p.id);
  lock.unlock();

  persistence::write_batch b;
  b.put_entity(persistence::entity_kind::idempotency, r.id, 0, encode(r));
  b.put_entity(persistence::entity_kind::payment, p.id, 0, encode(p));
  if (auto c = store_.commit(b); !c) {
    {
      std::lock_guard undo(mu_);
      idem_.erase(key_id);
      payments_.erase(p.id);
    }
    release(p.id);
    return c.err();
  }
  auto out = advance(p);
  release(p.id);
  if (auto done = stored_answer(key_id)) return payment_answer{false, std::move(done->body)};
  if (!out) return out.err();
  return payment_answer{false, payment_json(*out)};
}

result<payment_record> payment_service::with_payment(
    std::uint64_t id, const std::function<result<payment_record>(payment_record)>& fn) {
  auto p = acquire(id);
  if (!p) return p.err();
  auto cur = advance(std::move(*p));  // an earlier call left in flight goes first
  auto out = cur ? fn(std::move(*cur)) : result<payment_record>(cur.err());
  release(id);
  return out;
}

namespace {
error not_in_state(const char* what, payment_state s) {
  return error{errc::illegal_transition,
               std::string(what) + " (it is " + std::string(to_string(s)) + ")"};
}
}  // namespace

result<payment_record> payment_service::capture(std::uint64_t id,
                                                std::optional<std::int64_t> amount) {
  return with_payment(id, [&](payment_record cur) -> result<payment_record> {
    if (cur.state != payment_state::authorized)
      return not_in_state("only an authorized payment can be captured", cur.state);
    const std::int64_t a = amount.value_or(cur.authorized);
    if (a <= 0) return error{errc::invalid_argument, "amount_minor must be > 0"};
    if (a > cur.authorized)
      return error{errc::invalid_argument,
                   "cannot capture more than the authorized " + std::to_string(cur.authorized)};
    return start(std::move(cur), payment_op::capture, a);
  });
}

result<payment_record> payment_service::cancel(std::uint64_t id) {
  return with_payment(id, [&](payment_record cur) -> result<payment_record> {
    if (cur.state != payment_state::authorized)
      return not_in_state("only an authorized payment can be voided", cur.state);
    return start(std::move(cur), payment_op::cancel, 0);
  });
}

namespace {
// How much a refund of `amount` (default: what is left) moves. Errors:
// illegal_transition, invalid_argument, exceeds_captured.
result<std::int64_t> refund_amount(const payment_record& cur, std::optional<std::int64_t> amount) {
  if (cur.state != payment_state::captured)
    return not_in_state("only a captured payment can be refunded", cur.state);
  const std::int64_t left = cur.captured - cur.refunded;
  const std::int64_t a = amount.value_or(left);
  if (amount && a <= 0) return error{errc::invalid_argument, "amount_minor must be > 0"};
  if (left == 0) return error{errc::exceeds_captured, "the payment is fully refunded"};
  if (a > left)
    return error{errc::exceeds_captured, "refund of " + std::to_string(a) + " exceeds the " +
                                             std::to_string(left) + " left of the capture"};
  return a;
}
}  // namespace

result<payment_record> payment_service::refund(std::uint64_t id,
                                               std::optional<std::int64_t> amount) {
  return with_payment(id, [&](payment_record cur) -> result<payment_record> {
    auto a = refund_amount(cur, amount);
    if (!a) return a.err();
    return start(std::move(cur), payment_op::refund, *a);
  });
}

result<payment_answer> payment_service::refund(std::uint64_t id, std::optional<std::int64_t> amount,
                                               const idempotency_scope& scope) {
  const std::int64_t now = opts_.now_ms();
  const std::uint64_t key_id = idempotency_id(scope.caller, scope.key);
  std::unique_lock lock(mu_, std::defer_lock);
  auto known = open_key(lock, scope, now);
  if (!known) return known.err();
  if (*known) return std::move(**known);
  if (payments_.count(id) == 0) return error{errc::unknown_payment, "no such payment"};
  // Claimed in memory at once, so a concurrent duplicate waits for this payment.
  idempotency_record r;
  r.id = key_id;
  r.caller = scope.caller;
  r.key = scope.key;
  r.fingerprint = scope.fingerprint;
  r.payment = id;
  r.created_ms = now;
  idem_[key_id] = r;
  lock.unlock();
  auto out = with_payment(id, [&](payment_record cur) -> result<payment_record> {
    auto a = refund_amount(cur, amount);
    if (!a) {  // the refusal is the key's answer too: durable, replayed to duplicates
      r.done = true;
      r.answer = a.err().message;
      r.error_code = a.code();
      persistence::write_batch b;
      b.put_entity(persistence::entity_kind::idempotency, r.id, 0, encode(r));
      if (auto c = store_.commit(b); !c) return c.err();
      std::lock_guard g(mu_);
      idem_[r.id] = r;
      return a.err();
    }
    cur.idem = key_id;
    return start(std::move(cur), payment_op::refund, *a, &r);
  });
  if (auto done = stored_answer(key_id)) return payment_answer{false, std::move(done->body)};
  {
    // No answer: either the refund is in flight (its claim is durable: a retry
    // with the key finishes it) or the claim was never written (forget it).
    std::lock_guard g(mu_);
    auto p = payments_.find(id);
    if (p == payments_.end() || p->second.idem != key_id) idem_.erase(key_id);
  }
  if (!out) return out.err();
  return payment_answer{false, payment_json(*out)};
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
