// stripe_psp: form-encoded requests over Boost.Beast (one connection per call,
// async operations under a deadline), JSON answers, Stripe errors to errc.
#include "payments/stripe_psp.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

namespace rideshard::payments {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::size_t max_calls_kept = 256;

std::int64_t int_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}
std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

intent_status status_of(const std::string& s) {
  if (s == "requires_capture") return intent_status::requires_capture;
  if (s == "succeeded") return intent_status::succeeded;
  if (s == "canceled") return intent_status::canceled;
  return intent_status::other;
}

// Stripe's error answer as an errc. `card_call`: the request carried card
// details, so the PSP's message (which may quote a parameter) is not passed on.
error error_of(const stripe_psp::response& r, bool card_call) {
  json err;
  try {
    err = json::parse(r.body).value("error", json::object());
  } catch (const std::exception&) {
    err = json::object();
  }
  const std::string code = string_field(err, "decline_code").empty()
                               ? string_field(err, "code")
                               : string_field(err, "decline_code");
  const std::string msg =
      card_call ? std::string("(details withheld: card request)") : string_field(err, "message");
  const std::string status = std::to_string(r.status);
  if (r.status == 402)
    return {errc::payment_declined, "card declined (" + (code.empty() ? "card_error" : code) + ")"};
  if (r.status == 401 || r.status == 403)
    return {errc::bad_config, "stripe: " + status + ": the PSP refused the API key"};
  if (r.status == 409 || code == "idempotency_key_in_use" ||
      string_field(err, "type") == "idempotency_error")
    return {errc::idempotency_conflict, "stripe: " + status + ": " + msg};
  if (r.status == 429 || r.status >= 500)
    return {errc::psp_unavailable, "stripe: " + status +
                                       "; the outcome is unknown, retry with "
                                       "the same idempotency key"};
  return {errc::invalid_argument, "stripe: " + status + ": " + msg};
}

result<json> parse_ok(const stripe_psp::response& r, bool card_call) {
  if (r.status < 200 || r.status >= 300) return error_of(r, card_call);
  try {
    auto j = json::parse(r.body);
    if (!j.is_object()) throw std::runtime_error("not an object");
    return j;
  } catch (const std::exception&) {
    // A 2xx we cannot read: the call may have been applied.
    return error{errc::psp_unavailable, "stripe: unreadable answer; retry with the same key"};
  }
}

result<psp_intent> intent_of(const result<json>& j) {
  if (!j) return j.err();
  psp_intent in;
  in.id = string_field(*j, "id");
  if (in.id.empty()) return error{errc::psp_unavailable, "stripe: answer without an id"};
  in.raw_status = string_field(*j, "status");
  in.status = status_of(in.raw_status);
  in.amount = int_field(*j, "amount");
  in.amount_capturable = int_field(*j, "amount_capturable");
  in.amount_received = int_field(*j, "amount_received");
  return in;
}

// Stripe object ids in a path: letters, digits and '_' only.
bool safe_id(std::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

}  // namespace

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  auto put = [&](const std::string& s) {
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else {
        out.push_back('%');
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
      }
    }
  };
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    put(k);
    out.push_back('=');
    put(v);
  }
  return out;
}

stripe_psp::stripe_psp(stripe_options opts) : opts_(std::move(opts)) {}

void stripe_psp::record(stripe_call c) {
  std::lock_guard lock(mu_);
  calls_.push_back(std::move(c));
  if (calls_.size() > max_calls_kept) calls_.pop_front();
}

std::vector<stripe_call> stripe_psp::calls() const {
  std::lock_guard lock(mu_);
  return {calls_.begin(), calls_.end()};
}

