// topic_window: assign every partition of a topic at (end - tail), then poll.
#include "rideshard/persistence/topic_window.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "kafka_conf.hpp"

namespace rideshard::persistence {

struct topic_window::impl {
  topic_window_options opts;
  std::function<void(const topic_record&)> on_record;
  rd_kafka_t* consumer = nullptr;
  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  topic_window_state st;
  std::thread thread;

  ~impl() {
    if (consumer) {
      (void)rd_kafka_consumer_close(consumer);
      rd_kafka_destroy(consumer);
    }
  }

  void fail(std::string what) {
    std::lock_guard lock(mu);
    st.last_error = std::move(what);
  }
  // Waits `d` unless stopping; returns false once stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, d, [this] { return stopping; });
    return !stopping;
  }
  bool stopped() const {
    std::lock_guard lock(mu);
    return stopping;
  }

  // Every partition of the topic at max(low, high - tail). False: retry later.
  bool assign() {
    rd_kafka_topic_t* t = rd_kafka_topic_new(consumer, opts.topic.c_str(), nullptr);
    if (!t) return fail("topic handle: " + opts.topic), false;
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(consumer, 0, t, &md, 5000);
    rd_kafka_topic_destroy(t);
    if (err) return fail(std::string("metadata: ") + rd_kafka_err2str(err)), false;
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> hold(
        md, rd_kafka_metadata_destroy);
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0)
      return fail("topic " + opts.topic + " not there yet"), false;
    const auto& tm = md->topics[0];
    auto* parts = rd_kafka_topic_partition_list_new(tm.partition_cnt);
    for (int i = 0; i < tm.partition_cnt; ++i) {
      const std::int32_t p = tm.partitions[i].id;
      std::int64_t low = 0, high = 0;
      err = rd_kafka_query_watermark_offsets(consumer, opts.topic.c_str(), p, &low, &high, 5000);
      if (err) {
        rd_kafka_topic_partition_list_destroy(parts);
        return fail(std::string("watermarks: ") + rd_kafka_err2str(err)), false;
      }
      rd_kafka_topic_partition_list_add(parts, opts.topic.c_str(), p)->offset =
          std::max(low, high - opts.tail_per_partition);
    }
    err = rd_kafka_assign(consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) return fail(std::string("assign: ") + rd_kafka_err2str(err)), false;
    std::lock_guard lock(mu);
    st.assigned = true;
    st.partitions = tm.partition_cnt;
    st.last_error.clear();
    return true;
  }

  void run() {
    while (!assign())
      if (!pause(opts.retry)) return;
    while (!stopped()) {
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(
          rd_kafka_consumer_poll(consumer, 200), rd_kafka_message_destroy);
      if (!m) continue;
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) fail(rd_kafka_message_errstr(m.get()));
        continue;
      }
      topic_record r;
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
      on_record(r);
      std::lock_guard lock(mu);
      ++st.records;
    }
  }
};

topic_window::topic_window(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

result<std::unique_ptr<topic_window>> topic_window::open(
    topic_window_options options, std::function<void(const topic_record&)> on_record) {
  if (options.bootstrap.empty() || options.topic.empty() || !on_record ||
      options.tail_per_partition < 0)
    return error{errc::bad_config, "topic_window needs a bootstrap, a topic and a callback"};
  auto p = std::make_unique<impl>();
  auto conf =
      kafka::make_conf({{"bootstrap.servers", options.bootstrap},
                        // Never joined (assign, not subscribe) and never committed: a name only.
                        {"group.id", "rideshard-topic-window"},
                        {"isolation.level", "read_committed"},
                        {"enable.auto.commit", "false"},
                        {"enable.auto.offset.store", "false"},
                        {"auto.offset.reset", "latest"}},
                       options.consumer_config);
  if (!conf) return conf.err();
  auto rk = kafka::new_consumer(*conf);
  if (!rk) return rk.err();
  p->consumer = *rk;
  rd_kafka_poll_set_consumer(p->consumer);
  p->opts = std::move(options);
  p->on_record = std::move(on_record);
  auto* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<topic_window>(new topic_window(std::move(p)));
}

topic_window::~topic_window() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

topic_window_state topic_window::state() const {
  std::lock_guard lock(impl_->mu);
  return impl_->st;
}

}  // namespace rideshard::persistence
