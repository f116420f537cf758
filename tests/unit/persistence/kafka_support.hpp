// Shared by the Kafka relay tests: the broker from with_kafka.sh (bootstrap,
// stop/restart), committing numbered events, an independent librdkafka consumer.
#pragma once

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rideshard/persistence/outbox_relay.hpp"

namespace rideshard::test::kafka {

using namespace rideshard::persistence;
using namespace std::chrono_literals;

inline const char* bootstrap() { return std::getenv("RIDESHARD_KAFKA_BOOTSTRAP"); }
inline const bool no_broker = bootstrap() == nullptr || *bootstrap() == '\0';

/// A broker test without a broker fails (it is never skipped): run it under
/// tests/system/kafka/with_kafka.sh, as ctest's kafka.* entries do.
inline void require_broker() {
  REQUIRE_MESSAGE(!no_broker,
                  "no broker: RIDESHARD_KAFKA_BOOTSTRAP is not set (run under "
                  "tests/system/kafka/with_kafka.sh)");
}

inline std::unique_ptr<store> open_store(const std::string& path) {
  store_options o;
  o.path = path;
  o.sync = false;  // durability is crash.test's subject; here it only costs time
  auto s = store::open(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

inline std::string unique_topic(const char* what) {
  std::random_device rd;
  return std::string("rideshard.test.") + what + "." + std::to_string(rd()) + ".v1";
}

/// Commits `n` events over `keys` keys; payload "key/i" where i counts per key.
inline void commit_events(store& s, const std::string& topic, int n, int keys, int first = 0) {
  std::map<int, int> per_key;
  for (int i = 0; i < first; ++i) ++per_key[i % keys];
  for (int i = first; i < first + n; ++i) {
    write_batch b;
    const int k = i % keys;
    const std::string key = "t-" + std::to_string(k);
    b.add_event({topic,
                 key,
                 key + "/" + std::to_string(per_key[k]++),
                 {{"ce_id", key + "-" + std::to_string(i)}}});
    REQUIRE(s.commit(b).ok());
  }
}

/// Reads `expected` messages from `topic` with a fresh consumer group; payload by key.
inline std::map<std::string, std::vector<std::string>> consume(const std::string& topic,
                                                               int expected, int& headers_seen) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, std::string> props[] = {
      {"bootstrap.servers", bootstrap()},
      {"group.id", "rideshard-test-" + std::to_string(std::random_device{}())},
      {"auto.offset.reset", "earliest"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "false"}};
  for (const auto& [k, v] : props)
    REQUIRE(rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  REQUIRE(rk);
  rd_kafka_poll_set_consumer(rk);
  auto* subs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(subs, topic.c_str(), RD_KAFKA_PARTITION_UA);
  REQUIRE(rd_kafka_subscribe(rk, subs) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(subs);
  std::map<std::string, std::vector<std::string>> got;
  int count = 0;
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (count < expected && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (!m->err) {
      std::string key(static_cast<const char*>(m->key), m->key_len);
      got[key].emplace_back(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* h = nullptr;
      const void* v = nullptr;
      size_t vs = 0;
      if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(h, "ce_id", &v, &vs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        ++headers_seen;
      ++count;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return got;
}

inline void check_in_order(const std::map<std::string, std::vector<std::string>>& got, int n,
                           int keys) {
  REQUIRE(got.size() == static_cast<std::size_t>(keys));
  int total = 0;
  for (const auto& [key, payloads] : got) {
    total += static_cast<int>(payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i)
      REQUIRE_MESSAGE(payloads[i] == key + "/" + std::to_string(i), "key ", key, " position ", i);
  }
  CHECK(total == n);
}

inline const char* broker_ctl() { return std::getenv("RIDESHARD_KAFKA_CTL"); }
inline const bool no_broker_ctl =
    no_broker || !broker_ctl() || !std::getenv("RIDESHARD_KAFKA_WORKDIR");

/// As require_broker(), plus the broker control with_kafka.sh exports (outage tests).
inline void require_broker_ctl() {
  require_broker();
  REQUIRE_MESSAGE(!no_broker_ctl,
                  "RIDESHARD_KAFKA_CTL/_WORKDIR are not set (run under "
                  "tests/system/kafka/with_kafka.sh)");
}

inline int broker(const char* action) {
  const std::string cmd = std::string(broker_ctl()) + " " + action + " " +
                          std::getenv("RIDESHARD_KAFKA_WORKDIR") + " >/dev/null";
  return std::system(cmd.c_str());
}

/// Commits events at a steady pace on its own thread (the "load" of the outage
/// test), numbered like commit_events; bounded in count and time.
class paced_load {
 public:
  paced_load(store& s, std::string topic, int keys, int max_events)
      : thread_([this, &s, topic = std::move(topic), keys, max_events] {
          const auto end = std::chrono::steady_clock::now() + 180s;
          auto next = std::chrono::steady_clock::now();
          for (int i = 0; i < max_events && !stop_ && std::chrono::steady_clock::now() < end; ++i) {
            write_batch b;
            const std::string key = "t-" + std::to_string(i % keys);
            b.add_event({topic,
                         key,
                         key + "/" + std::to_string(i / keys),
                         {{"ce_id", key + "-" + std::to_string(i)}}});
            if (!s.commit(b).ok()) break;
            ++committed_;
            next += 5ms;  // ~200 events/s
            std::this_thread::sleep_until(next);
          }
        }) {}
  ~paced_load() { stop(); }
  /// Stops committing; returns how many events were committed (a multiple of keys
  /// is not guaranteed, check_in_order takes any count).
  int stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return committed_;
  }
  int committed() const { return committed_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> committed_{0};
  std::thread thread_;
};

/// Waits (bounded) until `done()`; polls counters other threads drive.
template <class F>
inline bool wait_until(F done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

}  // namespace rideshard::test::kafka