result<stripe_psp::response> stripe_psp::send(const char* method, std::string target,
                                              std::string form, std::string_view key) {
  stripe_call call{method, target, std::string(key), {}, 0};
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, opts_.host);
  req.set(http::field::authorization, "Bearer " + opts_.secret_key);
  req.set(http::field::user_agent, "rideshard-payments");
  req.set(http::field::connection, "close");
  if (!key.empty()) req.set("Idempotency-Key", std::string(key));
  if (req.method() == http::verb::post) {
    req.set(http::field::content_type, "application/x-www-form-urlencoded");
    req.body() = std::move(form);
  }
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  beast::error_code failure;
  beast::error_code ec;
  const auto address = net::ip::make_address(opts_.host, ec);
  if (ec) {
    record(call);
    return error{errc::bad_config, "stripe: host must be an IP address: " + opts_.host};
  }
  // Async operations so the deadline covers connect, write and read together.
  stream.expires_after(opts_.timeout);
  stream.async_connect(net::ip::tcp::endpoint(address, opts_.port), [&](beast::error_code e) {
    if (e) {
      failure = e;
      return;
    }
    http::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
      if (e2) {
        failure = e2;
        return;
      }
      http::async_read(stream, buffer, res,
                       [&](beast::error_code e3, std::size_t) { failure = e3; });
    });
  });
  ioc.run();
  if (failure) {
    record(call);
    return error{errc::psp_unavailable, "stripe: " + failure.message() +
                                            "; the outcome is unknown, retry with the same key"};
  }
  call.status = static_cast<int>(res.result_int());
  if (auto it = res.find("Idempotency-Key"); it != res.end())
    call.echoed_key = std::string(it->value());
  const bool echo_differs = !key.empty() && !call.echoed_key.empty() && call.echoed_key != key;
  record(call);
  if (echo_differs)
    return error{errc::internal, "stripe: the answer is for another idempotency key"};
  return response{call.status, std::move(res.body())};
}

result<psp_intent> stripe_psp::authorize(const authorize_request& req) {
  if (req.card == nullptr || req.amount <= 0 || req.idempotency_key.empty())
    return error{errc::invalid_argument, "stripe: authorize needs a card, an amount and a key"};
  // The vaulted card becomes a PaymentMethod (CVC is never stored, so never sent).
  auto pm = send("POST", "/v1/payment_methods",
                 form_encode({{"type", "card"},
                              {"card[number]", req.card->number},
                              {"card[exp_month]", std::to_string(req.card->exp_month)},
                              {"card[exp_year]", std::to_string(req.card->exp_year)}}),
                 req.idempotency_key + "-pm");
  if (!pm) return pm.err();
  auto pm_json = parse_ok(*pm, true);
  if (!pm_json) return pm_json.err();
  const std::string pm_id = string_field(*pm_json, "id");
  if (pm_id.empty()) return error{errc::psp_unavailable, "stripe: payment method without an id"};
  auto pi = send("POST", "/v1/payment_intents",
                 form_encode({{"amount", std::to_string(req.amount)},
                              {"currency", req.currency},
                              {"payment_method", pm_id},
                              {"capture_method", "manual"},
                              {"confirm", "true"},
                              {"metadata[transfer_id]", req.idempotency_key}}),
                 req.idempotency_key);
  if (!pi) return pi.err();
  return intent_of(parse_ok(*pi, false));
}

result<psp_intent> stripe_psp::capture(std::string_view intent, std::int64_t amount,
                                       std::string_view idempotency_key) {
  if (!safe_id(intent) || idempotency_key.empty())
    return error{errc::invalid_argument, "stripe: capture needs an intent id and a key"};
  auto r = send("POST", "/v1/payment_intents/" + std::string(intent) + "/capture",
                form_encode({{"amount_to_capture", std::to_string(amount)}}), idempotency_key);
  if (!r) return r.err();
  return intent_of(parse_ok(*r, false));
}

result<psp_intent> stripe_psp::cancel(std::string_view intent, std::string_view idempotency_key) {
  if (!safe_id(intent) || idempotency_key.empty())
    return error{errc::invalid_argument, "stripe: cancel needs an intent id and a key"};
  auto r =
      send("POST", "/v1/payment_intents/" + std::string(intent) + "/cancel", "", idempotency_key);
  if (!r) return r.err();
  return intent_of(parse_ok(*r, false));
}

result<psp_refund> stripe_psp::refund(std::string_view intent, std::int64_t amount,
                                      std::string_view idempotency_key) {
  if (!safe_id(intent) || idempotency_key.empty())
    return error{errc::invalid_argument, "stripe: refund needs an intent id and a key"};
  auto r = send(
      "POST", "/v1/refunds",
      form_encode({{"payment_intent", std::string(intent)}, {"amount", std::to_string(amount)}}),
      idempotency_key);
  if (!r) return r.err();
  auto j = parse_ok(*r, false);
  if (!j) return j.err();
  psp_refund out{string_field(*j, "id"), int_field(*j, "amount")};
  if (out.id.empty()) return error{errc::psp_unavailable, "stripe: refund without an id"};
  return out;
}

result<psp_intent> stripe_psp::retrieve(std::string_view intent) {
  if (!safe_id(intent)) return error{errc::invalid_argument, "stripe: not an intent id"};
  auto r = send("GET", "/v1/payment_intents/" + std::string(intent), "", "");
  if (!r) return r.err();
  return intent_of(parse_ok(*r, false));
}

}  // namespace rideshard::payments
