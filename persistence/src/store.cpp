// store: opening the RocksDB directory, group commit, recovery reads, outbox.
#include "rideshard/persistence/store.hpp"

#include <algorithm>
#include <limits>
#include <optional>

#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

#include "keys.hpp"
#include "ledger_group.hpp"
#include "ledger_rows.hpp"
#include "rideshard/engine/ride_charge.hpp"
#include "rideshard/persistence/topics.hpp"
#include "store_impl.hpp"

namespace rideshard::persistence {
namespace {

constexpr const char* cf_names[] = {"entities", "journal", "outbox", "meta", "ledger"};
constexpr std::size_t max_group_batches = 512;

rocksdb::Slice slice(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

std::vector<std::uint8_t> bytes(const rocksdb::Slice& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()),
          reinterpret_cast<const std::uint8_t*>(s.data()) + s.size()};
}

// The snapshot in the entities row under `it` (key: kind + id; value: sequence
// + bytes), or nullopt for a row of the wrong shape.
std::optional<entity_snapshot> snapshot_at(entity_kind kind, const rocksdb::Iterator& it) {
  const auto key = it.key().ToStringView();
  auto value = it.value();
  if (key.size() != 9 || value.size() < 8) return std::nullopt;
  entity_snapshot snap{
      kind, keys::get_be64(key.substr(1)), keys::get_be64(value.ToStringView()), {}};
  value.remove_prefix(8);
  snap.value = bytes(value);
  return snap;
}

result<void> validate(const write_batch& b) {
  for (const auto& j : b.journal())
    if (!j.trip.valid() || j.sequence == 0)
      return error{errc::invalid_argument, "journal entry needs a trip id and sequence > 0"};
  for (const auto& e : b.entities())
    if (e.id == 0 || e.value.empty())
      return error{errc::invalid_argument, "entity snapshot needs an id and a value"};
  for (const auto& ev : b.events())
    if (ev.topic.empty()) return error{errc::invalid_argument, "outbox event needs a topic"};
  return {};
}

// The outbox is a queue: deletes pile up as tombstones at its head, so compact a
// file as soon as most of a window is deletions.
rocksdb::ColumnFamilyOptions outbox_cf_options() {
  rocksdb::ColumnFamilyOptions o;
  // Rows live seconds: compressing them on flush and decompressing them for the
  // relay costs more CPU than the disk it saves (the relay reads every row once).
  o.compression = rocksdb::kNoCompression;
  o.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(1024, 512));
  return o;
}

// Every new transfer id is looked up first (one transfer per id), and almost all
// are absent: a bloom filter answers those without reading a block.
rocksdb::ColumnFamilyOptions ledger_cf_options() {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

rocksdb::ColumnFamilyOptions cf_options(const std::string& name) {
  if (name == "outbox") return outbox_cf_options();
  if (name == "ledger") return ledger_cf_options();
  return {};
}

}  // namespace

store::impl::~impl() {
  // A clean close flushes the memtables, so the next open replays no WAL.
  if (db) (void)db->Flush(rocksdb::FlushOptions{}, handles);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  handles.clear();
  if (db) (void)db->Close();
}

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

