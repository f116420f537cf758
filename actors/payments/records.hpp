// The payment service's stored records — payment methods (vault token, brand,
// last 4: never the number), payments (state, PSP intent, amounts, the PSP call
// in flight) and Idempotency-Key answers — and their byte encoding (JSON) for
// the store's entities CF (entity kinds payment_method, payment, idempotency).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rideshard/engine/card.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::payments {

/// A rider's card as the application keeps it.
struct method_record {
  std::uint64_t id = 0;
  rider_id rider;
  std::string token;  ///< the vault's token ("tok_..."): the only way back to the number
  card_brand brand = card_brand::visa;
  std::string last4;
  std::string fingerprint;  ///< token_vault::card_fingerprint: the same card, never the number
  int exp_month = 0;
  int exp_year = 0;
  std::int64_t created_ms = 0;
};

/// "pm-<id>".
std::string method_name(std::uint64_t id);

enum class payment_state : std::uint8_t {
  authorizing = 1,  ///< the authorization is in flight (or its outcome unknown)
  authorized = 2,   ///< a hold at the PSP and in the ledger
  captured = 3,     ///< captured (possibly partly refunded since)
  voided = 4,       ///< the hold was released
  declined = 5,     ///< the PSP declined the card
  failed = 6,       ///< the PSP refused the request for another reason
};
std::string_view to_string(payment_state s) noexcept;

/// The PSP call a payment has in flight: written before the call, cleared in the
/// same batch as its outcome, so a restart knows what to finish.
enum class payment_op : std::uint8_t {
  none = 0,
  authorize = 1,
  capture = 2,
  cancel = 3,
  refund = 4
};
std::string_view to_string(payment_op op) noexcept;

struct payment_record {
  std::uint64_t id = 0;
  rider_id rider;
  driver_id driver;  ///< the payee's share goes here (invalid: to the platform)
  std::uint64_t method = 0;
  std::string currency = "usd";
  std::int64_t amount = 0;  ///< requested authorization
  bool auto_capture = true;
  payment_state state = payment_state::authorizing;
  std::string intent;  ///< the PSP's PaymentIntent id (empty until authorized)
  std::int64_t authorized = 0;
  std::int64_t captured = 0;
  std::int64_t refunded = 0;
  std::uint32_t refunds = 0;  ///< refunds recorded (the next one is refunds + 1)
  payment_op pending = payment_op::none;
  std::int64_t pending_amount = 0;
  std::string failure;         ///< why it was declined / failed
  std::uint64_t idem = 0;      ///< the Idempotency-Key record whose answer is pending (0: none)
  std::uint64_t sequence = 0;  ///< events published so far (the next event's sequence)
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

/// "p-<id>".
std::string payment_name(std::uint64_t id);

/// An Idempotency-Key bound to its caller and the request's parameters, and
/// the first answer once there is one.
struct idempotency_record {
  std::uint64_t id = 0;  ///< idempotency_id(caller, key)
  std::string caller;    ///< the authenticated subject
  std::string key;
  std::string fingerprint;  ///< hash of method, path and canonical body
  std::uint64_t payment = 0;
  bool done = false;
  bool ok = false;     ///< the first answer was a payment (else an error)
  std::string answer;  ///< ok: the payment's JSON then; else the error message
  errc error_code = errc::ok;
  std::int64_t created_ms = 0;
};

/// The record id of (caller, key): the first 8 bytes of SHA-256(caller \n key), never 0.
std::uint64_t idempotency_id(std::string_view caller, std::string_view key);

std::vector<std::uint8_t> encode(const method_record& r);
std::vector<std::uint8_t> encode(const payment_record& r);
std::vector<std::uint8_t> encode(const idempotency_record& r);
/// Errors: bad_json (not a record of that kind).
[[nodiscard]] result<method_record> decode_method(const std::vector<std::uint8_t>& bytes);
[[nodiscard]] result<payment_record> decode_payment(const std::vector<std::uint8_t>& bytes);
[[nodiscard]] result<idempotency_record> decode_idempotency(const std::vector<std::uint8_t>& bytes);

/// The public view of a payment (API answers): ids as "p-", "r-", "d-", "pm-"
/// names, amounts, state, refundable amount. Never the token or the card.
std::string payment_json(const payment_record& r);
/// The public view of a method: id, brand, last 4, expiry.
std::string method_json(const method_record& r);

}  // namespace rideshard::payments
