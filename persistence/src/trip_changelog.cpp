// The trip changelog: a transactional producer per shard group (changelog_writer)
// and the read_committed restore of a shard group's partition into the store.
#include "rideshard/persistence/trip_changelog.hpp"

#include <algorithm>
#include <map>

#include "changelog_records.hpp"
#include "kafka_conf.hpp"
#include "rideshard/schemas/records.hpp"

namespace rideshard::persistence {
namespace {

using clock = std::chrono::steady_clock;

bool is_fencing(rd_kafka_resp_err_t code) {
  return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

result<void> check_options(const changelog_options& o, int shard_group) {
  if (o.bootstrap.empty()) return error{errc::invalid_argument, "kafka bootstrap is empty"};
  if (o.topic.empty()) return error{errc::invalid_argument, "changelog topic is empty"};
  if (shard_group < 0) return error{errc::invalid_argument, "shard group must be >= 0"};
  return {};
}

}  // namespace

struct changelog_writer::impl {
  changelog_options options;
  int group = 0;
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* changelog = nullptr;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;  // event topics
  bool in_transaction = false;
  // Changelog offsets: the open transaction's highest + 1 (delivery reports,
  // served by add()'s flush), and the committed one.
  std::int64_t txn_next = -1;
  std::optional<std::int64_t> committed_next;
  // The open transaction's first failed delivery (set by delivery reports).
  rd_kafka_resp_err_t delivery_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool dead = false;  // a fatal error: every later call fails with `dead_error`
  error dead_error;
  // A commit whose outcome is unknown, or an abort that failed: the producer's
  // transaction state is unusable; every later call fails until the shard
  // group's writer is opened again (a new init_transactions).
  bool reopen = false;
  error reopen_error;

  ~impl() {
    for (auto& [name, t] : topics) rd_kafka_topic_destroy(t);
    if (changelog) rd_kafka_topic_destroy(changelog);
    if (rk) rd_kafka_destroy(rk);
  }

  int call_ms() const { return static_cast<int>(options.call_timeout.count()); }

  rd_kafka_topic_t* topic(const std::string& name) {
    auto it = topics.find(name);
    if (it == topics.end())
      it = topics.emplace(name, rd_kafka_topic_new(rk, name.c_str(), nullptr)).first;
    return it->second;
  }

  /// Marks the writer dead when librdkafka raised a fatal error: fenced when
  /// another producer took the transactional.id, broker_error otherwise.
  error die(rd_kafka_resp_err_t code, const std::string& msg) {
    char reason[256] = "";
    const auto underlying = rd_kafka_fatal_error(rk, reason, sizeof reason);
    dead = true;
    in_transaction = false;
    dead_error = is_fencing(code) || is_fencing(underlying)
                     ? error{errc::fenced, "shard group " + std::to_string(group) +
                                               " was taken over by another owner (" + msg + ")"}
                     : error{errc::broker_error, "fatal: " + msg + " " + reason};
    return dead_error;
  }

  /// The error of a dead writer or of one that needs reopening, if any.
  std::optional<error> unusable() const {
    if (dead) return dead_error;
    if (reopen) return reopen_error;
    return std::nullopt;
  }

  error must_reopen(std::string msg) {
    reopen = true;
    in_transaction = false;
    reopen_error = {errc::broker_error, std::move(msg)};
    return reopen_error;
  }

  /// Turns a librdkafka transaction error into ours and destroys it.
  error failed(rd_kafka_error_t* e, const char* what) {
    std::string msg = std::string(what) + ": " + rd_kafka_error_string(e);
    const auto code = rd_kafka_error_code(e);
    const bool fatal = rd_kafka_error_is_fatal(e);
    rd_kafka_error_destroy(e);
    if (fatal) return die(code, msg);
    return {errc::broker_error, msg};
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    if (m->err && !self->delivery_err) self->delivery_err = m->err;
    if (!m->err && m->rkt == self->changelog)
      self->txn_next = std::max<std::int64_t>(self->txn_next, m->offset + 1);
  }