result<std::unique_ptr<store>> store::open(const store_options& options) {
  if (options.path.empty()) return error{errc::invalid_argument, "store path is empty"};
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // Bounds the WAL a crash leaves to replay (recovery time): past this, RocksDB
  // flushes the column families that pin old WAL files. Default: ~1 GB here.
  db_options.max_total_wal_size = 128ull << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions{});
  for (const char* name : cf_names) cfs.emplace_back(name, cf_options(name));
  auto p = std::make_unique<impl>();
  p->options = options;
  if (options.power_loss) {
    p->disk = options.power_loss->impl_;
    p->env = p->disk->make_env();
    db_options.env = p->env.get();
  }
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.path, cfs, &p->handles, &raw);
  if (!s.ok()) return storage_error("open " + options.path, s);
  p->db.reset(raw);
  p->entities = p->handles[1];
  p->journal = p->handles[2];
  p->outbox = p->handles[3];
  p->meta = p->handles[4];
  p->ledger_cf = p->handles[5];
  if (s = p->load_ledger(); !s.ok()) return storage_error("load ledger", s);

  // The next outbox sequence: the persisted high-water mark, or past the last row.
  std::string next;
  s = p->db->Get(rocksdb::ReadOptions{}, p->meta, keys::meta_next_outbox, &next);
  if (s.ok() && next.size() == 8)
    p->next_outbox = keys::get_be64(next);
  else if (!s.IsNotFound())
    return storage_error("read outbox sequence", s);
  std::uint64_t depth = 0;
  std::vector<std::uint64_t> analytics;
  std::unique_ptr<rocksdb::Iterator> it(p->db->NewIterator(rocksdb::ReadOptions{}, p->outbox));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++depth;
    auto seq = keys::get_be64(it->key().ToStringView());
    if (seq >= p->next_outbox) p->next_outbox = seq + 1;
    auto topic = keys::event_topic(it->value().ToStringView());
    if (topic && is_analytics_topic(*topic)) analytics.push_back(seq);
  }
  if (!it->status().ok()) return storage_error("scan outbox", it->status());
  p->track_analytics(analytics);
  p->outbox_depth = depth;
  p->next_outbox_visible = p->next_outbox;
  p->tail.next = p->next_outbox;
  return std::unique_ptr<store>(new store(std::move(p)));
}

rocksdb::Status store::impl::load_ledger() {
  std::string next;
  auto s = db->Get(rocksdb::ReadOptions{}, meta, ledger_rows::meta_next_sequence, &next);
  if (s.ok() && next.size() == 8)
    ledger.next_sequence = keys::get_be64(next);
  else if (!s.IsNotFound())
    return s.ok() ? rocksdb::Status::Corruption("ledger sequence") : s;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}, ledger_cf));
  for (it->Seek(std::string(1, ledger_rows::balance_prefix));
       it->Valid() && it->key()[0] == ledger_rows::balance_prefix; it->Next()) {
    auto a = ledger_rows::account_of(it->key().ToStringView());
    auto b = ledger_rows::decode_balance(it->value().ToStringView());
    if (!a || !b) return rocksdb::Status::Corruption("ledger balance row");
    ledger.balances[*a] = *b;
  }
  for (it->Seek(std::string(1, ledger_rows::state_prefix));
       it->Valid() && it->key()[0] == ledger_rows::state_prefix; it->Next()) {
    if (it->value().size() != 1 || it->value()[0] != char(pending_state::open)) continue;
    auto id = ledger_rows::transfer_id_of(it->key().ToStringView());
    if (!id) return rocksdb::Status::Corruption("ledger state row");
    std::string row;
    auto g = db->Get(rocksdb::ReadOptions{}, ledger_cf, ledger_rows::transfer_key(*id), &row);
    auto t = g.ok() ? ledger_rows::decode_transfer(*id, row) : std::nullopt;
    if (!t) return g.ok() ? rocksdb::Status::Corruption("ledger hold row") : g;
    ledger.open_holds[*id] = t->value;
  }
  if (!it->status().ok()) return it->status();
  return index_ride_transfers();
}

rocksdb::Status store::impl::index_ride_transfers() {
  std::string marker;
  auto s = db->Get(rocksdb::ReadOptions{}, meta, ledger_rows::meta_ride_due_indexed, &marker);
  if (s.ok() || !s.IsNotFound()) return s;
  s = rocksdb::Status::OK();
  // A store from before the index: every ride transfer gets its row once (the
  // ride charger clears those already in line at its first reconcile).
  rocksdb::WriteBatch wb;
  const std::string prefix(1, ledger_rows::transfer_prefix);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}, ledger_cf));
  for (it->Seek(prefix); s.ok() && it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto id = ledger_rows::transfer_id_of(it->key().ToStringView());
    auto t = id ? ledger_rows::decode_transfer(*id, it->value().ToStringView()) : std::nullopt;
    if (!t) return rocksdb::Status::Corruption("ledger transfer row");
    if (ride_ledger probe; add_ride_transfer(probe, t->value))
      s = wb.Put(ledger_cf, ledger_rows::ride_due_key(*id), rocksdb::Slice());
  }
  if (!it->status().ok()) return it->status();
  if (s.ok()) s = wb.Put(meta, ledger_rows::meta_ride_due_indexed, rocksdb::Slice());
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  return s.ok() ? db->Write(wo, &wb) : s;
}

