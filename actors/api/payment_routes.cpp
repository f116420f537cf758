// The payment endpoints over payments::payment_service: POST /api/payments
// (Idempotency-Key), GET /api/payments/{id}, capture / cancel of a hold,
// POST /api/payments/refund, GET/POST /api/payments/methods and
// GET /api/drivers/{id}/earnings. Card numbers arrive in one request body and
// leave nowhere: only brand and last 4 are answered.
#include <openssl/sha.h>

#include "api/detail/api_state.hpp"
#include "payments/payment_service.hpp"

namespace rideshard::api::detail {

namespace {

result<std::uint64_t> payment_id_of(std::string_view s) {
  auto v = parse_prefixed_id(s, 'p', "payment");
  if (!v) return error{errc::unknown_payment, "no such payment: not a payment id (p-<n>)"};
  return *v;
}

struct payment_caller_t {
  auth::claims who;
  payments::payment_service& svc;
};

// The verified caller and the payment service, or nullopt after answering
// (401/403, or 503 on a node without payments).
std::optional<payment_caller_t> payment_caller(const api_state& st,
                                               const gateway::http_request& req, exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return std::nullopt;
  if (st.opts.payments == nullptr) {
    ex.fail(error{errc::unavailable, "payments are not configured on this node"});
    return std::nullopt;
  }
  return payment_caller_t{std::move(*who), *st.opts.payments};
}

// Admin-only routes on one payment: the caller and the payment id, or nullopt
// after answering.
std::optional<std::pair<payments::payment_service*, std::uint64_t>> admin_on_payment(
    const api_state& st, const gateway::http_request& req, std::string_view id, exchange& ex) {
  auto c = payment_caller(st, req, ex);
  if (!c) return std::nullopt;
  if (c->who.r != auth::role::admin) {
    ex.fail(error{errc::forbidden, "only admins capture or void holds here"});
    return std::nullopt;
  }
  auto pid = payment_id_of(id);
  if (!pid) {
    ex.fail(pid.err());
    return std::nullopt;
  }
  return std::make_pair(&c->svc, *pid);
}

result<std::optional<std::int64_t>> optional_amount(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (!it->is_number_integer())
    return error{errc::invalid_argument, std::string(key) + " must be an integer (minor units)"};
  return std::optional<std::int64_t>{it->get<std::int64_t>()};
}

// "pm-<n>" -> n.
result<std::uint64_t> method_id_of(const std::string& s) {
  if (s.rfind("pm-", 0) != 0)
    return error{errc::invalid_argument, "method must be a payment method id (pm-<n>)"};
  auto v = parse_prefixed_id("m" + s.substr(2), 'm', "payment method");
  if (!v) return error{errc::invalid_argument, "method must be a payment method id (pm-<n>)"};
  return *v;
}

// Riders see their own payments, drivers the ones paying them, admins all; to
// anyone else a payment does not exist.
bool may_view(const auth::claims& who, const payments::payment_record& p) {
  if (who.r == auth::role::admin) return true;
  if (who.r == auth::role::rider) return who.subject == to_string(p.rider);
  return p.driver.valid() && who.subject == to_string(p.driver);
}

void reply_payment(exchange& ex, int status, const payments::payment_record& p) {
  ex.reply(status, json::parse(payments::payment_json(p)));
}

// SHA-256 (hex) of what the key is bound to: the route, what it acts on (the
// paying rider, the refunded payment) and the body in canonical form (keys
// sorted, no whitespace).
std::string fingerprint(std::string_view route, std::string_view target, const json& body) {
  const std::string in = std::string(route) + "\n" + std::string(target) + "\n" + body.dump();
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) (out += hex[c >> 4]) += hex[c & 15];
  return out;
}

result<void> valid_idempotency_key(const std::string& key) {
  if (key.empty())
    return error{errc::missing_field, "the Idempotency-Key header is required (e.g. a UUID)"};
  if (key.size() > 255)
    return error{errc::invalid_argument, "Idempotency-Key is longer than 255 characters"};
  for (char c : key)
    if (c < 0x21 || c > 0x7e)
      return error{errc::invalid_argument, "Idempotency-Key must be printable ASCII"};
  return {};
}

}  // namespace

