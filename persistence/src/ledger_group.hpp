// ledger_group (private): the group-commit leader's ledger pass — validates each
// batch's chains in commit order against the store (plus what earlier batches of
// the same group did), adds the rows to the group's WriteBatch, and publishes
// the new balances and holds to the cache once the write succeeded.
#pragma once

#include <rocksdb/write_batch.h>

#include <map>
#include <optional>

#include "store_impl.hpp"

namespace rideshard::persistence {

class ledger_group {
 public:
  explicit ledger_group(store::impl& d) : d_(d), next_sequence_(next_sequence(d)) {}

  /// Validates the chains of `b`; on success adds its ledger rows to `wb` and
  /// returns nullopt, otherwise returns the refusal and writes nothing.
  std::optional<error> add(const write_batch& b, rocksdb::WriteBatch& wb);
  /// After the group's write succeeded: the cache takes the new state.
  void publish();

 private:
  struct overlay {
    std::map<transfer_id, transfer> transfers;
    std::map<transfer_id, pending_state> states;
    std::map<account_id, balance> balances;
  };
  class view;
  static std::uint64_t next_sequence(const store::impl& d) {
    std::shared_lock lock(d.ledger.mu);  // ledger::check runs beside the leader
    return d.ledger.next_sequence;
  }

  store::impl& d_;
  overlay group_;
  std::uint64_t next_sequence_;
};

/// Reads of the stored ledger outside the cache (RocksDB point lookups).
std::optional<transfer> stored_transfer(const store::impl& d, const transfer_id& id,
                                        rocksdb::Status& status);
pending_state stored_state(const store::impl& d, const transfer_id& id, rocksdb::Status& status);

}  // namespace rideshard::persistence
