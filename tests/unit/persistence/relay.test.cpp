// outbox_relay: with a real broker (RIDESHARD_KAFKA_BOOTSTRAP, see
// tests/system/kafka/with_kafka.sh) events are read back by an independent
// librdkafka consumer, in order per key, none missing. The broker cases are test
// suite "broker": ctest's persistence.relay runs the rest (--test-suite-exclude),
// kafka.relay runs them all under with_kafka.sh, and they fail without a broker.
#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "kafka_support.hpp"
#include "rideshard/persistence/outbox_relay.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using namespace rideshard::test::kafka;
using namespace std::chrono_literals;

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
  CHECK(create_topics("", {{"x", 1, 1, {}}}, 100ms).code() == errc::invalid_argument);
  CHECK(create_topics("127.0.0.1:1", {{"x", 1, 1, {}}}, 500ms).code() == errc::broker_error);
}

namespace {

/// librdkafka's in-process mock cluster: one broker (id 1), no JVM. It checks no
/// sequence numbers for an idempotent (non-transactional) producer, like a real
/// broker that holds no state for the producer on a partition yet.
class mock_cluster {
 public:
  mock_cluster() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // book-keeping only
    REQUIRE_MESSAGE(rk_, err);
    mc_ = rd_kafka_mock_cluster_new(rk_, 1);
    REQUIRE(mc_);
  }
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(rk_);
  }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;
  rd_kafka_mock_cluster_t* get() const { return mc_; }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mc_); }

  /// Payloads of partition 0 of `topic` in log order: `expected` of them, or what
  /// arrived within 30 s.
  std::vector<std::string> read_partition(const std::string& topic, std::size_t expected) const {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), err, sizeof err) ==
            RD_KAFKA_CONF_OK);
    REQUIRE(rd_kafka_conf_set(conf, "group.id", "relay-test", err, sizeof err) == RD_KAFKA_CONF_OK);
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    REQUIRE_MESSAGE(c, err);
    rd_kafka_poll_set_consumer(c);
    auto* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    REQUIRE(rd_kafka_assign(c, parts) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (got.size() < expected && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 200);
      if (!m) continue;
      if (!m->err) got.emplace_back(static_cast<const char*>(m->payload), m->len);
      rd_kafka_message_destroy(m);
    }
    // One more poll: a message beyond `expected` (a duplicate) shows up too.
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 500)) {
      if (!m->err) got.emplace_back(static_cast<const char*>(m->payload), m->len);
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return got;
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

constexpr std::int16_t produce_api_key = 0;

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return "[" + out + "]";
}

