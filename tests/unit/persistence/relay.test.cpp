// outbox_relay: with a real broker (RIDESHARD_KAFKA_BOOTSTRAP, see
// tests/system/kafka/with_kafka.sh) events are read back by an independent
// librdkafka consumer, in order per key, none missing; without one, only the
// broker-less cases run and the broker cases are skipped.
#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "rideshard/persistence/outbox_relay.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using namespace std::chrono_literals;

namespace {

const char* bootstrap() { return std::getenv("RIDESHARD_KAFKA_BOOTSTRAP"); }
const bool no_broker = bootstrap() == nullptr || *bootstrap() == '\0';

std::unique_ptr<store> open_store(const std::string& path) {
  store_options o;
  o.path = path;
  o.sync = false;  // durability is crash.test's subject; here it only costs time
  auto s = store::open(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

std::string unique_topic(const char* what) {
  std::random_device rd;
  return std::string("rideshard.test.") + what + "." + std::to_string(rd()) + ".v1";
}

/// Commits `n` events over `keys` keys; payload "key/i" where i counts per key.
void commit_events(store& s, const std::string& topic, int n, int keys, int first = 0) {
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
std::map<std::string, std::vector<std::string>> consume(const std::string& topic, int expected,
                                                        int& headers_seen) {
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

void check_in_order(const std::map<std::string, std::vector<std::string>>& got, int n, int keys) {
  REQUIRE(got.size() == static_cast<std::size_t>(keys));
  int total = 0;
  for (const auto& [key, payloads] : got) {
    total += static_cast<int>(payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i)
      REQUIRE_MESSAGE(payloads[i] == key + "/" + std::to_string(i), "key ", key, " position ", i);
  }
  CHECK(total == n);
}

}  // namespace

TEST_CASE("broker availability") {
  if (no_broker) std::printf("skipped: no broker (set RIDESHARD_KAFKA_BOOTSTRAP)\n");
}

TEST_CASE("without a reachable broker the relay keeps every row") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  commit_events(*s, "rideshard.test.unreachable.v1", 20, 3);
  relay_options o;
  o.bootstrap = "127.0.0.1:1";  // nothing listens on port 1
  auto relay = outbox_relay::create(*s, o);
  REQUIRE(relay.ok());
  for (int i = 0; i < 5; ++i) {
    auto n = (*relay)->step(20ms);
    REQUIRE(n.ok());
    CHECK(*n == 0);
  }
  CHECK((*relay)->stats().in_flight == 20);
  CHECK((*relay)->drain(100ms).code() == errc::unavailable);
  relay->reset();
  CHECK(s->outbox_depth() == 20);
  CHECK(s->read_outbox(0, 100)->size() == 20);
}

TEST_CASE("relay and admin reject bad configuration") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  relay_options o;
  CHECK(outbox_relay::create(*s, o).code() == errc::invalid_argument);
  o.bootstrap = "127.0.0.1:1";
  o.producer_config = {{"no.such.property", "1"}};
  CHECK(outbox_relay::create(*s, o).code() == errc::bad_config);
  CHECK(create_topics("", {{"x", 1, 1}}, 100ms).code() == errc::invalid_argument);
  CHECK(create_topics("127.0.0.1:1", {{"x", 1, 1}}, 500ms).code() == errc::broker_error);
}

TEST_CASE("relay publishes every event in order per key" * doctest::skip(no_broker)) {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  const auto topic = unique_topic("relay");
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1}}, 30s).ok());
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1}}, 30s).ok());  // exists: fine
  constexpr int n = 3000, keys = 40;
  commit_events(*s, topic, n, keys);
  relay_options o;
  o.bootstrap = bootstrap();
  o.max_in_flight = 500;  // smaller than n: the bound is exercised
  auto relay = outbox_relay::create(*s, o);
  REQUIRE(relay.ok());
  auto drained = (*relay)->drain(90s);
  REQUIRE_MESSAGE(drained.ok(), (drained.ok() ? "" : drained.err().message));
  CHECK(s->outbox_depth() == 0);
  CHECK(s->read_outbox(0, 10)->empty());
  auto st = (*relay)->stats();
  CHECK(st.delivered == n);
  CHECK(st.failed == 0);
  CHECK(st.broker_reachable);
  int headers = 0;
  auto got = consume(topic, n, headers);
  check_in_order(got, n, keys);
  CHECK(headers == n);
}

