// records: JSON bytes for the payment service's entities, and the public views.
#include "payments/records.hpp"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

namespace rideshard::payments {

using json = nlohmann::json;

namespace {

std::vector<std::uint8_t> bytes_of(const json& j) {
  const std::string s = j.dump();
  return {s.begin(), s.end()};
}

result<json> parse(const std::vector<std::uint8_t>& b, const char* what) {
  try {
    auto j = json::parse(b.begin(), b.end());
    if (j.is_object()) return j;
  } catch (const std::exception&) {
  }
  return error{errc::bad_json, std::string("stored ") + what + " record is not readable"};
}

template <class T>
result<void> get(const json& j, const char* key, T& out) {
  try {
    j.at(key).get_to(out);
    return {};
  } catch (const std::exception&) {
    return error{errc::bad_json, std::string("stored record lacks ") + key};
  }
}

// Reads every listed field or fails on the first missing one.
#define RS_GET(j, key, out) \
  if (auto ok_ = get(j, key, out); !ok_) return ok_.err()

}  // namespace

std::string method_name(std::uint64_t id) { return "pm-" + std::to_string(id); }
std::string payment_name(std::uint64_t id) { return "p-" + std::to_string(id); }

std::string_view to_string(payment_state s) noexcept {
  switch (s) {
    case payment_state::authorizing:
      return "authorizing";
    case payment_state::authorized:
      return "authorized";
    case payment_state::captured:
      return "captured";
    case payment_state::voided:
      return "voided";
    case payment_state::declined:
      return "declined";
    case payment_state::failed:
      return "failed";
  }
  return "failed";
}

std::string_view to_string(payment_op op) noexcept {
  switch (op) {
    case payment_op::none:
      return "none";
    case payment_op::authorize:
      return "authorize";
    case payment_op::capture:
      return "capture";
    case payment_op::cancel:
      return "cancel";
    case payment_op::refund:
      return "refund";
  }
  return "none";
}

std::uint64_t idempotency_id(std::string_view caller, std::string_view key) {
  std::string in(caller);
  in.push_back('\n');
  in.append(key);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | md[i];
  return v == 0 ? 1 : v;
}

std::vector<std::uint8_t> encode(const method_record& r) {
  return bytes_of(json{{"id", r.id},
                       {"rider", r.rider.value},
                       {"token", r.token},
                       {"brand", static_cast<int>(r.brand)},
                       {"last4", r.last4},
                       {"fingerprint", r.fingerprint},
                       {"exp_month", r.exp_month},
                       {"exp_year", r.exp_year},
                       {"created_ms", r.created_ms}});
}

result<method_record> decode_method(const std::vector<std::uint8_t>& bytes) {
  auto j = parse(bytes, "payment method");
  if (!j) return j.err();
  method_record r;
  int brand = 0;
  RS_GET(*j, "id", r.id);
  RS_GET(*j, "rider", r.rider.value);
  RS_GET(*j, "token", r.token);
  RS_GET(*j, "brand", brand);
  RS_GET(*j, "last4", r.last4);
  r.fingerprint = (*j).value("fingerprint", std::string());  // absent in methods stored before it
  RS_GET(*j, "exp_month", r.exp_month);
  RS_GET(*j, "exp_year", r.exp_year);
  RS_GET(*j, "created_ms", r.created_ms);
  if (brand < 1 || brand > 4) return error{errc::bad_json, "stored payment method: bad brand"};
  r.brand = static_cast<card_brand>(brand);
  return r;
}

std::vector<std::uint8_t> encode(const payment_record& r) {
  return bytes_of(json{{"id", r.id},
                       {"rider", r.rider.value},
                       {"driver", r.driver.value},
                       {"method", r.method},
                       {"currency", r.currency},
                       {"amount", r.amount},
                       {"auto_capture", r.auto_capture},
                       {"state", static_cast<int>(r.state)},
                       {"intent", r.intent},
                       {"authorized", r.authorized},
                       {"captured", r.captured},
                       {"refunded", r.refunded},
                       {"refunds", r.refunds},
                       {"pending", static_cast<int>(r.pending)},
                       {"pending_amount", r.pending_amount},
                       {"failure", r.failure},
                       {"idem", r.idem},
                       {"sequence", r.sequence},
                       {"created_ms", r.created_ms},
                       {"updated_ms", r.updated_ms}});
}

result<payment_record> decode_payment(const std::vector<std::uint8_t>& bytes) {
  auto j = parse(bytes, "payment");
  if (!j) return j.err();
  payment_record r;
  int state = 0, pending = 0;
  RS_GET(*j, "id", r.id);
  RS_GET(*j, "rider", r.rider.value);
  RS_GET(*j, "driver", r.driver.value);
  RS_GET(*j, "method", r.method);
  RS_GET(*j, "currency", r.currency);
  RS_GET(*j, "amount", r.amount);
  RS_GET(*j, "auto_capture", r.auto_capture);
  RS_GET(*j, "state", state);
  RS_GET(*j, "intent", r.intent);
  RS_GET(*j, "authorized", r.authorized);
  RS_GET(*j, "captured", r.captured);
  RS_GET(*j, "refunded", r.refunded);
  RS_GET(*j, "refunds", r.refunds);
  RS_GET(*j, "pending", pending);
  RS_GET(*j, "pending_amount", r.pending_amount);
  RS_GET(*j, "failure", r.failure);
  RS_GET(*j, "idem", r.idem);
  RS_GET(*j, "sequence", r.sequence);
  RS_GET(*j, "created_ms", r.created_ms);
  RS_GET(*j, "updated_ms", r.updated_ms);
  if (state < 1 || state > 6 || pending < 0 || pending > 4)
    return error{errc::bad_json, "stored payment: bad state"};
  r.state = static_cast<payment_state>(state);
  r.pending = static_cast<payment_op>(pending);
  return r;
}

std::vector<std::uint8_t> encode(const idempotency_record& r) {
  return bytes_of(json{{"id", r.id},
                       {"caller", r.caller},
                       {"key", r.key},
                       {"fingerprint", r.fingerprint},
                       {"payment", r.payment},
                       {"done", r.done},
                       {"ok", r.ok},
                       {"answer", r.answer},
                       {"error_code", static_cast<int>(r.error_code)},
                       {"created_ms", r.created_ms}});
}

result<idempotency_record> decode_idempotency(const std::vector<std::uint8_t>& bytes) {
  auto j = parse(bytes, "idempotency");
  if (!j) return j.err();
  idempotency_record r;
  int code = 0;
  RS_GET(*j, "id", r.id);
  RS_GET(*j, "caller", r.caller);
  RS_GET(*j, "key", r.key);
  RS_GET(*j, "fingerprint", r.fingerprint);
  RS_GET(*j, "payment", r.payment);
  RS_GET(*j, "done", r.done);
  RS_GET(*j, "ok", r.ok);
  RS_GET(*j, "answer", r.answer);
  RS_GET(*j, "error_code", code);
  RS_GET(*j, "created_ms", r.created_ms);
  r.error_code = static_cast<errc>(code);
  return r;
}

std::string payment_json(const payment_record& r) {
  json j{{"id", payment_name(r.id)},
         {"rider", to_string(r.rider)},
         {"driver", r.driver.valid() ? json(to_string(r.driver)) : json(nullptr)},
         {"method", method_name(r.method)},
         {"currency", r.currency},
         {"amount_minor", r.amount},
         {"capture", r.auto_capture},
         {"state", to_string(r.state)},
         {"authorized_minor", r.authorized},
         {"captured_minor", r.captured},
         {"refunded_minor", r.refunded},
         {"refundable_minor", r.captured - r.refunded},
         {"in_flight", r.pending == payment_op::none ? json(nullptr) : json(to_string(r.pending))},
         {"created_at_ms", r.created_ms},
         {"updated_at_ms", r.updated_ms}};
  if (!r.failure.empty()) j["failure"] = r.failure;
  return j.dump();
}

std::string method_json(const method_record& r) {
  return json{{"id", method_name(r.id)}, {"brand", to_string(r.brand)},
              {"last4", r.last4},        {"exp_month", r.exp_month},
              {"exp_year", r.exp_year},  {"created_at_ms", r.created_ms}}
      .dump();
}

}  // namespace rideshard::payments
