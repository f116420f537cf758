// outbox_relay: store outbox -> Kafka with an idempotent librdkafka producer.
#include "rideshard/persistence/outbox_relay.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "kafka_conf.hpp"

namespace rideshard::persistence {
namespace {

// A delivered prefix shorter than this waits for more (one range tombstone per
// erase keeps the outbox cheap to read), unless it is everything produced.
constexpr std::size_t min_range_erase = 256;

}  // namespace

struct outbox_relay::impl {
  store* db = nullptr;
  relay_options options;
  rd_kafka_t* rk = nullptr;
  std::uint64_t cursor = 0;              // highest sequence handed to the producer
  bool resync = false;                   // a delivery failed: re-read from the head once idle
  std::vector<std::uint64_t> delivered;  // filled by the delivery callback (step's thread)
  /// Rows handed to the producer and not yet erased, in sequence order, with
  /// whether Kafka acknowledged them. The delivered prefix is erased as a range.
  std::deque<std::pair<std::uint64_t, bool>> produced;
  std::atomic<std::uint64_t> in_flight{0}, delivered_total{0}, failed_total{0};
  std::atomic<bool> broker_up{false}, fatal{false};
  mutable std::mutex error_mu;
  std::string last_error;
  std::atomic<bool> running{false};
  std::thread thread;
  /// Topic handles by name: looked up once, not per message (RD_KAFKA_V_TOPIC would).
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;

  rd_kafka_topic_t* topic(const std::string& name) {
    auto it = topics.find(name);
    if (it == topics.end())
      it = topics.emplace(name, rd_kafka_topic_new(rk, name.c_str(), nullptr)).first;
    return it->second;
  }

  ~impl() { destroy_producer(); }

  void note_error(std::string what) {
    std::lock_guard lock(error_mu);
    last_error = std::move(what);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    auto seq = reinterpret_cast<std::uintptr_t>(m->_private);
    --self->in_flight;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset >= 0) {
      self->delivered.push_back(seq);
      self->broker_up = true;
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      // A success without an offset is librdkafka's inference, not the broker's
      // answer (an "implicit ack" by a later request, or a duplicate-sequence
      // reply): not proof the row is in Kafka. Keep the row and re-send it (at
      // worst a duplicate, which consumers drop by event_id).
      ++self->failed_total;
      self->resync = true;
      self->note_error("delivery: reported delivered without an offset; re-sending");
    } else {
      ++self->failed_total;
      self->resync = true;
      self->note_error(std::string("delivery: ") + rd_kafka_err2str(m->err));
    }
  }

  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->broker_up = false;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[256];
      rd_kafka_fatal_error(rk, buf, sizeof buf);
      self->fatal = true;
      self->note_error(std::string("fatal: ") + buf);
      return;
    }
    self->note_error(reason ? reason : rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
  }

  result<void> make_producer() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::pair<std::string, std::string> base[] = {
        {"bootstrap.servers", options.bootstrap},
        {"client.id", options.client_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", "lz4"},
        // Same partition for a key as Java/Flink clients (murmur2 of the key).
        {"partitioner", "murmur2_random"},
        // 0 = no timeout: during an outage librdkafka keeps retrying in order.
        {"message.timeout.ms", "0"},
        // One request in flight per broker. With more, a request the broker refused
        // (not persisted: NOT_LEADER, UNKNOWN_TOPIC_OR_PART on a new topic) is
        // reported delivered when a later request in flight succeeds (librdkafka's
        // "implicit ack", 2.0.2 and later), and a broker holding no state for this
        // producer on the partition (its first write there) accepts that later
        // request at any sequence: the refused rows were lost. With one, the
        // refused request is retried before anything after it is sent.
        {"max.in.flight.requests.per.connection", "1"},
        {"linger.ms", "5"},
        {"queue.buffering.max.messages", std::to_string(options.max_in_flight + 1000)},
    };
    for (const auto& [k, v] : base)
      if (auto r = kafka::set(conf, k, v); !r) return rd_kafka_conf_destroy(conf), r;
    for (const auto& [k, v] : options.producer_config)
      if (auto r = kafka::set(conf, k, v); !r) return rd_kafka_conf_destroy(conf), r;
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &impl::on_delivery);
    rd_kafka_conf_set_error_cb(conf, &impl::on_error);
    auto rk_or = kafka::new_producer(conf);
    if (!rk_or) return rk_or.err();
    rk = *rk_or;
    return {};
  }

  void destroy_producer() {
    if (!rk) return;
    // Undelivered rows stay in the store; drop librdkafka's copies.
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);  // serves the reports, including successes not yet erased
    mark_delivered();
    (void)erase_all_delivered();  // on failure: re-sent later (at-least-once)
    produced.clear();
    for (auto& [name, t] : topics) rd_kafka_topic_destroy(t);
    topics.clear();
    rd_kafka_destroy(rk);
    rk = nullptr;
    in_flight = 0;
  }

  /// Moves the sequences of `delivered` into `produced` as acknowledged.
  std::size_t mark_delivered() {
    const std::size_t n = delivered.size();
    for (auto seq : delivered) {
      auto it = std::lower_bound(produced.begin(), produced.end(), std::make_pair(seq, false));
      if (it != produced.end() && it->first == seq) it->second = true;
    }
    delivered.clear();
    return n;
  }

  /// Erases the delivered prefix of `produced` with one range delete, when it is
  /// long enough or all there is; point-erases every delivered row when rows
  /// stuck behind an unacknowledged one pile up.
  result<void> erase_delivered() {
    std::size_t prefix = 0;
    while (prefix < produced.size() && produced[prefix].second) ++prefix;
    if (prefix > 0 && (prefix >= min_range_erase || prefix == produced.size())) {
      auto r = db->erase_outbox_range(produced.front().first, produced[prefix - 1].first, prefix);
      if (!r) return r;
      produced.erase(produced.begin(), produced.begin() + static_cast<std::ptrdiff_t>(prefix));
    }
    if (produced.size() > 4 * options.max_in_flight) return erase_all_delivered();
    return {};
  }

  /// Point-erases every delivered row of `produced` and forgets them.
  result<void> erase_all_delivered() {
    std::vector<std::uint64_t> done;
    std::deque<std::pair<std::uint64_t, bool>> rest;
    for (const auto& p : produced) (p.second ? done.push_back(p.first) : rest.push_back(p));
    if (done.empty()) return {};
    auto r = db->erase_outbox(done);
    if (!r) return r;
    produced.swap(rest);
    return {};
  }

  /// Hands rows after the cursor to the producer while the in-flight bound allows.
  result<void> produce_more() {
    if (resync) {
      if (in_flight > 0) return {};  // wait for every report before re-reading
      // Keep nothing delivered in the store: the re-read must not send it again.
      if (auto r = erase_all_delivered(); !r) return r;
      produced.clear();
      resync = false;
      cursor = 0;
    }
    while (in_flight < options.max_in_flight) {
      auto room = std::min<std::size_t>(options.read_batch, options.max_in_flight - in_flight);
      auto rows = db->read_outbox(cursor, room);
      if (!rows) return rows.err();
      if (rows->empty()) return {};
      for (auto& row : *rows) {
        if (!produce(row)) return {};
        cursor = row.sequence;
      }
    }
    return {};
  }

  bool produce(const outbox_row& row) {
    auto& ev = row.event;
    auto err = kafka::produce(rk, topic(ev.topic), RD_KAFKA_PARTITION_UA, ev.key, ev.payload.data(),
                              ev.payload.size(), ev.headers,
                              reinterpret_cast<void*>(static_cast<std::uintptr_t>(row.sequence)));
    if (err) {
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        note_error(std::string("produce: ") + rd_kafka_err2str(err));
      return false;
    }
    ++in_flight;
    produced.emplace_back(row.sequence, false);
    return true;
  }
};