/// Three rows of one key, each its own produce request (batch.num.messages=1);
/// the broker refuses the first request (NOT_LEADER, not persisted) and answers
/// it only after 2 s, time for librdkafka to send the later ones if it may (the
/// delay is the broker's, not a wait in the test: with one request in flight the
/// outcome does not depend on it).
/// Returns the partition's log after the relay drained.
std::vector<std::string> relay_past_a_refused_first_request(
    std::vector<std::pair<std::string, std::string>> producer_config, relay_stats& stats) {
  mock_cluster mock;
  const std::string topic = "rideshard.test.refused.v1";
  REQUIRE(rd_kafka_mock_topic_create(mock.get(), topic.c_str(), 1, 1) ==
          RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_mock_broker_push_request_error_rtts(mock.get(), 1, produce_api_key, 1,
                                                       RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                                       2000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  commit_events(*s, topic, 3, 1);
  relay_options o;
  o.bootstrap = mock.bootstrap();
  o.producer_config = std::move(producer_config);
  o.producer_config.emplace_back("batch.num.messages", "1");
  auto relay = outbox_relay::create(*s, o);
  REQUIRE(relay.ok());
  auto drained = (*relay)->drain(60s);
  REQUIRE_MESSAGE(drained.ok(), (drained.ok() ? "" : drained.err().message));
  stats = (*relay)->stats();
  relay->reset();
  CHECK(s->outbox_depth() == 0);
  return mock.read_partition(topic, 3);
}

}  // namespace

// kafka.relay once lost the first 3 rows of a partition under load (the broker's
// log began at sequence 3, yet the relay had erased those rows on success
// reports). This is how: the broker refuses a first request (NOT_LEADER, as on a
// just-created topic), librdkafka reports its rows delivered because the next
// request in flight succeeded, and the relay erased them. Without
// "max.in.flight.requests.per.connection=1" in the relay the log here is t-0/1, t-0/2, t-0/0
// (re-sent, out of order); without the offset check as well, t-0/0 is missing.
TEST_CASE("a refused produce request is retried before the rows after it") {
  relay_stats st;
  auto log = relay_past_a_refused_first_request({}, st);
  const std::vector<std::string> want{"t-0/0", "t-0/1", "t-0/2"};
  CHECK_MESSAGE(log == want, joined(log));
  CHECK(st.delivered == 3);
  CHECK(st.failed == 0);
}

// The same with several requests in flight (a producer_config an operator could
// set): librdkafka reports the refused row delivered, without an offset; the relay
// does not take that as delivery and re-sends the row instead of erasing it.
TEST_CASE("a row reported delivered without an offset is re-sent, not erased") {
  relay_stats st;
  auto log =
      relay_past_a_refused_first_request({{"max.in.flight.requests.per.connection", "5"}}, st);
  INFO("log: ", joined(log));
  std::sort(log.begin(), log.end());
  CHECK(log == std::vector<std::string>{"t-0/0", "t-0/1", "t-0/2"});
  CHECK(st.failed >= 1);
}

TEST_CASE("relay publishes every event in order per key" * doctest::test_suite("broker")) {
  require_broker();
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  const auto topic = unique_topic("relay");
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1, {}}}, 30s).ok());
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1, {}}}, 30s).ok());  // exists: fine
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
          doctest::test_suite("broker")) {
  require_broker();
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  const auto topic = unique_topic("restart");
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1, {}}}, 30s).ok());
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

TEST_CASE("a broker outage under load loses nothing" * doctest::test_suite("broker")) {
  require_broker_ctl();
  const char* outage_env = std::getenv("RIDESHARD_KAFKA_OUTAGE_S");
  const int outage_s = outage_env ? std::atoi(outage_env) : 30;
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  const auto topic = unique_topic("outage");
  REQUIRE(create_topics(bootstrap(), {{topic, 3, 1, {}}}, 30s).ok());
  constexpr int keys = 20;
  relay_options o;
  o.bootstrap = bootstrap();
  o.max_in_flight = 300;
  auto relay = outbox_relay::create(*s, o);
  REQUIRE(relay.ok());
  (*relay)->start();
  // Events keep being committed at a steady rate before, during and after the outage.
  paced_load load(*s, topic, keys, 40000);
  REQUIRE(wait_until([&] { return (*relay)->stats().delivered >= 500; }, 60s));
  REQUIRE(broker("stop") == 0);
  const int at_stop = load.committed();
  std::this_thread::sleep_for(std::chrono::seconds(outage_s));  // the outage is the subject
  const int during = load.committed() - at_stop;
  CHECK(during > 0);             // the load went on while Kafka was down
  CHECK(s->outbox_depth() > 0);  // nothing was dropped to make room
  CHECK_FALSE((*relay)->stats().broker_reachable);
  const auto delivered_before = (*relay)->stats().delivered;
  REQUIRE(broker("restart") == 0);
  // Run on until the relay has caught up past the outage backlog, then stop the load.
  const int at_restart = load.committed();
  REQUIRE(wait_until(
      [&] { return (*relay)->stats().delivered >= static_cast<std::uint64_t>(at_restart) + 500; },
      120s));
  const int n = load.stop();
  REQUIRE(
      wait_until([&] { return s->outbox_depth() == 0 && (*relay)->stats().in_flight == 0; }, 120s));
  (*relay)->stop();
  auto st = (*relay)->stats();
  INFO("last relay error: ", st.last_error);
  REQUIRE(s->outbox_depth() == 0);
  CHECK(st.broker_reachable);

  // Read back: after dedupe (payload is unique per event), in order per key, none missing.
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
  MESSAGE("outage ", outage_s, " s: ", n, " events (", during, " committed during the outage, ",
          delivered_before, " delivered before the restart); duplicates: ", duplicates);
  check_in_order(firsts, n, keys);
}

