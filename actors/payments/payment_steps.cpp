// payment_service's commits and PSP steps: the synced batch of an outcome
// (payment, ledger chain, event, Idempotency-Key answer) and the one PSP call a
// payment in flight needs next, keyed by the ledger transfer it backs.
#include "payments/detail/card_authorization.hpp"
#include "payments/detail/payment_events.hpp"
#include "payments/payment_service.hpp"

namespace rideshard::payments {

namespace {

std::string key_of(std::uint64_t payment, money_code code, std::uint32_t n = 0) {
  return to_string(make_transfer_id(money_domain::payment, payment, code, n));
}

}  // namespace

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
      auto a = detail::authorize_card(psp_, vault_, m->token, key_of(p.id, money_code::hold),
                                      p.pending_amount, p.currency);
      if (!a.sent) return a.answer.err();  // the vault is down: stays in flight
      auto& r = a.answer;
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

}  // namespace rideshard::payments
