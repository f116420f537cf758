// outbox_relay: publishes the store's outbox to Kafka in sequence order with an
// idempotent producer, deleting a row only after its successful delivery report.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"

namespace rideshard::persistence {

struct relay_options {
  std::string bootstrap;  ///< "host:port[,host:port...]"
  std::string client_id = "rideshard-relay";
  std::size_t max_in_flight = 10000;  ///< rows produced but not yet acknowledged
  std::size_t read_batch = 1000;      ///< rows read from the store per step
  /// Newest committed rows the store keeps in memory for the relay
  /// (store::keep_outbox_tail), so that a relay keeping up never reads RocksDB.
  std::size_t memory_rows = 50000;
  /// Extra librdkafka properties, applied last (e.g. {"linger.ms", "20"}).
  std::vector<std::pair<std::string, std::string>> producer_config;
};

/// Counters for health and metrics. A snapshot; thread-safe to take.
struct relay_stats {
  /// Rows acknowledged by Kafka. Their erase may lag: the relay erases the
  /// delivered prefix of the outbox as one range once it is >= 256 rows (or all).
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;  ///< delivery reports with an error (rows kept, re-sent)
  std::uint64_t in_flight = 0;
  bool broker_reachable =
      false;  ///< false until a delivery succeeds, and while all brokers are down
  std::string last_error;
};

/// The relay. Delivery is at-least-once: a row is re-sent after a restart when
/// its report never arrived (consumers dedupe by event_id); per key, Kafka sees
/// rows in outbox order. A broker outage only delays: rows stay in the store and
/// librdkafka retries without a timeout.
/// Thread-safety: step() and drain() from one thread at a time, or start()/stop()
/// to run steps on the relay's own thread; stats() from any thread. The store
/// must outlive the relay.
class outbox_relay {
 public:
  /// Errors: invalid_argument (empty bootstrap), bad_config (librdkafka rejected a property).
  [[nodiscard]] static result<std::unique_ptr<outbox_relay>> create(store& s,
                                                                    const relay_options& options);
  /// Stops the thread; rows still in flight stay in the store.
  ~outbox_relay();
  outbox_relay(const outbox_relay&) = delete;
  outbox_relay& operator=(const outbox_relay&) = delete;

  /// Produces rows not yet in flight (up to the bound), serves delivery reports
  /// for up to `wait`, erases delivered rows. Returns the rows delivered.
  [[nodiscard]] result<std::size_t> step(std::chrono::milliseconds wait);
  /// Steps until the outbox is empty and nothing is in flight, or `timeout`.
  /// Errors: unavailable (timed out; rows kept), storage_error.
  [[nodiscard]] result<void> drain(std::chrono::milliseconds timeout);
  /// Runs step() on a background thread until stop() (idempotent).
  void start();
  void stop();
  relay_stats stats() const;

 private:
  struct impl;
  explicit outbox_relay(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Creates the topics (normally engine_topics()) through librdkafka's admin API; topics that
/// already exist are fine. Errors: broker_error (broker unreachable within `timeout`, or rejected a
/// topic), invalid_argument.
[[nodiscard]] result<void> create_topics(const std::string& bootstrap,
                                         const std::vector<topic_spec>& topics,
                                         std::chrono::milliseconds timeout);

/// The partition count of `topic` from the broker's metadata (a check that an
/// existing topic has the layout create_topics() asked for); a topic not yet in
/// the metadata (just created) is asked for again until `timeout`. Errors:
/// broker_error (unreachable, unknown topic), invalid_argument, bad_config.
[[nodiscard]] result<int> topic_partitions(const std::string& bootstrap, const std::string& topic,
                                           std::chrono::milliseconds timeout);

}  // namespace rideshard::persistence