  result<void> make_producer() {
    const std::string txn_id = options.transactional_id_prefix + std::to_string(group);
    auto conf = kafka::make_conf(
        {{"bootstrap.servers", options.bootstrap},
         {"client.id", txn_id},
         {"transactional.id", txn_id},
         {"transaction.timeout.ms", std::to_string(options.transaction_timeout.count())},
         {"enable.idempotence", "true"},
         {"acks", "all"},
         {"compression.type", "lz4"},
         // Events land on the partition the outbox relay (and Java clients) would pick.
         {"partitioner", "murmur2_random"},
         {"linger.ms", "1"}},
        options.producer_config);
    if (!conf) return conf.err();
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_dr_msg_cb(*conf, &impl::on_delivery);
    auto rk_or = kafka::new_producer(*conf);
    if (!rk_or) return rk_or.err();
    rk = *rk_or;
    changelog = rd_kafka_topic_new(rk, options.topic.c_str(), nullptr);
    if (rd_kafka_error_t* e = rd_kafka_init_transactions(rk, call_ms()))
      return failed(e, "init_transactions");
    return {};
  }

  /// Produces one record, serving librdkafka's queue while it is full (bounded).
  result<void> produce(rd_kafka_topic_t* t, std::int32_t partition, const std::string& key,
                       const std::vector<std::uint8_t>* value,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
    const auto deadline = clock::now() + options.call_timeout;
    const char* data = value ? reinterpret_cast<const char*>(value->data()) : nullptr;
    const std::size_t size = value ? value->size() : 0;
    for (;;) {
      auto err = kafka::produce(rk, t, partition, key, data, size, headers, nullptr);
      if (!err) return {};
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || clock::now() >= deadline) {
        const std::string msg = std::string("produce: ") + rd_kafka_err2str(err);
        if (is_fencing(err) || err == RD_KAFKA_RESP_ERR__FATAL) return die(err, msg);
        return error{errc::broker_error, std::string("produce: ") + rd_kafka_err2str(err)};
      }
      rd_kafka_poll(rk, 10);
    }
  }
};

changelog_writer::changelog_writer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

changelog_writer::~changelog_writer() {
  if (impl_->in_transaction && !impl_->unusable()) (void)abort();
}

result<std::unique_ptr<changelog_writer>> changelog_writer::open(const changelog_options& options,
                                                                 int shard_group) {
  if (auto r = check_options(options, shard_group); !r) return r.err();
  auto p = std::make_unique<impl>();
  p->options = options;
  p->group = shard_group;
  if (auto r = p->make_producer(); !r) return r.err();
  return std::unique_ptr<changelog_writer>(new changelog_writer(std::move(p)));
}

int changelog_writer::shard_group() const noexcept { return impl_->group; }

std::optional<std::int64_t> changelog_writer::next_offset() const noexcept {
  return impl_->committed_next;
}

bool changelog_writer::needs_reopen() const noexcept { return impl_->reopen; }

result<void> changelog_writer::begin() {
  impl& d = *impl_;
  if (auto e = d.unusable()) return *e;
  if (d.in_transaction) return error{errc::invalid_argument, "a transaction is already open"};
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(d.rk)) return d.failed(e, "begin");
  d.in_transaction = true;
  d.txn_next = -1;
  d.delivery_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  return {};
}

