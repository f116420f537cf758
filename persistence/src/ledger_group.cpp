// ledger_group: the leader's ledger validation and row writes (see ledger_group.hpp).
#include "ledger_group.hpp"

#include "keys.hpp"
#include "ledger_rows.hpp"
#include "rideshard/engine/ride_charge.hpp"

namespace rideshard::persistence {

std::optional<transfer> stored_transfer(const store::impl& d, const transfer_id& id,
                                        rocksdb::Status& status) {
  {
    std::shared_lock lock(d.ledger.mu);
    auto it = d.ledger.open_holds.find(id);
    if (it != d.ledger.open_holds.end()) return it->second;
  }
  std::string row;
  auto s = d.db->Get(rocksdb::ReadOptions{}, d.ledger_cf, ledger_rows::transfer_key(id), &row);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) {
    status = s;
    return std::nullopt;
  }
  auto t = ledger_rows::decode_transfer(id, row);
  if (!t) {
    status = rocksdb::Status::Corruption("ledger transfer row");
    return std::nullopt;
  }
  return t->value;
}

pending_state stored_state(const store::impl& d, const transfer_id& id, rocksdb::Status& status) {
  {
    std::shared_lock lock(d.ledger.mu);
    if (d.ledger.open_holds.count(id) != 0) return pending_state::open;
  }
  std::string row;
  auto s = d.db->Get(rocksdb::ReadOptions{}, d.ledger_cf, ledger_rows::state_key(id), &row);
  if (s.IsNotFound()) return pending_state::none;
  if (!s.ok() || row.size() != 1) {
    status = s.ok() ? rocksdb::Status::Corruption("ledger state row") : s;
    return pending_state::none;
  }
  return static_cast<pending_state>(row[0]);
}

// Batch overlay -> group overlay -> cache/RocksDB.
class ledger_group::view final : public ledger_view {
 public:
  view(const store::impl& d, const overlay& group) : d_(d), group_(group) {}
  std::optional<transfer> find(const transfer_id& id) const override {
    for (const overlay* o : {&batch, &group_}) {
      auto it = o->transfers.find(id);
      if (it != o->transfers.end()) return it->second;
    }
    return stored_transfer(d_, id, status);
  }
  pending_state state_of(const transfer_id& id) const override {
    for (const overlay* o : {&batch, &group_}) {
      auto it = o->states.find(id);
      if (it != o->states.end()) return it->second;
    }
    return stored_state(d_, id, status);
  }
  balance balance_of(const account_id& a) const override {
    for (const overlay* o : {&batch, &group_}) {
      auto it = o->balances.find(a);
      if (it != o->balances.end()) return it->second;
    }
    std::shared_lock lock(d_.ledger.mu);
    auto it = d_.ledger.balances.find(a);
    return it == d_.ledger.balances.end() ? balance{} : it->second;
  }
  void take(const ledger_effect& e) {
    for (const auto& t : e.transfers) batch.transfers[t.id] = t;
    for (const auto& [id, st] : e.resolved) batch.states[id] = st;
    for (const auto& [a, b] : e.balances) batch.balances[a] = b;
  }

  overlay batch;
  mutable rocksdb::Status status;  // the first failed RocksDB read

 private:
  const store::impl& d_;
  const overlay& group_;
};

std::optional<error> ledger_group::add(const write_batch& b, rocksdb::WriteBatch& wb) {
  if (b.transfer_chains().empty()) return std::nullopt;
  view v(d_, group_);
  std::vector<transfer> written;
  for (const auto& chain : b.transfer_chains()) {
    auto e = plan_transfers(v, chain);
    if (!v.status.ok()) return storage_error("ledger read", v.status);
    if (!e) return e.err();
    v.take(*e);
    written.insert(written.end(), e->transfers.begin(), e->transfers.end());
  }
  rocksdb::Status s;
  for (const auto& t : written) {
    if (s.ok())
      s = wb.Put(d_.ledger_cf, ledger_rows::transfer_key(t.id),
                 ledger_rows::encode_transfer(t, next_sequence_++));
    // A ride's money to move at the PSP: indexed with the transfer, atomically.
    if (ride_ledger probe; s.ok() && add_ride_transfer(probe, t))
      s = wb.Put(d_.ledger_cf, ledger_rows::ride_due_key(t.id), rocksdb::Slice());
  }
  for (const auto& [id, st] : v.batch.states)
    if (s.ok()) s = wb.Put(d_.ledger_cf, ledger_rows::state_key(id), std::string(1, char(st)));
  for (const auto& [a, bal] : v.batch.balances)
    if (s.ok())
      s = wb.Put(d_.ledger_cf, ledger_rows::balance_key(a), ledger_rows::encode_balance(bal));
  if (s.ok() && !written.empty()) {
    std::string next;
    keys::put_be64(next, next_sequence_);
    s = wb.Put(d_.meta, ledger_rows::meta_next_sequence, next);
  }
  if (!s.ok()) return storage_error("ledger batch", s);
  for (auto& [id, t] : v.batch.transfers) group_.transfers[id] = t;
  for (auto& [id, st] : v.batch.states) group_.states[id] = st;
  for (auto& [a, bal] : v.batch.balances) group_.balances[a] = bal;
  return std::nullopt;
}

void ledger_group::publish() {
  if (group_.transfers.empty()) return;
  std::unique_lock lock(d_.ledger.mu);
  for (const auto& [a, b] : group_.balances) d_.ledger.balances[a] = b;
  for (const auto& [id, st] : group_.states) {
    if (st == pending_state::open)
      d_.ledger.open_holds[id] = group_.transfers.at(id);
    else
      d_.ledger.open_holds.erase(id);
  }
  d_.ledger.next_sequence = next_sequence_;
}

}  // namespace rideshard::persistence
