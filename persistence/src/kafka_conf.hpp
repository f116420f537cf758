// librdkafka helpers shared by the relay, the admin client, shard ownership and
// the trip changelog (private): configuration, client creation, producing a row.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/engine/result.hpp"

namespace rideshard::persistence::kafka {

/// Sets one property; bad_config with librdkafka's reason on failure.
inline result<void> set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    return error{errc::bad_config, "kafka property " + name + ": " + err};
  return {};
}

/// rd_kafka_new; takes ownership of `conf` on success and failure.
inline result<rd_kafka_t*> new_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return error{errc::bad_config, std::string("kafka client: ") + err};
  }
  return rk;
}
inline result<rd_kafka_t*> new_producer(rd_kafka_conf_t* conf) {
  return new_client(RD_KAFKA_PRODUCER, conf);
}
inline result<rd_kafka_t*> new_consumer(rd_kafka_conf_t* conf) {
  return new_client(RD_KAFKA_CONSUMER, conf);
}

/// A new configuration with `base` then `extra` applied; nullptr-free: on a bad
/// property the configuration is destroyed and bad_config returned.
inline result<rd_kafka_conf_t*> make_conf(
    const std::vector<std::pair<std::string, std::string>>& base,
    const std::vector<std::pair<std::string, std::string>>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto* list : {&base, &extra})
    for (const auto& [k, v] : *list)
      if (auto r = set(conf, k, v); !r) {
        rd_kafka_conf_destroy(conf);
        return r.err();
      }
  return conf;
}

/// One message: copies key, value and headers (an empty header list sends none).
/// `value` null with size 0 is a tombstone. Returns librdkafka's error
/// (RD_KAFKA_RESP_ERR__QUEUE_FULL: retry after serving delivery reports).
inline rd_kafka_resp_err_t produce(rd_kafka_t* rk, rd_kafka_topic_t* topic, std::int32_t partition,
                                   const std::string& key, const char* value,
                                   std::size_t value_size,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   void* opaque) {
  rd_kafka_headers_t* h = nullptr;
  if (!headers.empty()) {
    h = rd_kafka_headers_new(headers.size());
    for (const auto& [name, v] : headers)
      rd_kafka_header_add(h, name.data(), static_cast<ssize_t>(name.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
  }
  auto err = rd_kafka_producev(rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                               RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                               RD_KAFKA_V_VALUE(const_cast<char*>(value), value_size),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                               RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err && h) rd_kafka_headers_destroy(h);  // not taken over on failure
  return err;
}

}  // namespace rideshard::persistence::kafka
