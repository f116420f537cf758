// topic_window: follows a Kafka topic from near its end — every partition from
// its newest `tail_per_partition` records on — and hands each record to a
// callback on its own thread. For read-back views bounded by construction (the
// console's cluster-wide audit log): it never reads a topic from the beginning.
// Partitions added to the topic after the assignment are not followed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/result.hpp"

namespace rideshard::persistence {

struct topic_window_options {
  std::string bootstrap;  ///< "host:port[,host:port...]"
  std::string topic;
  /// Where each partition starts: at most this many records before its end
  /// (as the broker reports it when the window assigns the partition).
  std::int64_t tail_per_partition = 1000;
  /// Retry interval while the broker or the topic is not there yet.
  std::chrono::milliseconds retry{1000};
  /// Extra librdkafka consumer properties, applied last.
  std::vector<std::pair<std::string, std::string>> consumer_config;
};

/// One record as read (committed records only: read_committed).
struct topic_record {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
};

/// What the window has done so far (for /health-style reporting and tests).
struct topic_window_state {
  bool assigned = false;      ///< every partition found is being read
  int partitions = 0;         ///< partitions assigned
  std::uint64_t records = 0;  ///< records handed to the callback
  std::string last_error;     ///< the last broker / metadata error, "" when none
};

/// Thread-safe: state() from any thread. The callback runs on the window's
/// thread, one record at a time, in offset order per partition.
class topic_window {
 public:
  /// Creates the consumer and starts the thread (a broker that is down, or a
  /// topic not created yet, only delays the assignment: it retries).
  /// Errors: bad_config (options, librdkafka properties).
  [[nodiscard]] static result<std::unique_ptr<topic_window>> open(
      topic_window_options options, std::function<void(const topic_record&)> on_record);
  ~topic_window();  ///< stops and joins the thread
  topic_window(const topic_window&) = delete;
  topic_window& operator=(const topic_window&) = delete;

  topic_window_state state() const;

  struct impl;

 private:
  explicit topic_window(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace rideshard::persistence
