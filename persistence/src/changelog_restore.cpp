// restore_shard_group: a shard group's changelog partition, read_committed from
// the beginning (or the store's mark) to its last stable offset, into the local store.
#include <memory>

#include "changelog_records.hpp"
#include "kafka_conf.hpp"
#include "rideshard/persistence/trip_changelog.hpp"
#include "rideshard/schemas/records.hpp"

namespace rideshard::persistence {
namespace {

using clock = std::chrono::steady_clock;

// Snapshots per store commit: large enough that the fsync is amortized.
constexpr std::size_t restore_batch = 2000;

/// "t-<decimal id>" -> id; 0 when the key is not a trip key.
std::uint64_t trip_of_key(const void* key, std::size_t size) {
  const auto* k = static_cast<const char*>(key);
  if (!k || size < 3 || k[0] != 't' || k[1] != '-') return 0;
  std::uint64_t id = 0;
  for (std::size_t i = 2; i < size; ++i) {
    if (k[i] < '0' || k[i] > '9' || id > (UINT64_MAX - 9) / 10) return 0;
    id = id * 10 + static_cast<std::uint64_t>(k[i] - '0');
  }
  return id;
}

using consumer_ptr = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;

result<consumer_ptr> restore_consumer(const changelog_options& o, int shard_group,
                                      std::int64_t first_offset) {
  auto conf = kafka::make_conf(
      {{"bootstrap.servers", o.bootstrap},
       // Never joined (assign, not subscribe) and never committed: a name only.
       {"group.id", "rideshard-restore"},
       {"client.id", o.transactional_id_prefix + std::to_string(shard_group) + "-restore"},
       {"isolation.level", "read_committed"},
       {"enable.partition.eof", "true"},
       {"enable.auto.commit", "false"},
       {"enable.auto.offset.store", "false"},
       {"auto.offset.reset", "earliest"}},
      {});
  if (!conf) return conf.err();
  auto rk = kafka::new_consumer(*conf);
  if (!rk) return rk.err();
  consumer_ptr c(*rk, [](rd_kafka_t* k) {
    (void)rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
  });
  rd_kafka_poll_set_consumer(c.get());
  auto* parts = rd_kafka_topic_partition_list_new(1);
  // An offset past the end (the topic was recreated) resets to the beginning.
  rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), shard_group)->offset =
      first_offset > 0 ? first_offset : RD_KAFKA_OFFSET_BEGINNING;
  auto err = rd_kafka_assign(c.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (err) return error{errc::broker_error, std::string("assign: ") + rd_kafka_err2str(err)};
  return c;
}

/// Adds one changelog record to `batch`: a snapshot put or, for a tombstone, an
/// erase; a ledger chain (applied in changelog order; one the store has is a
/// replay and writes nothing).
result<void> apply(const rd_kafka_message_t& m, write_batch& batch, restore_stats& st) {
  const auto where = " at offset " + std::to_string(m.offset);
  if (m.key && is_ledger_chain_key({static_cast<const char*>(m.key), m.key_len})) {
    auto chain = decode_ledger_chain(m.payload, m.len);
    if (!chain) return error{errc::malformed_buffer, "changelog ledger record" + where};
    ++st.records;
    ++st.ledger_chains;
    batch.add_transfers(std::move(*chain));
    return {};
  }
  const std::uint64_t id = trip_of_key(m.key, m.key_len);
  if (id == 0) return error{errc::malformed_buffer, "changelog key is not a trip id" + where};
  ++st.records;
  if (!m.payload) {
    batch.erase_entity(entity_kind::trip, id);
    ++st.tombstones;
    return {};
  }
  const auto* bytes = static_cast<const std::uint8_t*>(m.payload);
  auto t = schemas::decode_trip_record(bytes, m.len);
  if (!t) return error{errc::malformed_buffer, "changelog record" + where + ": " + t.err().message};
  if (t->id.value != id)
    return error{errc::malformed_buffer, "changelog record" + where + " is not its key's trip"};
  batch.put_entity(entity_kind::trip, id, t->sequence, {bytes, bytes + m.len});
  ++st.snapshots;
  return {};
}

}  // namespace

result<restore_stats> restore_shard_group(store& s, const changelog_options& options,
                                          int shard_group, std::chrono::milliseconds timeout) {
  if (options.bootstrap.empty()) return error{errc::invalid_argument, "kafka bootstrap is empty"};
  if (shard_group < 0) return error{errc::invalid_argument, "shard group must be >= 0"};
  restore_stats st;
  auto mark = s.load_changelog_mark(shard_group);
  if (!mark) return mark.err();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (*mark && now_ms - (*mark)->recorded_at_ms <= options.resume_max_age.count()) {
    st.resumed = true;
    st.first_offset = (*mark)->next_offset;
  }
  // From here the store may change: without a mark, the next restore is a full one.
  if (*mark)
    if (auto r = s.set_changelog_mark(shard_group, std::nullopt); !r) return r.err();
  if (!st.resumed && options.trip_in_group) {
    // A full restore: the changelog is the whole truth for this group, so the
    // group's cached trips go first (in their own commit: within one batch the
    // store applies puts before erases).
    auto cached = s.load_entities(entity_kind::trip);
    if (!cached) return cached.err();
    write_batch clear;
    for (const auto& e : *cached)
      if (options.trip_in_group(shard_group, e.id)) {
        clear.erase_entity(entity_kind::trip, e.id);
        ++st.cleared;
      }
    if (!clear.empty())
      if (auto r = s.commit(clear); !r) return r.err();
    for (const auto& e : *cached)
      if (options.trip_in_group(shard_group, e.id))
        if (auto r = s.trim_journal(trip_id{e.id}, UINT64_MAX); !r) return r.err();
  }
  auto c = restore_consumer(options, shard_group, st.first_offset);
  if (!c) return c.err();
  write_batch batch;
  std::size_t pending = 0;
  auto flush = [&]() -> result<void> {
    if (pending == 0) return {};
    auto r = s.commit(batch);
    if (!r) return r.err();
    batch = write_batch{};
    pending = 0;
    return {};
  };
  const auto deadline = clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return error{errc::broker_error, "restore of shard group " + std::to_string(shard_group) +
                                           ": not at the end of the changelog after " +
                                           std::to_string(timeout.count()) + " ms"};
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(
        rd_kafka_consumer_poll(c->get(), static_cast<int>(std::min<long long>(left.count(), 500))),
        rd_kafka_message_destroy);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // read_committed: the end is the last stable offset.
      st.end_offset = m->offset;
      break;
    }
    if (m->err) {
      // Transient fetch errors are retried by librdkafka; these are not.
      if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
          m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || m->err == RD_KAFKA_RESP_ERR__FATAL)
        return error{errc::broker_error,
                     std::string("restore: ") + rd_kafka_message_errstr(m.get())};
      continue;
    }
    if (auto r = apply(*m, batch, st); !r) return r.err();
    if (++pending >= restore_batch)
      if (auto r = flush(); !r) return r.err();
  }
  if (auto r = flush(); !r) return r.err();
  return st;
}

}  // namespace rideshard::persistence