void post_payments(const api_state& st, const gateway::http_request& req, std::string_view,
                   exchange& ex) {
  auto c = payment_caller(st, req, ex);
  if (!c) return;
  if (c->who.r == auth::role::driver)
    return ex.fail(error{errc::forbidden, "drivers do not create payments"});
  if (auto ok = valid_idempotency_key(req.idempotency_key); !ok) return ex.fail(ok.err());
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok =
          only_fields(*body, {"amount_minor", "currency", "method", "driver", "capture", "rider"});
      !ok)
    return ex.fail(ok.err());
  payments::create_request cr;
  // Riders pay for themselves; an admin names the rider.
  auto rider_field = optional_string(*body, "rider");
  if (!rider_field) return ex.fail(rider_field.err());
  const std::string rider_subject =
      c->who.r == auth::role::admin ? rider_field->value_or("") : c->who.subject;
  if (c->who.r == auth::role::rider && *rider_field && **rider_field != c->who.subject)
    return ex.fail(error{errc::forbidden, "riders pay only for themselves"});
  auto rider = auth::parse_rider_subject(rider_subject);
  if (!rider)
    return ex.fail(error{c->who.r == auth::role::admin ? errc::missing_field : errc::forbidden,
                         "rider (r-<n>) is required"});
  cr.rider = *rider;
  auto amount = optional_amount(*body, "amount_minor");
  if (!amount) return ex.fail(amount.err());
  if (!*amount) return ex.fail(error{errc::missing_field, "amount_minor is required"});
  cr.amount = **amount;
  auto currency = optional_string(*body, "currency");
  if (!currency) return ex.fail(currency.err());
  cr.currency = currency->value_or("");
  auto method = optional_string(*body, "method");
  if (!method) return ex.fail(method.err());
  if (*method) {
    auto m = method_id_of(**method);
    if (!m) return ex.fail(m.err());
    cr.method = *m;
  }
  auto driver = optional_string(*body, "driver");
  if (!driver) return ex.fail(driver.err());
  if (*driver) {
    auto d = auth::parse_driver_subject(**driver);
    if (!d) return ex.fail(error{errc::invalid_argument, "driver must be a driver id (d-<n>)"});
    cr.driver = *d;
  }
  auto capture = optional_bool(*body, "capture");
  if (!capture) return ex.fail(capture.err());
  cr.capture = capture->value_or(true);

  const payments::idempotency_scope scope{
      c->who.subject, req.idempotency_key,
      fingerprint("POST /api/payments", to_string(cr.rider), *body)};
  // Blocks: PSP calls and synced commits (this runs on an API worker).
  auto answer = c->svc.create(cr, scope);
  if (!answer) return ex.fail(answer.err());
  if (answer->replayed) ex.header("Idempotent-Replayed", "true");
  if (!answer->body) return ex.fail(answer->body.err());
  ex.reply(201, json::parse(*answer->body));
}

void get_payment(const api_state& st, const gateway::http_request& req, std::string_view id,
                 exchange& ex) {
  auto c = payment_caller(st, req, ex);
  if (!c) return;
  auto pid = payment_id_of(id);
  if (!pid) return ex.fail(pid.err());
  auto p = c->svc.get(*pid);
  if (!p || !may_view(c->who, *p)) return ex.fail(error{errc::unknown_payment, "no such payment"});
  reply_payment(ex, 200, *p);
}

void post_payment_capture(const api_state& st, const gateway::http_request& req,
                          std::string_view id, exchange& ex) {
  auto target = admin_on_payment(st, req, id, ex);
  if (!target) return;
  auto body = parse_object(req.body.empty() ? std::string_view("{}") : req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"amount_minor"}); !ok) return ex.fail(ok.err());
  auto amount = optional_amount(*body, "amount_minor");
  if (!amount) return ex.fail(amount.err());
  auto p = target->first->capture(target->second, *amount);
  if (!p) return ex.fail(p.err());
  reply_payment(ex, 200, *p);
}

void post_payment_cancel(const api_state& st, const gateway::http_request& req, std::string_view id,
                         exchange& ex) {
  auto target = admin_on_payment(st, req, id, ex);
  if (!target) return;
  auto p = target->first->cancel(target->second);
  if (!p) return ex.fail(p.err());
  reply_payment(ex, 200, *p);
}

