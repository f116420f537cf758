// ledger: the double-entry payment ledger inside a store (its own column family).
// Writes ride in write_batch::add_transfers (same synced batch as the trip
// transition that causes them); this class reads, posts standalone chains and
// checks the invariants.
#pragma once

#include <optional>
#include <vector>

#include "rideshard/engine/ledger.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/store.hpp"

namespace rideshard::persistence {

/// A view of one store's ledger. Cheap (holds a reference; the store must
/// outlive it). Thread-safe like store: reads see every committed batch.
class ledger {
 public:
  explicit ledger(store& s) : store_(s) {}

  /// Commits a batch holding only `chain` (synced). Errors: as store::commit,
  /// plus the chain's plan_transfers errors (transfer_exists, ledger_rejected,
  /// invalid_argument). A replayed chain succeeds and writes nothing.
  [[nodiscard]] result<void> post(std::vector<transfer> chain);

  /// Validates `batch`'s chains against the ledger as it stands, in order, as
  /// store::commit would; writes nothing. Cluster mode checks a batch with it
  /// before its Kafka transaction (a commit in between may still change the
  /// answer). Errors: as post().
  [[nodiscard]] result<void> check(const write_batch& batch) const;

  /// The transfer with `id`, or nullopt. Errors: storage_error.
  [[nodiscard]] result<std::optional<transfer>> find(const transfer_id& id) const;
  /// Where a hold stands (none: not a pending transfer). Errors: storage_error.
  [[nodiscard]] result<pending_state> state_of(const transfer_id& id) const;
  /// An account's balance (kept in memory; exact after every commit).
  balance balance_of(const account_id& a) const;
  /// Every open hold, oldest id first (kept in memory).
  std::vector<transfer> open_holds() const;
  /// Every transfer whose debit or credit is `a`, in the order they were applied.
  /// Scans the whole ledger: for tests, exports and admin reads.
  [[nodiscard]] result<std::vector<transfer>> transfers_of(const account_id& a) const;

  /// The ride transfers (engine/ride_charge.hpp add_ride_transfer: a trip's
  /// hold, capture, extra charge, release, cancel fee) whose PSP call is not yet
  /// known to be in line: each is indexed in the batch that commits it and stays
  /// until clear_ride_due(). By trip (id.hi), then code. Reads only the index,
  /// not the ledger: what start-up reconciliation scans. Errors: storage_error.
  [[nodiscard]] result<std::vector<transfer_id>> rides_due() const;
  /// Drops `ids` from that index (the caller has recorded the PSP's answers for
  /// them). Not synced: a lost delete only makes a later reconcile look again.
  /// Errors: storage_error.
  [[nodiscard]] result<void> clear_ride_due(const std::vector<transfer_id>& ids);

  /// Every stored transfer, in the order they were applied. Scans the whole
  /// ledger: for tests, exports and audits.
  [[nodiscard]] result<std::vector<transfer>> transfers() const;
  /// Re-reads every stored transfer, balance and hold state and checks them
  /// with check_ledger_invariants (Σdebits = Σcredits, balances = sum of
  /// transfers, post <= hold, a hold resolved once), and that the in-memory
  /// balances equal the stored ones. Errors: internal (the first broken
  /// invariant), storage_error.
  [[nodiscard]] result<void> check_invariants() const;

 private:
  store& store_;
};

}  // namespace rideshard::persistence
