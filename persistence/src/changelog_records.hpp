// The trip changelog's ledger records (private): a transfer chain, keyed
// "l-<hi>-<lo>" by its first transfer's id, its value every transfer of the
// chain as the ledger CF stores it (id key + row), in chain order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rideshard/engine/ledger.hpp"

namespace rideshard::persistence {

/// "l-<hi>-<lo>": never a trip key ("t-<id>").
std::string ledger_chain_key(const transfer_id& first);
/// Whether a changelog key is a ledger chain's.
bool is_ledger_chain_key(std::string_view key);
std::vector<std::uint8_t> encode_ledger_chain(const std::vector<transfer>& chain);
/// nullopt: not a whole, well-formed chain.
std::optional<std::vector<transfer>> decode_ledger_chain(const void* data, std::size_t size);

}  // namespace rideshard::persistence
