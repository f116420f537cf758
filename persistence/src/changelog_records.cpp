// The trip changelog's ledger records (see changelog_records.hpp).
#include "changelog_records.hpp"

#include "ledger_rows.hpp"

namespace rideshard::persistence {
namespace {

constexpr std::size_t key_size = 17;  // ledger_rows::transfer_key: 'T' + hi + lo

}  // namespace

std::string ledger_chain_key(const transfer_id& first) {
  return "l-" + std::to_string(first.hi) + "-" + std::to_string(first.lo);
}

bool is_ledger_chain_key(std::string_view key) { return key.substr(0, 2) == "l-"; }

std::vector<std::uint8_t> encode_ledger_chain(const std::vector<transfer>& chain) {
  std::string out;
  for (const auto& t : chain) {
    out += ledger_rows::transfer_key(t.id);
    out += ledger_rows::encode_transfer(t, 0);
  }
  return {out.begin(), out.end()};
}

std::optional<std::vector<transfer>> decode_ledger_chain(const void* data, std::size_t size) {
  if (!data || size == 0) return std::nullopt;
  const std::string_view all(static_cast<const char*>(data), size);
  const std::size_t row = ledger_rows::encode_transfer(transfer{}, 0).size();
  if (all.size() % (key_size + row) != 0) return std::nullopt;
  std::vector<transfer> chain;
  for (std::size_t at = 0; at < all.size(); at += key_size + row) {
    auto id = ledger_rows::transfer_id_of(all.substr(at, key_size));
    if (!id) return std::nullopt;
    auto t = ledger_rows::decode_transfer(*id, all.substr(at + key_size, row));
    if (!t) return std::nullopt;
    chain.push_back(t->value);
  }
  return chain;
}

}  // namespace rideshard::persistence
