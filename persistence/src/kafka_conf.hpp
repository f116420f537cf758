// librdkafka configuration helpers shared by the relay and the admin client (private).
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>

#include "rideshard/engine/result.hpp"

namespace rideshard::persistence::kafka {

/// Sets one property; bad_config with librdkafka's reason on failure.
inline result<void> set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    return error{errc::bad_config, "kafka property " + name + ": " + err};
  return {};
}

/// rd_kafka_new for a producer; takes ownership of `conf` on success and failure.
inline result<rd_kafka_t*> new_producer(rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return error{errc::bad_config, std::string("kafka producer: ") + err};
  }
  return rk;
}

}  // namespace rideshard::persistence::kafka