void post_payment_refund(const api_state& st, const gateway::http_request& req, std::string_view,
                         exchange& ex) {
  auto c = payment_caller(st, req, ex);
  if (!c) return;
  if (c->who.r != auth::role::admin) return ex.fail(error{errc::forbidden, "only admins refund"});
  if (auto ok = valid_idempotency_key(req.idempotency_key); !ok) return ex.fail(ok.err());
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"payment", "amount_minor", "reason"}); !ok)
    return ex.fail(ok.err());
  auto payment = required_string(*body, "payment");
  if (!payment) return ex.fail(payment.err());
  auto pid = payment_id_of(*payment);
  if (!pid) return ex.fail(pid.err());
  auto amount = optional_amount(*body, "amount_minor");
  if (!amount) return ex.fail(amount.err());
  auto reason = optional_string(*body, "reason");
  if (!reason) return ex.fail(reason.err());
  const payments::idempotency_scope scope{
      c->who.subject, req.idempotency_key,
      fingerprint("POST /api/payments/refund", payments::payment_name(*pid), *body)};
  // Blocks: PSP call and synced commits (this runs on an API worker).
  auto answer = c->svc.refund(*pid, *amount, scope);
  if (!answer) return ex.fail(answer.err());
  if (answer->replayed) ex.header("Idempotent-Replayed", "true");
  if (!answer->body) return ex.fail(answer->body.err());
  ex.reply(200, json::parse(*answer->body));
}

void get_payment_methods(const api_state& st, const gateway::http_request& req, std::string_view,
                         exchange& ex) {
  auto c = payment_caller(st, req, ex);
  if (!c) return;
  std::string subject = c->who.subject;
  if (c->who.r == auth::role::admin) {
    auto r = req.query.find("rider");
    if (r == req.query.end())
      return ex.fail(error{errc::missing_field, "admins name the rider: ?rider=r-<n>"});
    subject = r->second;
  } else if (c->who.r != auth::role::rider) {
    return ex.fail(error{errc::forbidden, "payment methods belong to riders"});
  }
  auto rider = auth::parse_rider_subject(subject);
  if (!rider) return ex.fail(error{errc::invalid_argument, "rider must be r-<n>"});
  json out = json::array();
  for (const auto& m : c->svc.methods(*rider)) out.push_back(json::parse(payments::method_json(m)));
  ex.reply(200, json{{"rider", to_string(*rider)}, {"methods", out}});
}

void post_payment_methods(const api_state& st, const gateway::http_request& req, std::string_view,
                          exchange& ex) {
  auto c = payment_caller(st, req, ex);
  if (!c) return;
  if (c->who.r != auth::role::rider)
    return ex.fail(error{errc::forbidden, "only the cardholder (a rider) adds a card"});
  auto rider = auth::parse_rider_subject(c->who.subject);
  if (!rider) return ex.fail(error{errc::forbidden, "malformed rider subject"});
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"number", "exp_month", "exp_year", "cvc"}); !ok)
    return ex.fail(ok.err());
  auto number = required_string(*body, "number");
  if (!number) return ex.fail(number.err());
  auto cvc = required_string(*body, "cvc");
  if (!cvc) return ex.fail(cvc.err());
  int exp[2] = {0, 0};
  const char* names[2] = {"exp_month", "exp_year"};
  for (int i = 0; i < 2; ++i) {
    auto it = body->find(names[i]);
    if (it == body->end() || it->is_null())
      return ex.fail(error{errc::missing_field, std::string(names[i]) + " is required"});
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 9999)
      return ex.fail(
          error{errc::invalid_argument, std::string(names[i]) + " must be a small integer"});
    exp[i] = static_cast<int>(it->get<std::int64_t>());
  }
  // The number goes to the vault here and nowhere else; errors never quote it.
  auto m = c->svc.add_method(*rider, card_input{*number, exp[0], exp[1], *cvc});
  std::fill(number->begin(), number->end(), '0');
  if (!m) return ex.fail(m.err());
  ex.reply(201, json::parse(payments::method_json(*m)));
}

void get_driver_earnings(const api_state& st, const gateway::http_request& req, std::string_view id,
                         exchange& ex) {
  auto c = payment_caller(st, req, ex);
  if (!c) return;
  auto driver = auth::parse_driver_subject(id);
  if (!driver) return ex.fail(error{errc::invalid_argument, "not a driver id (d-<n>)"});
  if (c->who.r != auth::role::admin && c->who.subject != std::string(id))
    return ex.fail(error{errc::forbidden, "drivers see only their own earnings"});
  const auto e = c->svc.earnings_of(*driver);
  ex.reply(200, json{{"driver", to_string(*driver)},
                     {"currency", c->svc.currency()},
                     {"earned_minor", e.earned_minor},
                     {"paid_out_minor", e.paid_out_minor},
                     {"balance_minor", e.balance_minor}});
}

}  // namespace rideshard::api::detail
