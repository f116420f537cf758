// consume_all: an independent librdkafka consumer for the system tests that
// run against a real broker — every partition of a topic from the beginning up
// to its high watermark at the time of the call, in partition order.
#pragma once

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace rideshard::system_test {

struct consumed_event {
  std::string key, event_id, to_state, payload;
  std::uint64_t trip = 0, sequence = 0;
  int partition = -1;
};

/// An independent consumer (a fresh group, nothing committed): every partition of `topic` from the
/// beginning up to its high watermark at the time of the call, in partition order.
inline std::vector<consumed_event> consume_all(const std::string& bootstrap,
                                               const std::string& topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, std::string> props[] = {
      {"bootstrap.servers", bootstrap},
      {"group.id", "rideshard-system-test-" + std::to_string(std::random_device{}())},
      {"enable.auto.commit", "false"},
      // End-of-partition events: a transactional topic's high watermark counts
      // the commit markers, which are never delivered; the EOF offset does too.
      {"enable.partition.eof", "true"}};
  for (const auto& [k, v] : props)
    REQUIRE(rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  REQUIRE_MESSAGE(rk != nullptr, err);
  rd_kafka_poll_set_consumer(rk);

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  REQUIRE(rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(md->topic_cnt == 1);
  REQUIRE(md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR);
  const int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  REQUIRE(partitions > 0);

  std::map<int, std::int64_t> high;  // partition -> offset after its last message
  auto* assign = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    REQUIRE(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    CHECK_MESSAGE(lo == 0, "partition ", p, " starts at ", lo, ": records were deleted");
    high[p] = hi;
    rd_kafka_topic_partition_list_add(assign, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  REQUIRE(rd_kafka_assign(rk, assign) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(assign);

  std::map<int, std::int64_t> next;  // partition -> next offset to read
  for (int p = 0; p < partitions; ++p) next[p] = 0;
  auto caught_up = [&] {
    for (const auto& [p, hi] : high)
      if (next[p] < hi) return false;
    return true;
  };
  std::vector<consumed_event> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!caught_up() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset < high[m->partition]) {
      consumed_event e;
      e.partition = m->partition;
      e.key.assign(static_cast<const char*>(m->key), m->key_len);
      e.payload.assign(static_cast<const char*>(m->payload), m->len);
      const auto j = nlohmann::json::parse(e.payload, nullptr, false);
      if (!j.is_discarded()) {
        e.event_id = j.value("event_id", "");
        e.to_state = j.value("to_state", "");
        e.trip = j.value("trip_id", std::uint64_t{0});
        e.sequence = j.value("sequence", std::uint64_t{0});
      }
      out.push_back(std::move(e));
      next[m->partition] = m->offset + 1;
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      next[m->partition] = std::max(next[m->partition], m->offset);
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      MESSAGE("consumer: ", rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  CHECK_MESSAGE(caught_up(), "the consumer did not reach the high watermarks within 60 s");
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

}  // namespace rideshard::system_test