std::uint64_t store::impl::write_group(std::vector<pending*>& group, std::uint64_t first_seq) {
  rocksdb::WriteBatch wb;
  rocksdb::Status s;
  std::uint64_t seq = first_seq;
  std::vector<std::uint64_t> analytics_rows;
  std::vector<outbox_event> tail_rows;  // copies for the in-memory tail, if kept
  std::map<std::string_view, std::uint64_t> by_topic;
  const bool keep_tail = tail.max_rows.load(std::memory_order_relaxed) > 0;
  ledger_group money(*this);
  bool sync = false;  // one synced batch syncs the group's write
  for (auto* p : group) {
    const write_batch& b = *p->batch;
    sync = sync || b.sync();
    // Ledger first: a refused chain refuses the whole batch before any row of it is added.
    if (s.ok()) p->refused = money.add(b, wb);
    if (p->refused) continue;
    for (const auto& e : b.entities()) {
      std::string value;
      keys::put_be64(value, e.sequence);
      value.append(reinterpret_cast<const char*>(e.value.data()), e.value.size());
      if (s.ok()) s = wb.Put(entities, keys::entity(e.kind, e.id), value);
    }
    for (const auto& e : b.erases())
      if (s.ok()) s = wb.Delete(entities, keys::entity(e.kind, e.id));
    for (const auto& j : b.journal())
      if (s.ok()) s = wb.Put(journal, keys::journal(j.trip.value, j.sequence), slice(j.value));
    p->receipt = {};
    if (!b.events().empty()) p->receipt = {seq, static_cast<std::uint32_t>(b.events().size())};
    for (const auto& ev : b.events()) {
      if (is_analytics_topic(ev.topic)) analytics_rows.push_back(seq);
      if (keep_tail) tail_rows.push_back(ev);
      ++by_topic[ev.topic];
      if (s.ok()) s = wb.Put(outbox, keys::outbox(seq++), keys::encode_event(ev));
    }
  }
  if (s.ok() && seq != first_seq) s = wb.Put(meta, keys::meta_next_outbox, keys::outbox(seq));
  if (s.ok()) {
    // Tracked before they are visible, like outbox_depth: a relay may erase them at once.
    track_analytics(analytics_rows);
    rocksdb::WriteOptions wo;
    wo.sync = options.sync && sync;
    s = db->Write(wo, &wb);
    if (!s.ok()) untrack_analytics(analytics_rows);
  }
  if (s.ok()) {
    money.publish();
    {
      std::lock_guard<std::mutex> l(topics_mu);
      for (const auto& [topic, n] : by_topic) committed_by_topic[std::string(topic)] += n;
    }
    append_tail(seq, std::move(tail_rows));
  }
  for (auto* p : group) p->status = s;
  return seq - first_seq;
}

result<commit_receipt> store::commit(const write_batch& batch) {
  if (auto v = validate(batch); !v) return v.err();
  impl& d = *impl_;
  impl::pending me;
  me.batch = &batch;
  std::unique_lock lock(d.mu);
  d.queue.push_back(&me);
  d.cv.wait(lock, [&] { return me.done || !d.leader_active; });
  if (!me.done) {
    // Leader: take what is queued (including our own batch), write it in one go.
    d.leader_active = true;
    std::vector<impl::pending*> group;
    std::uint64_t events = 0;
    while (!d.queue.empty() && group.size() < max_group_batches) {
      group.push_back(d.queue.front());
      events += group.back()->batch->events().size();
      d.queue.pop_front();
    }
    std::uint64_t first_seq = d.next_outbox;
    // Count the rows before they become visible: the relay may erase them at once.
    d.outbox_depth += events;
    lock.unlock();
    const std::uint64_t written = d.write_group(group, first_seq);
    lock.lock();
    if (group.front()->status.ok()) {
      d.outbox_depth -= events - written;  // batches the ledger refused wrote none
      d.next_outbox = first_seq + written;
      d.next_outbox_visible = d.next_outbox;
    } else {
      d.outbox_depth -= events;
    }
    for (auto* p : group) p->done = true;
    d.leader_active = false;
    d.cv.notify_all();
  }
  lock.unlock();
  if (!me.status.ok()) return storage_error("commit", me.status);
  if (me.refused) return *me.refused;
  if (d.listener) d.listener(batch);
  return me.receipt;
}

