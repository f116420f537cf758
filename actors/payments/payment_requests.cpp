// payment_service's operations for the API: Idempotency-Keys (claimed, replayed,
// refused for another body, expired after the TTL) and create / capture /
// cancel / refund, each run under the payment's lease.
#include "payments/payment_service.hpp"

#include "payments/detail/payment_events.hpp"

namespace rideshard::payments {

namespace {

result<std::string> replay(const idempotency_record& r) {
  if (r.ok) return r.answer;
  return error{r.error_code, r.answer};
}

}  // namespace

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

}  // namespace rideshard::payments
