// create_topics: the engine's topics through librdkafka's admin API;
// topic_partitions: a topic's partition count from the broker's metadata;
// topic_configs: its topic-level configs (DescribeConfigs).
#include <algorithm>
#include <map>
#include <memory>
#include <thread>

#include "kafka_conf.hpp"
#include "rideshard/persistence/outbox_relay.hpp"
#include "rideshard/persistence/trip_changelog.hpp"

namespace rideshard::persistence {
namespace {

using client_ptr = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;

/// A short-lived librdkafka handle for admin and metadata requests to `bootstrap`.
result<client_ptr> admin_client(const std::string& bootstrap) {
  if (bootstrap.empty()) return error{errc::invalid_argument, "kafka bootstrap is empty"};
  auto conf = kafka::make_conf({{"bootstrap.servers", bootstrap}}, {});
  if (!conf) return conf.err();
  auto rk_or = kafka::new_producer(*conf);
  if (!rk_or) return rk_or.err();
  return client_ptr(*rk_or, rd_kafka_destroy);
}

}  // namespace

result<void> create_topics(const std::string& bootstrap, const std::vector<topic_spec>& topics,
                           std::chrono::milliseconds timeout) {
  if (bootstrap.empty()) return error{errc::invalid_argument, "kafka bootstrap is empty"};
  if (topics.empty()) return {};
  auto client = admin_client(bootstrap);
  if (!client) return client.err();
  auto& rk = *client;
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> queue(rd_kafka_queue_new(rk.get()),
                                                                       rd_kafka_queue_destroy);

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  auto cleanup = [&] {
    for (auto* t : new_topics) rd_kafka_NewTopic_destroy(t);
  };
  char err[512];
  for (const auto& t : topics) {
    auto* nt =
        rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, err, sizeof err);
    if (!nt) {
      cleanup();
      return error{errc::invalid_argument, "topic " + t.name + ": " + err};
    }
    new_topics.push_back(nt);
    for (const auto& [name, value] : t.configs)
      if (rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        cleanup();
        return error{errc::invalid_argument, "topic " + t.name + ": bad config " + name};
      }
  }
  auto* options = rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(timeout.count()), err,
                                            sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(timeout.count()), err,
                                              sizeof err);
  rd_kafka_CreateTopics(rk.get(), new_topics.data(), new_topics.size(), options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  cleanup();

  // The admin request's own timeout bounds this wait; the margin covers its bookkeeping.
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 2000);
  if (!ev) return error{errc::broker_error, "create topics: no answer from " + bootstrap};
  std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> guard(ev, rd_kafka_event_destroy);
  if (rd_kafka_event_error(ev))
    return error{errc::broker_error,
                 std::string("create topics: ") + rd_kafka_event_error_string(ev)};
  const auto* res = rd_kafka_event_CreateTopics_result(ev);
  if (!res) return error{errc::broker_error, "create topics: unexpected event"};
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; ++i) {
    auto code = rd_kafka_topic_result_error(results[i]);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      continue;
    const char* msg = rd_kafka_topic_result_error_string(results[i]);
    return error{errc::broker_error, std::string("create topic ") +
                                         rd_kafka_topic_result_name(results[i]) + ": " +
                                         (msg ? msg : rd_kafka_err2str(code))};
  }
  return {};
}

result<int> topic_partitions(const std::string& bootstrap, const std::string& topic,
                             std::chrono::milliseconds timeout) {
  auto client = admin_client(bootstrap);
  if (!client) return client.err();
  auto& rk = *client;
  std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> rkt(
      rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr), rd_kafka_topic_destroy);
  // A topic just created may take a moment to show in the metadata: ask again
  // (briefly) while the broker says it does not know it.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto err = rd_kafka_metadata(rk.get(), 0, rkt.get(), &md,
                                 static_cast<int>(std::max<long long>(left.count(), 1)));
    if (err)
      return error{errc::broker_error, "metadata of " + topic + ": " + rd_kafka_err2str(err)};
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> guard(
        md, rd_kafka_metadata_destroy);
    const auto topic_err =
        md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (!topic_err) return md->topics[0].partition_cnt;
    const bool unknown = topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                         topic_err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                         topic_err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
    if (!unknown || std::chrono::steady_clock::now() >= deadline)
      return error{errc::broker_error, "metadata of " + topic + ": " + rd_kafka_err2str(topic_err)};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

result<std::map<std::string, std::string>> topic_configs(const std::string& bootstrap,
                                                         const std::string& topic,
                                                         std::chrono::milliseconds timeout) {
  auto client = admin_client(bootstrap);
  if (!client) return client.err();
  auto& rk = *client;
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> queue(rd_kafka_queue_new(rk.get()),
                                                                       rd_kafka_queue_destroy);
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  char err[512];
  auto* options = rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(timeout.count()), err,
                                            sizeof err);
  rd_kafka_DescribeConfigs(rk.get(), &resource, 1, options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_ConfigResource_destroy(resource);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 2000);
  if (!ev) return error{errc::broker_error, "describe configs: no answer from " + bootstrap};
  std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> guard(ev, rd_kafka_event_destroy);
  if (rd_kafka_event_error(ev))
    return error{errc::broker_error,
                 "describe configs of " + topic + ": " + rd_kafka_event_error_string(ev)};
  const auto* res = rd_kafka_event_DescribeConfigs_result(ev);
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources =
      res ? rd_kafka_DescribeConfigs_result_resources(res, &n) : nullptr;
  if (n != 1) return error{errc::broker_error, "describe configs of " + topic + ": no result"};
  if (auto code = rd_kafka_ConfigResource_error(resources[0])) {
    const char* msg = rd_kafka_ConfigResource_error_string(resources[0]);
    return error{errc::broker_error,
                 "describe configs of " + topic + ": " + (msg ? msg : rd_kafka_err2str(code))};
  }
  std::map<std::string, std::string> out;
  size_t entries = 0;
  const rd_kafka_ConfigEntry_t** e = rd_kafka_ConfigResource_configs(resources[0], &entries);
  for (size_t i = 0; i < entries; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(e[i]);
    out[rd_kafka_ConfigEntry_name(e[i])] = value ? value : "";
  }
  return out;
}

}  // namespace rideshard::persistence
