// Ledger row encoding (see ledger_rows.hpp).
#include "ledger_rows.hpp"

#include "keys.hpp"

namespace rideshard::persistence::ledger_rows {
namespace {

constexpr std::size_t transfer_row_size = 8 + 9 + 9 + 8 + 1 + 16 + 1 + 8 + 8 + 2;

void put_account(std::string& out, const account_id& a) {
  out.push_back(static_cast<char>(a.kind));
  keys::put_be64(out, a.owner);
}

std::uint64_t take64(std::string_view& in) {
  auto v = keys::get_be64(in);
  in.remove_prefix(8);
  return v;
}

std::uint8_t take8(std::string_view& in) {
  auto v = static_cast<std::uint8_t>(in[0]);
  in.remove_prefix(1);
  return v;
}

account_id take_account(std::string_view& in) {
  account_id a;
  a.kind = static_cast<account_kind>(take8(in));
  a.owner = take64(in);
  return a;
}

std::string id_key(char prefix, const transfer_id& id) {
  std::string k(1, prefix);
  keys::put_be64(k, id.hi);
  keys::put_be64(k, id.lo);
  return k;
}

}  // namespace

std::string transfer_key(const transfer_id& id) { return id_key(transfer_prefix, id); }
std::string state_key(const transfer_id& id) { return id_key(state_prefix, id); }
std::string ride_due_key(const transfer_id& id) { return id_key(ride_due_prefix, id); }

std::string balance_key(const account_id& a) {
  std::string k(1, balance_prefix);
  put_account(k, a);
  return k;
}

std::optional<transfer_id> transfer_id_of(std::string_view key) {
  if (key.size() != 17) return std::nullopt;
  return transfer_id{keys::get_be64(key.substr(1)), keys::get_be64(key.substr(9))};
}

std::optional<account_id> account_of(std::string_view key) {
  if (key.size() != 10 || key[0] != balance_prefix) return std::nullopt;
  key.remove_prefix(1);
  return take_account(key);
}

std::string encode_transfer(const transfer& t, std::uint64_t sequence) {
  std::string out;
  out.reserve(transfer_row_size);
  keys::put_be64(out, sequence);
  put_account(out, t.debit);
  put_account(out, t.credit);
  keys::put_be64(out, static_cast<std::uint64_t>(t.amount));
  out.push_back(static_cast<char>(t.kind));
  keys::put_be64(out, t.pending_id.hi);
  keys::put_be64(out, t.pending_id.lo);
  out.push_back(t.linked ? 1 : 0);
  keys::put_be64(out, static_cast<std::uint64_t>(t.timestamp_ms));
  keys::put_be64(out, static_cast<std::uint64_t>(t.timeout_ms));
  out.push_back(static_cast<char>(t.code >> 8));
  out.push_back(static_cast<char>(t.code & 0xff));
  return out;
}

std::optional<stored_transfer> decode_transfer(const transfer_id& id, std::string_view row) {
  if (row.size() != transfer_row_size) return std::nullopt;
  stored_transfer s;
  s.sequence = take64(row);
  transfer& t = s.value;
  t.id = id;
  t.debit = take_account(row);
  t.credit = take_account(row);
  t.amount = static_cast<std::int64_t>(take64(row));
  const auto kind = take8(row);
  if (kind > static_cast<std::uint8_t>(transfer_kind::void_pending)) return std::nullopt;
  t.kind = static_cast<transfer_kind>(kind);
  t.pending_id.hi = take64(row);
  t.pending_id.lo = take64(row);
  t.linked = take8(row) != 0;
  t.timestamp_ms = static_cast<std::int64_t>(take64(row));
  t.timeout_ms = static_cast<std::int64_t>(take64(row));
  const auto hi = take8(row);
  t.code = static_cast<std::uint16_t>((hi << 8) | take8(row));
  return s;
}

std::string encode_balance(const balance& b) {
  std::string out;
  for (auto v : {b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted})
    keys::put_be64(out, static_cast<std::uint64_t>(v));
  return out;
}

std::optional<balance> decode_balance(std::string_view row) {
  if (row.size() != 32) return std::nullopt;
  balance b;
  b.debits_pending = static_cast<std::int64_t>(take64(row));
  b.debits_posted = static_cast<std::int64_t>(take64(row));
  b.credits_pending = static_cast<std::int64_t>(take64(row));
  b.credits_posted = static_cast<std::int64_t>(take64(row));
  return b;
}

}  // namespace rideshard::persistence::ledger_rows