void store::set_commit_listener(std::function<void(const write_batch&)> listener) {
  impl_->listener = std::move(listener);
}

result<std::vector<entity_snapshot>> store::load_entities(entity_kind kind) const {
  std::vector<entity_snapshot> out;
  const std::string prefix(1, static_cast<char>(kind));
  const std::string end(1, static_cast<char>(static_cast<std::uint8_t>(kind) + 1));
  const rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &end_slice;
  // A one-pass bulk scan (recovery): read ahead, and do not churn the block cache.
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->entities));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto snap = snapshot_at(kind, *it);
    if (!snap) return error{errc::storage_error, "corrupt entity row"};
    out.push_back(std::move(*snap));
  }
  if (!it->status().ok()) return storage_error("load entities", it->status());
  return out;
}

result<std::vector<entity_snapshot>> store::load_entities_page(entity_kind kind, std::uint64_t from,
                                                               std::size_t max,
                                                               bool newest_first) const {
  std::vector<entity_snapshot> out;
  if (max == 0) return out;
  const std::string prefix(1, static_cast<char>(kind));
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions{}, impl_->entities));
  if (!newest_first) {
    if (from == std::numeric_limits<std::uint64_t>::max()) return out;
    it->Seek(keys::entity(kind, from + 1));
  } else if (from == 0) {
    // From the kind's last row: the last key at or before the largest id.
    it->SeekForPrev(keys::entity(kind, std::numeric_limits<std::uint64_t>::max()));
  } else {
    it->SeekForPrev(keys::entity(kind, from - 1));
  }
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < max;
       newest_first ? it->Prev() : it->Next()) {
    auto snap = snapshot_at(kind, *it);
    if (!snap) return error{errc::storage_error, "corrupt entity row"};
    out.push_back(std::move(*snap));
  }
  if (!it->status().ok()) return storage_error("load entities", it->status());
  return out;
}

result<std::optional<entity_snapshot>> store::load_entity(entity_kind kind,
                                                          std::uint64_t id) const {
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, impl_->entities, keys::entity(kind, id), &value);
  if (s.IsNotFound()) return std::optional<entity_snapshot>{};
  if (!s.ok()) return storage_error("load entity", s);
  if (value.size() < 8) return error{errc::storage_error, "corrupt entity row"};
  rocksdb::Slice rest(value);
  rest.remove_prefix(8);
  return std::optional<entity_snapshot>{
      entity_snapshot{kind, id, keys::get_be64(value), bytes(rest)}};
}

result<std::vector<journal_entry>> store::journal_after(trip_id trip, std::uint64_t after) const {
  std::vector<journal_entry> out;
  std::string prefix;
  keys::put_be64(prefix, trip.value);
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions{}, impl_->journal));
  if (after == UINT64_MAX) return out;
  for (it->Seek(keys::journal(trip.value, after + 1)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (it->key().size() != 16) return error{errc::storage_error, "corrupt journal key"};
    out.push_back({trip, keys::get_be64(it->key().ToStringView().substr(8)), bytes(it->value())});
  }
  if (!it->status().ok()) return storage_error("read journal", it->status());
  return out;
}

result<void> store::trim_journal(trip_id trip, std::uint64_t upto) {
  if (upto == 0) return {};
  rocksdb::WriteOptions wo;
  wo.sync = impl_->options.sync;
  auto s = impl_->db->DeleteRange(
      wo, impl_->journal, keys::journal(trip.value, 0),
      upto == UINT64_MAX ? keys::journal(trip.value + 1, 0) : keys::journal(trip.value, upto + 1));
  if (!s.ok()) return storage_error("trim journal", s);
  return {};
}