result<void> changelog_writer::add(const write_batch& batch) {
  impl& d = *impl_;
  if (auto e = d.unusable()) return *e;
  if (!d.in_transaction) return error{errc::invalid_argument, "no open transaction"};
  static const std::vector<std::pair<std::string, std::string>> no_headers;
  for (const auto& e : batch.entities()) {
    if (e.kind != entity_kind::trip) continue;
    if (auto r = d.produce(d.changelog, d.group, to_string(trip_id{e.id}), &e.value, no_headers);
        !r)
      return r;
  }
  for (const auto& e : batch.erases()) {
    if (e.kind != entity_kind::trip) continue;
    if (auto r = d.produce(d.changelog, d.group, to_string(trip_id{e.id}), nullptr, no_headers); !r)
      return r;
  }
  for (const auto& chain : batch.transfer_chains()) {
    if (chain.empty()) return error{errc::invalid_argument, "empty transfer chain"};
    const auto value = encode_ledger_chain(chain);
    if (auto r =
            d.produce(d.changelog, d.group, ledger_chain_key(chain.front().id), &value, no_headers);
        !r)
      return r;
  }
  for (const auto& ev : batch.events()) {
    const std::vector<std::uint8_t> payload(ev.payload.begin(), ev.payload.end());
    if (auto r = d.produce(d.topic(ev.topic), RD_KAFKA_PARTITION_UA, ev.key, &payload, ev.headers);
        !r)
      return r;
  }
  // Wait for the broker's acks now; commit() would wait for them first anyway.
  if (auto err = rd_kafka_flush(d.rk, d.call_ms()))
    return error{errc::broker_error, std::string("flush: ") + rd_kafka_err2str(err)};
  if (const auto err = d.delivery_err) {
    const std::string msg = std::string("delivery: ") + rd_kafka_err2str(err);
    // A fatal error (e.g. fenced) purges the queue: the purge is its symptom.
    if (is_fencing(err) || err == RD_KAFKA_RESP_ERR__FATAL ||
        rd_kafka_fatal_error(d.rk, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return d.die(err, msg);
    return error{errc::broker_error, msg};
  }
  return {};
}

result<void> changelog_writer::commit() {
  impl& d = *impl_;
  if (auto e = d.unusable()) return *e;
  if (!d.in_transaction) return error{errc::invalid_argument, "no open transaction"};
  const auto deadline = clock::now() + d.options.call_timeout;
  for (;;) {
    rd_kafka_error_t* e = rd_kafka_commit_transaction(d.rk, d.call_ms());
    if (!e) {
      d.in_transaction = false;
      rd_kafka_poll(d.rk, 0);  // any delivery report not served yet
      if (d.txn_next >= 0) d.committed_next = std::max(d.committed_next.value_or(0), d.txn_next);
      return {};
    }
    if (rd_kafka_error_is_fatal(e)) return d.failed(e, "commit");
    if (rd_kafka_error_txn_requires_abort(e)) {
      // Not committed: abort, so nothing of it shows (abort() marks the writer
      // for reopening when that fails too; the broker then aborts it itself).
      auto err = d.failed(e, "commit");
      if (auto a = abort(); !a) return a.err();
      err.message += "; the transaction was aborted: nothing of it is visible, retry it";
      return err;
    }
    if (rd_kafka_error_is_retriable(e) && clock::now() < deadline) {
      // librdkafka lets commit be called again until it succeeds or fails for good.
      rd_kafka_error_destroy(e);
      continue;
    }
    // Out of time, or a state librdkafka cannot abort from (a commit in flight):
    // the broker may still commit it. Only a new init_transactions settles it.
    const std::string msg = std::string("commit: ") + rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return d.must_reopen(msg +
                         "; the outcome is unknown (the transaction may still become visible): "
                         "reopen the writer, then retrying the batch is safe");
  }
}

result<void> changelog_writer::abort() {
  impl& d = *impl_;
  if (auto e = d.unusable()) return *e;
  if (!d.in_transaction) return error{errc::invalid_argument, "no open transaction"};
  if (rd_kafka_error_t* e = rd_kafka_abort_transaction(d.rk, d.call_ms())) {
    auto err = d.failed(e, "abort");
    if (d.dead) return err;
    // The transaction stays open in the producer; the broker aborts it after
    // transaction_timeout, or the next owner's init_transactions does.
    return d.must_reopen(err.message + "; reopen the writer");
  }
  d.in_transaction = false;
  return {};
}

result<void> changelog_writer::write(const write_batch& batch) {
  if (auto r = begin(); !r) return r;
  if (auto r = add(batch); !r) {
    if (!impl_->unusable()) (void)abort();
    return r;
  }
  return commit();
}

}  // namespace rideshard::persistence
