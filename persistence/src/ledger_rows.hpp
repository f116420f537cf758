// On-disk layout of the ledger column family (private): keys and fixed-size
// big-endian values for transfers, balances and hold states.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rideshard/engine/ledger.hpp"

namespace rideshard::persistence::ledger_rows {

// Key prefixes in the `ledger` CF.
inline constexpr char transfer_prefix = 'T';  ///< 'T' + id.hi + id.lo -> transfer row
inline constexpr char balance_prefix = 'A';   ///< 'A' + kind + owner -> balance row
inline constexpr char state_prefix = 'S';     ///< 'S' + id.hi + id.lo -> pending_state (1 byte)
/// 'D' + id.hi + id.lo -> "" : a trip's ride transfer (engine/ride_charge.hpp
/// add_ride_transfer: hold, capture, extra, release, fee) whose PSP call the
/// ride charger has not yet brought in line. Written in the batch of the
/// transfer itself; deleted by ledger::clear_ride_due. Same key layout as 'T'.
inline constexpr char ride_due_prefix = 'D';
/// meta CF: the next ledger sequence (the order transfers were applied in).
inline constexpr std::string_view meta_next_sequence = "ledger.next";
/// meta CF: present once every stored ride transfer has had its 'D' row (a store
/// from before the index gets them in one scan at open).
inline constexpr std::string_view meta_ride_due_indexed = "ledger.ride_due";

std::string transfer_key(const transfer_id& id);
std::string balance_key(const account_id& a);
std::string state_key(const transfer_id& id);
std::string ride_due_key(const transfer_id& id);
std::optional<transfer_id> transfer_id_of(std::string_view key);  ///< T, S or D key
std::optional<account_id> account_of(std::string_view key);       ///< A key

/// sequence (8) + the transfer's fields.
std::string encode_transfer(const transfer& t, std::uint64_t sequence);
struct stored_transfer {
  transfer value;
  std::uint64_t sequence = 0;
};
std::optional<stored_transfer> decode_transfer(const transfer_id& id, std::string_view row);

std::string encode_balance(const balance& b);
std::optional<balance> decode_balance(std::string_view row);

}  // namespace rideshard::persistence::ledger_rows