outbox_relay::outbox_relay(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

outbox_relay::~outbox_relay() {
  stop();
  impl_->db->keep_outbox_tail(0);
}

result<std::unique_ptr<outbox_relay>> outbox_relay::create(store& s, const relay_options& options) {
  if (options.bootstrap.empty()) return error{errc::invalid_argument, "kafka bootstrap is empty"};
  if (options.max_in_flight == 0 || options.read_batch == 0)
    return error{errc::invalid_argument, "max_in_flight and read_batch must be > 0"};
  auto p = std::make_unique<impl>();
  p->db = &s;
  p->options = options;
  if (auto r = p->make_producer(); !r) return r.err();
  s.keep_outbox_tail(options.memory_rows);
  return std::unique_ptr<outbox_relay>(new outbox_relay(std::move(p)));
}

result<std::size_t> outbox_relay::step(std::chrono::milliseconds wait) {
  impl& d = *impl_;
  if (d.fatal) {
    // The idempotent producer's state is gone: start a fresh one from the head.
    d.destroy_producer();
    d.fatal = false;
    d.cursor = 0;
    d.resync = false;
    if (auto r = d.make_producer(); !r) return r.err();
  }
  if (auto r = d.produce_more(); !r) return r.err();
  rd_kafka_poll(d.rk, static_cast<int>(wait.count()));
  const std::size_t n = d.mark_delivered();
  d.delivered_total += n;
  if (auto erased = d.erase_delivered(); !erased) return erased.err();
  return n;
}

result<void> outbox_relay::drain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->db->outbox_depth() > 0 || impl_->in_flight > 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return error{errc::unavailable, "outbox not drained: " + std::to_string(impl_->in_flight) +
                                          " in flight, last error: " + stats().last_error};
    if (auto r = step(std::chrono::milliseconds(50)); !r) return r.err();
  }
  return {};
}

void outbox_relay::start() {
  if (impl_->running.exchange(true)) return;
  impl_->thread = std::thread([d = impl_.get(), this] {
    while (d->running) {
      if (auto r = step(std::chrono::milliseconds(100)); !r) {
        d->note_error(r.err().message);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // store error: back off
      }
    }
  });
}

void outbox_relay::stop() {
  if (!impl_->running.exchange(false)) return;
  if (impl_->thread.joinable()) impl_->thread.join();
}

relay_stats outbox_relay::stats() const {
  relay_stats s;
  s.delivered = impl_->delivered_total;
  s.failed = impl_->failed_total;
  s.in_flight = impl_->in_flight;
  s.broker_reachable = impl_->broker_up;
  std::lock_guard lock(impl_->error_mu);
  s.last_error = impl_->last_error;
  return s;
}

}  // namespace rideshard::persistence