namespace {

/// Runs `cmd` and returns its stdout (empty if it could not start).
std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace

// The consumer example of docs/events.md, run as written against the engine topics.
TEST_CASE("kcat reads every engine topic as docs/events.md shows" * doctest::test_suite("broker")) {
  require_broker();
  REQUIRE_MESSAGE(std::system("command -v kcat >/dev/null 2>&1") == 0,
                  "kcat is not installed (./run deps installs it)");
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  REQUIRE(create_topics(bootstrap(), engine_topics(3), 30s).ok());
  const std::string tag = std::to_string(std::random_device{}());
  write_batch b;
  trip t;
  t.id = trip_id{42};
  t.rider = rider_id{9};
  t.pickup = {40.758, -73.9855};
  t.dropoff = {40.7061, -74.0087};
  auto trip_ev = schemas::make_trip_event(t, schemas::trip_event_type::requested,
                                          trip_state::requested, 1718000000000);
  trip_ev.event_id += "-" + tag;
  REQUIRE(b.add_trip_event(trip_ev).ok());
  REQUIRE(b.add_driver_location_event({"d-7-1-" + tag,
                                       1718000001000,
                                       driver_id{7},
                                       {40.7532, -73.9822},
                                       90.0f,
                                       8.5f,
                                       4242,
                                       true,
                                       1})
              .ok());
  REQUIRE(b.add_quote_event({"q-5-" + tag, 1718000000000, quote_id{5}, rider_id{9}, t.pickup,
                             t.dropoff, 2489, "USD", 1200, 240, 4242, 1})
              .ok());
  REQUIRE(b.add_surge_event({"c-4242-1-" + tag, 1718000060000, 4242, 1500, 40, 12, 60000, 1}).ok());
  REQUIRE(s->commit(b).ok());
  relay_options o;
  o.bootstrap = bootstrap();
  auto relay = outbox_relay::create(*s, o);
  REQUIRE(relay.ok());
  REQUIRE((*relay)->drain(60s).ok());

  const std::pair<const char*, const char*> want[] = {{trip_events_topic, "t-42"},
                                                      {driver_locations_topic, "d-7"},
                                                      {quotes_topic, "c-4242"},
                                                      {surge_topic, "c-4242"}};
  for (const auto& [topic, key] : want) {
    CAPTURE(topic);
    const std::string out = run_command(std::string("kcat -b ") + bootstrap() + " -C -t " + topic +
                                        " -o beginning -e -q -f '%k\\t%h\\t%s\\n'");
    // One line per event: key, headers (name=value,...), JSON payload.
    std::string line;
    for (std::size_t pos = 0, end; (end = out.find('\n', pos)) != std::string::npos; pos = end + 1)
      if (out.substr(pos, end - pos).find(tag) != std::string::npos)
        line = out.substr(pos, end - pos);
    REQUIRE_MESSAGE(!line.empty(), "kcat output: ", out);
    CHECK(line.rfind(std::string(key) + "\t", 0) == 0);
    CHECK(line.find("ce_specversion=1.0,ce_id=") != std::string::npos);
    CHECK(line.find(",content-type=application/json,schema_version=1\t{") != std::string::npos);
    if (std::string(topic) == trip_events_topic) {
      auto back = schemas::decode_trip_event_json(line.substr(line.rfind('\t') + 1));
      REQUIRE_MESSAGE(back.ok(), back.err().message);
      CHECK(*back == trip_ev);
    }
  }
}
