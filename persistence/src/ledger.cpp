// ledger: reads of the stored ledger, standalone posts, the invariant check.
#include "rideshard/persistence/ledger.hpp"

#include <algorithm>

#include "ledger_group.hpp"
#include "ledger_rows.hpp"

namespace rideshard::persistence {

result<void> ledger::post(std::vector<transfer> chain) {
  write_batch b;
  b.add_transfers(std::move(chain));
  auto r = store_.commit(b);
  if (!r) return r.err();
  return {};
}

result<void> ledger::check(const write_batch& batch) const {
  if (batch.transfer_chains().empty()) return {};
  ledger_group group(*store_.impl_);
  rocksdb::WriteBatch discarded;
  if (auto refused = group.add(batch, discarded)) return *refused;
  return {};
}

result<std::optional<transfer>> ledger::find(const transfer_id& id) const {
  rocksdb::Status s;
  auto t = stored_transfer(*store_.impl_, id, s);
  if (!s.ok()) return storage_error("ledger find", s);
  return t;
}

result<pending_state> ledger::state_of(const transfer_id& id) const {
  rocksdb::Status s;
  auto st = stored_state(*store_.impl_, id, s);
  if (!s.ok()) return storage_error("ledger state", s);
  return st;
}

balance ledger::balance_of(const account_id& a) const {
  const auto& cache = store_.impl_->ledger;
  std::shared_lock lock(cache.mu);
  auto it = cache.balances.find(a);
  return it == cache.balances.end() ? balance{} : it->second;
}

std::vector<transfer> ledger::open_holds() const {
  const auto& cache = store_.impl_->ledger;
  std::shared_lock lock(cache.mu);
  std::vector<transfer> out;
  out.reserve(cache.open_holds.size());
  for (const auto& [id, t] : cache.open_holds) out.push_back(t);
  return out;
}

namespace {

// Every stored transfer in the order it was applied.
result<std::vector<transfer>> all_transfers(const store::impl& d) {
  std::vector<ledger_rows::stored_transfer> rows;
  const std::string prefix(1, ledger_rows::transfer_prefix);
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions{}, d.ledger_cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto id = ledger_rows::transfer_id_of(it->key().ToStringView());
    auto t = id ? ledger_rows::decode_transfer(*id, it->value().ToStringView()) : std::nullopt;
    if (!t) return error{errc::storage_error, "corrupt ledger transfer row"};
    rows.push_back(std::move(*t));
  }
  if (!it->status().ok()) return storage_error("scan ledger", it->status());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
  std::vector<transfer> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(r.value);
  return out;
}

}  // namespace

result<std::vector<transfer>> ledger::transfers() const { return all_transfers(*store_.impl_); }

result<std::vector<transfer_id>> ledger::rides_due() const {
  const store::impl& d = *store_.impl_;
  std::vector<transfer_id> out;
  const std::string prefix(1, ledger_rows::ride_due_prefix);
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions{}, d.ledger_cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto id = ledger_rows::transfer_id_of(it->key().ToStringView());
    if (!id) return error{errc::storage_error, "corrupt ledger ride-due row"};
    out.push_back(*id);
  }
  if (!it->status().ok()) return storage_error("scan ledger ride-due rows", it->status());
  return out;
}

result<void> ledger::clear_ride_due(const std::vector<transfer_id>& ids) {
  if (ids.empty()) return {};
  const store::impl& d = *store_.impl_;
  rocksdb::WriteBatch wb;
  for (const auto& id : ids)
    if (auto s = wb.Delete(d.ledger_cf, ledger_rows::ride_due_key(id)); !s.ok())
      return storage_error("clear ledger ride-due rows", s);
  if (auto s = d.db->Write(rocksdb::WriteOptions{}, &wb); !s.ok())
    return storage_error("clear ledger ride-due rows", s);
  return {};
}

result<std::vector<transfer>> ledger::transfers_of(const account_id& a) const {
  auto all = all_transfers(*store_.impl_);
  if (!all) return all.err();
  std::vector<transfer> out;
  for (auto& t : *all)
    if (t.debit == a || t.credit == a) out.push_back(std::move(t));
  return out;
}

result<void> ledger::check_invariants() const {
  const store::impl& d = *store_.impl_;
  auto recorded = all_transfers(d);
  if (!recorded) return recorded.err();
  std::map<account_id, balance> balances;
  std::map<transfer_id, pending_state> states;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions{}, d.ledger_cf));
  for (it->Seek(std::string(1, ledger_rows::balance_prefix));
       it->Valid() && it->key()[0] == ledger_rows::balance_prefix; it->Next()) {
    auto a = ledger_rows::account_of(it->key().ToStringView());
    auto b = ledger_rows::decode_balance(it->value().ToStringView());
    if (!a || !b) return error{errc::storage_error, "corrupt ledger balance row"};
    balances[*a] = *b;
  }
  for (it->Seek(std::string(1, ledger_rows::state_prefix));
       it->Valid() && it->key()[0] == ledger_rows::state_prefix; it->Next()) {
    auto id = ledger_rows::transfer_id_of(it->key().ToStringView());
    if (!id || it->value().size() != 1) return error{errc::storage_error, "corrupt ledger state"};
    states[*id] = static_cast<pending_state>(it->value()[0]);
  }
  if (!it->status().ok()) return storage_error("scan ledger", it->status());
  if (auto r = check_ledger_invariants(*recorded, balances, states); !r) return r;
  std::shared_lock lock(d.ledger.mu);
  if (d.ledger.balances != balances)
    return error{errc::internal, "ledger invariant: cached balances differ from the stored ones"};
  for (const auto& [id, st] : states)
    if ((st == pending_state::open) != (d.ledger.open_holds.count(id) != 0))
      return error{errc::internal, "ledger invariant: cached open holds differ from the stored"};
  return {};
}

}  // namespace rideshard::persistence