void store::impl::append_tail(std::uint64_t end, std::vector<outbox_event> events) {
  std::lock_guard lock(tail.mu);
  const std::size_t max = tail.max_rows;
  if (max > 0 && events.size() == end - tail.next) {
    std::uint64_t seq = tail.next;
    for (auto& ev : events) tail.rows.push_back({seq++, std::move(ev)});
  } else if (max > 0) {
    // Written while the tail was being turned on, without copies: from here
    // on the tail starts after them (they are read from RocksDB).
    tail.rows.clear();
  }
  tail.next = end;
  while (tail.rows.size() > max) tail.rows.pop_front();
  tail.floor = max == 0 ? UINT64_MAX : tail.rows.empty() ? tail.next : tail.rows.front().sequence;
}

void store::impl::reset_tail(std::size_t max_rows) {
  std::lock_guard lock(tail.mu);
  tail.max_rows = max_rows;
  tail.rows.clear();
  tail.floor = max_rows == 0 ? UINT64_MAX : tail.next;
}

void store::keep_outbox_tail(std::size_t max_rows) { impl_->reset_tail(max_rows); }

result<std::vector<outbox_row>> store::read_outbox(std::uint64_t after, std::size_t max) const {
  std::vector<outbox_row> out;
  if (after == UINT64_MAX || max == 0) return out;
  {
    std::lock_guard lock(impl_->tail.mu);
    auto& t = impl_->tail;
    if (t.max_rows > 0 && after + 1 >= t.floor) {
      // Rows leave memory once read (moved out, not copied) or passed: a
      // re-read from an earlier sequence is below the floor and goes to RocksDB.
      while (!t.rows.empty() && t.rows.front().sequence <= after) t.rows.pop_front();
      out.reserve(std::min(max, t.rows.size()));
      while (!t.rows.empty() && out.size() < max) {
        out.push_back(std::move(t.rows.front()));
        t.rows.pop_front();
      }
      t.floor = t.rows.empty() ? t.next : t.rows.front().sequence;
      return out;
    }
  }
  // Bound the scan: tombstones of delivered rows sit below `after`.
  std::string lower = keys::outbox(after + 1);
  rocksdb::Slice lower_slice(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.fill_cache = false;  // each row is read once: keep the block cache for entities
  out.reserve(std::min<std::size_t>(max, 4096));
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->outbox));
  for (it->Seek(lower); it->Valid() && out.size() < max; it->Next()) {
    if (it->key().size() != 8) return error{errc::storage_error, "corrupt outbox key"};
    auto ev = keys::decode_event(it->value().ToStringView());
    if (!ev) return error{errc::storage_error, "corrupt outbox row"};
    out.push_back({keys::get_be64(it->key().ToStringView()), std::move(*ev)});
  }
  if (!it->status().ok()) return storage_error("read outbox", it->status());
  return out;
}

result<void> store::erase_outbox(const std::vector<std::uint64_t>& sequences) {
  if (sequences.empty()) return {};
  rocksdb::WriteBatch wb;
  for (auto seq : sequences) {
    auto s = wb.Delete(impl_->outbox, keys::outbox(seq));
    if (!s.ok()) return storage_error("erase outbox", s);
  }
  auto s = impl_->db->Write(rocksdb::WriteOptions{}, &wb);
  if (!s.ok()) return storage_error("erase outbox", s);
  impl_->outbox_depth -= sequences.size();  // callers erase each delivered row once
  impl_->untrack_analytics(sequences);
  return {};
}

result<void> store::erase_outbox_range(std::uint64_t first, std::uint64_t last,
                                       std::uint64_t rows) {
  if (first > last || last == UINT64_MAX)
    return error{errc::invalid_argument, "erase_outbox_range: bad range"};
  auto s = impl_->db->DeleteRange(rocksdb::WriteOptions{}, impl_->outbox, keys::outbox(first),
                                  keys::outbox(last + 1));
  if (!s.ok()) return storage_error("erase outbox range", s);
  impl_->outbox_depth -= rows;
  impl_->untrack_analytics(first, last);
  return {};
}

std::uint64_t store::outbox_depth() const noexcept { return impl_->outbox_depth; }

std::map<std::string, std::uint64_t> store::outbox_events_by_topic() const {
  std::lock_guard<std::mutex> l(impl_->topics_mu);
  return impl_->committed_by_topic;
}

std::uint64_t store::next_outbox_sequence() const noexcept { return impl_->next_outbox_visible; }

}  // namespace rideshard::persistence