TEST_CASE("a new relay on the same store delivers what earlier relays left behind" *
          doctest::skip(no_broker)) {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  const auto topic = unique_topic("restart");
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1}}, 30s).ok());
  constexpr int n = 1000, keys = 10;
  commit_events(*s, topic, n / 2, keys);
  {
    // A relay that never reaches a broker and is torn down with rows in flight.
    relay_options dead;
    dead.bootstrap = "127.0.0.1:1";
    auto relay = outbox_relay::create(*s, dead);
    REQUIRE(relay.ok());
    for (int i = 0; i < 3; ++i) REQUIRE((*relay)->step(10ms).ok());
    CHECK((*relay)->stats().in_flight == n / 2);
  }
  CHECK(s->outbox_depth() == n / 2);
  relay_options o;
  o.bootstrap = bootstrap();
  {
    auto relay = outbox_relay::create(*s, o);
    REQUIRE(relay.ok());
    REQUIRE((*relay)->drain(60s).ok());
  }
  commit_events(*s, topic, n / 2, keys, n / 2);
  auto relay = outbox_relay::create(*s, o);
  REQUIRE(relay.ok());
  (*relay)->start();  // the background thread this time
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (s->outbox_depth() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);  // polling a counter the relay thread drives
  (*relay)->stop();
  REQUIRE(s->outbox_depth() == 0);
  int headers = 0;
  check_in_order(consume(topic, n, headers), n, keys);
}

namespace {

const char* broker_ctl() { return std::getenv("RIDESHARD_KAFKA_CTL"); }
const bool no_broker_ctl = no_broker || !broker_ctl() || !std::getenv("RIDESHARD_KAFKA_WORKDIR");

int broker(const char* action) {
  const std::string cmd = std::string(broker_ctl()) + " " + action + " " +
                          std::getenv("RIDESHARD_KAFKA_WORKDIR") + " >/dev/null";
  return std::system(cmd.c_str());
}

}  // namespace

TEST_CASE("a broker outage under load loses nothing" * doctest::skip(no_broker_ctl)) {
  const char* outage_env = std::getenv("RIDESHARD_KAFKA_OUTAGE_S");
  const int outage_s = outage_env ? std::atoi(outage_env) : 10;
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  const auto topic = unique_topic("outage");
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1}}, 30s).ok());
  constexpr int keys = 20, per_phase = 2000;
  relay_options o;
  o.bootstrap = bootstrap();
  o.max_in_flight = 300;
  auto relay = outbox_relay::create(*s, o);
  REQUIRE(relay.ok());
  (*relay)->start();
  commit_events(*s, topic, per_phase, keys);  // the relay is publishing meanwhile
  REQUIRE(broker("stop") == 0);
  commit_events(*s, topic, per_phase, keys, per_phase);         // committed while Kafka is down
  std::this_thread::sleep_for(std::chrono::seconds(outage_s));  // the outage is the subject
  CHECK(s->outbox_depth() > 0);                                 // nothing was dropped to make room
  CHECK_FALSE((*relay)->stats().broker_reachable);
  REQUIRE(broker("restart") == 0);
  commit_events(*s, topic, per_phase, keys, 2 * per_phase);
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while ((s->outbox_depth() > 0 || (*relay)->stats().in_flight > 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);  // polling counters the relay thread drives
  (*relay)->stop();
  auto st = (*relay)->stats();
  INFO("last relay error: ", st.last_error);
  REQUIRE(s->outbox_depth() == 0);
  CHECK(st.broker_reachable);

  // Read back: after dedupe (payload is unique per event), in order per key, none missing.
  constexpr int n = 3 * per_phase;
  int headers = 0;
  auto got = consume(topic, n, headers);
  std::map<std::string, std::vector<std::string>> firsts;
  int duplicates = 0;
  for (const auto& [key, payloads] : got) {
    std::set<std::string> seen;
    for (const auto& p : payloads) {
      if (seen.insert(p).second)
        firsts[key].push_back(p);
      else
        ++duplicates;
    }
  }
  MESSAGE("outage ", outage_s, " s; duplicates after the outage: ", duplicates);
  check_in_order(firsts, n, keys);
}
