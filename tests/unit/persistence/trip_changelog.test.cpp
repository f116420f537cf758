// The trip changelog against a real broker (test suite "broker", run by
// kafka.trip_changelog under tests/system/kafka/with_kafka.sh; they fail without
// one): transactional writes restore into a fresh store, and a new owner fences
// the old one so nothing the old one writes afterwards becomes visible.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

#include "kafka_support.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/outbox_relay.hpp"
#include "rideshard/persistence/trip_changelog.hpp"
#include "rideshard/schemas/records.hpp"
#include "temp_dir.hpp"
#include "trip_fixture.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using namespace rideshard::test::kafka;
using namespace std::chrono_literals;
using rideshard::test::make_trip;

namespace {

/// Where the tests' trip events go (a topic per run, like the changelog's).
const std::string& events_topic() {
  static const std::string topic = [] {
    auto name = unique_topic("trip-events");
    REQUIRE(create_topics(bootstrap(), {{name, 3, 1, {}}}, 30s).ok());
    return name;
  }();
  return topic;
}

/// A batch as the trip actor builds it: snapshot, journal entry and trip event.
write_batch transition(const trip& t) {
  write_batch b;
  b.put_trip(t);
  b.append_trip_journal(t);
  const auto key = to_string(t.id);
  b.add_event({events_topic(),
               key,
               "{\"sequence\":" + std::to_string(t.sequence) + "}",
               {{"ce_id", key + "-" + std::to_string(t.sequence)}}});
  return b;
}

changelog_options options_for(const std::string& topic, const std::string& prefix) {
  changelog_options o;
  o.bootstrap = bootstrap();
  o.topic = topic;
  o.transactional_id_prefix = prefix;
  return o;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string unique_prefix() {
  return "rideshard-test-sg-" + std::to_string(std::random_device{}()) + "-";
}

/// The changelog topic as cluster_topics() makes it, under a unique name.
std::string make_changelog(int partitions) {
  auto spec = cluster_topics(partitions).at(1);
  spec.name = unique_topic("trip-changelog");
  REQUIRE(create_topics(bootstrap(), {spec}, 30s).ok());
  return spec.name;
}

std::unique_ptr<changelog_writer> open_writer(const changelog_options& o, int group) {
  auto w = changelog_writer::open(o, group);
  REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.err().message));
  return std::move(*w);
}

/// The trips of a store: id -> sequence.
std::map<std::uint64_t, std::uint64_t> trips_in(const store& s) {
  auto all = s.load_entities(entity_kind::trip);
  REQUIRE(all.ok());
  std::map<std::uint64_t, std::uint64_t> out;
  for (const auto& e : *all) {
    auto t = schemas::decode_trip_record(e.value.data(), e.value.size());
    REQUIRE(t.ok());
    CHECK(t->sequence == e.sequence);
    out[e.id] = t->sequence;
  }
  return out;
}

/// Keys of every record in one partition, read to its end at `isolation`.
std::vector<std::string> keys_in(const std::string& topic, int partition, const char* isolation) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : {std::pair<const char*, std::string>{"bootstrap.servers", bootstrap()},
                             {"group.id", "rideshard-test-reader"},
                             {"isolation.level", isolation},
                             {"enable.partition.eof", "true"},
                             {"enable.auto.commit", "false"}})
    REQUIRE(rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  REQUIRE(rk);
  rd_kafka_poll_set_consumer(rk);
  auto* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), partition)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  REQUIRE(rd_kafka_assign(rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  std::vector<std::string> keys;
  bool eof = false;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      eof = true;
    else if (!m->err)
      keys.emplace_back(static_cast<const char*>(m->key), m->key_len);
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  REQUIRE_MESSAGE(eof, "partition ", partition, " of ", topic, " not read to its end");
  return keys;
}

}  // namespace

TEST_CASE("changelog writer and restore refuse bad configuration and unreachable brokers") {
  changelog_options o;
  CHECK(changelog_writer::open(o, 0).code() == errc::invalid_argument);
  o.bootstrap = "127.0.0.1:1";  // nothing listens on port 1
  CHECK(changelog_writer::open(o, -1).code() == errc::invalid_argument);
  o.call_timeout = 500ms;
  CHECK(changelog_writer::open(o, 0).code() == errc::broker_error);
  o.producer_config = {{"no.such.property", "1"}};
  CHECK(changelog_writer::open(o, 0).code() == errc::bad_config);
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  o.producer_config.clear();
  CHECK(restore_shard_group(*s, o, 0, 500ms).code() == errc::broker_error);
}

TEST_CASE("cluster_topics: one partition per shard group, the changelog compacted") {
  auto topics = cluster_topics(12, 3);
  REQUIRE(topics.size() == 2);
  CHECK(topics[0].name == shard_groups_topic);
  CHECK(topics[1].name == trip_changelog_topic);
  for (const auto& t : topics) {
    CHECK(t.partitions == 12);
    CHECK(t.replication_factor == 3);
  }
  const std::map<std::string, std::string> configs(topics[1].configs.begin(),
                                                   topics[1].configs.end());
  CHECK(configs.at("cleanup.policy") == "compact");
  CHECK(configs.at("min.insync.replicas") == "2");
}

TEST_CASE("changelog writes restore the latest trips of one shard group into a fresh store" *
          doctest::test_suite("broker")) {
  require_broker();
  const auto topic = make_changelog(3);
  const auto o = options_for(topic, unique_prefix());
  auto w1 = open_writer(o, 1);
  auto w2 = open_writer(o, 2);
  std::map<std::uint64_t, std::uint64_t> expected;  // shard group 1: id -> latest sequence
  std::size_t transitions = 0;
  constexpr std::uint64_t trips = 150;
  for (std::uint64_t id = 1; id <= trips; ++id) {
    const auto last = 1 + id % 4;  // 1..4 transitions per trip
    for (std::uint64_t seq = 1; seq <= last; ++seq, ++transitions)
      REQUIRE(w1->write(transition(make_trip(id, seq))).ok());
    expected[id] = last;
  }
  std::uint64_t erased = 0;
  for (std::uint64_t id = 1; id <= trips; id += 7, ++erased) {  // finished trips leave it
    write_batch b;
    b.erase_entity(entity_kind::trip, id);
    REQUIRE(w1->write(b).ok());
    expected.erase(id);
  }
  for (std::uint64_t id = 5001; id <= 5050; ++id)  // another shard group's trips
    REQUIRE(w2->write(transition(make_trip(id, 1))).ok());

  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  {  // a stale cache: an old version of trip 2 and trip 7 (erased since)
    write_batch stale;
    stale.put_trip(make_trip(2, 1));
    stale.put_trip(make_trip(7, 9));
    REQUIRE(s->commit(stale).ok());
  }
  auto st = restore_shard_group(*s, o, 1, 30s);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  CHECK(trips_in(*s) == expected);
  CHECK(st->tombstones == erased);
  CHECK(st->snapshots == transitions);
  CHECK(st->records == transitions + erased);
  CHECK(st->end_offset > 0);

  // Each transition's trip event went out in its transaction.
  std::size_t events = 0;
  for (int p = 0; p < 3; ++p) events += keys_in(events_topic(), p, "read_committed").size();
  CHECK(events == transitions + 50);  // shard group 1's and shard group 2's
}

TEST_CASE("a new owner fences the old one: its later commits fail and stay invisible" *
          doctest::test_suite("broker")) {
  require_broker();
  const auto topic = make_changelog(2);
  const auto o = options_for(topic, unique_prefix());
  auto old_owner = open_writer(o, 0);
  REQUIRE(old_owner->write(transition(make_trip(1, 1))).ok());
  // The old owner is mid-transaction (its records are on the broker) when it freezes.
  REQUIRE(old_owner->begin().ok());
  REQUIRE(old_owner->add(transition(make_trip(2, 1))).ok());

  auto new_owner = open_writer(o, 0);  // init_transactions: fences and aborts the old one
  REQUIRE(new_owner->write(transition(make_trip(3, 1))).ok());

  auto late = old_owner->commit();
  CHECK(late.code() == errc::fenced);
  CHECK(old_owner->write(transition(make_trip(4, 1))).code() == errc::fenced);
  CHECK(old_owner->begin().code() == errc::fenced);

  // Trip 2 reached the broker but only read_uncommitted readers see it.
  const auto uncommitted = keys_in(topic, 0, "read_uncommitted");
  CHECK(std::count(uncommitted.begin(), uncommitted.end(), "t-2") == 1);
  CHECK(std::count(uncommitted.begin(), uncommitted.end(), "t-4") == 0);
  CHECK(keys_in(topic, 0, "read_committed") == std::vector<std::string>{"t-1", "t-3"});

  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  auto st = restore_shard_group(*s, o, 0, 30s);
  REQUIRE(st.ok());
  CHECK(trips_in(*s) == std::map<std::uint64_t, std::uint64_t>{{1, 1}, {3, 1}});
  CHECK(new_owner->write(transition(make_trip(5, 1))).ok());
}

TEST_CASE("a full restore first drops the group's cached trips the changelog lacks" *
          doctest::test_suite("broker")) {
  require_broker();
  const auto topic = make_changelog(2);
  auto o = options_for(topic, unique_prefix());
  o.trip_in_group = [](int group, std::uint64_t trip) {
    return static_cast<int>(trip / 1000) == group;
  };
  auto w = open_writer(o, 0);
  REQUIRE(w->write(transition(make_trip(1, 3))).ok());
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  {  // cached: trip 1 (older), trip 2 (group 0, gone from the changelog), trip 1001 (group 1)
    write_batch cached;
    cached.put_trip(make_trip(1, 1));
    cached.put_trip(make_trip(2, 4));
    cached.append_trip_journal(make_trip(2, 4));
    cached.put_trip(make_trip(1001, 2));
    REQUIRE(s->commit(cached).ok());
  }
  auto st = restore_shard_group(*s, o, 0, 30s);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  CHECK(st->cleared == 2);
  CHECK(trips_in(*s) == std::map<std::uint64_t, std::uint64_t>{{1, 3}, {1001, 2}});
  CHECK(s->journal_after(trip_id{2}, 0)->empty());
}

TEST_CASE("ledger chains ride in the transaction and restore into the store's ledger" *
          doctest::test_suite("broker")) {
  require_broker();
  const auto topic = make_changelog(1);
  const auto o = options_for(topic, unique_prefix());
  const auto w = open_writer(o, 0);
  transfer hold;
  hold.id = {7, 1};
  hold.debit = {account_kind::rider, 1001};
  hold.credit = {account_kind::psp_clearing, 0};
  hold.amount = 1500;
  hold.kind = transfer_kind::pending;
  auto held = transition(make_trip(1, 1));
  held.add_transfers({hold});
  REQUIRE(w->write(held).ok());
  transfer capture;  // accounts and amount left to the ledger: the whole hold
  capture.id = {7, 2};
  capture.kind = transfer_kind::post_pending;
  capture.pending_id = hold.id;
  auto captured = transition(make_trip(1, 2));
  captured.add_transfers({capture});
  REQUIRE(w->write(captured).ok());
  CHECK(keys_in(topic, 0, "read_committed") ==
        std::vector<std::string>{"t-1", "l-7-1", "t-1", "l-7-2"});

  // A node that never saw them (kill -9 of the owner): both come back from Kafka.
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  auto st = restore_shard_group(*s, o, 0, 30s);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  CHECK(st->ledger_chains == 2);
  ledger l(*s);
  CHECK(l.state_of(hold.id).value() == pending_state::posted);
  CHECK(l.find(capture.id)->has_value());
  CHECK(l.balance_of(hold.debit).debits_posted == 1500);
  CHECK(l.open_holds().empty());
  CHECK(l.check_invariants().ok());
  // A second full restore into the same store replays them: nothing changes.
  st = restore_shard_group(*s, o, 0, 30s);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  CHECK(l.balance_of(hold.debit).debits_posted == 1500);
  CHECK(l.check_invariants().ok());
}

TEST_CASE("a store keeps its changelog marks across a reopen; nullopt deletes") {
  test::temp_dir dir;
  {
    auto s = open_store(dir.sub("db"));
    CHECK_FALSE(s->load_changelog_mark(3)->has_value());
    REQUIRE(s->set_changelog_mark(3, changelog_mark{1234, 1'800'000'000'000}).ok());
    REQUIRE(s->set_changelog_mark(4, changelog_mark{7, 1}).ok());
  }
  auto s = open_store(dir.sub("db"));
  auto m = s->load_changelog_mark(3);
  REQUIRE(m.ok());
  REQUIRE(m->has_value());
  CHECK((*m)->next_offset == 1234);
  CHECK((*m)->recorded_at_ms == 1'800'000'000'000);
  REQUIRE(s->set_changelog_mark(3, std::nullopt).ok());
  CHECK_FALSE(s->load_changelog_mark(3)->has_value());
  CHECK(s->load_changelog_mark(4)->value().next_offset == 7);
}

TEST_CASE("after a clean handoff a store resumes from its mark and ends as a full restore" *
          doctest::test_suite("broker")) {
  require_broker();
  const auto topic = make_changelog(2);
  const auto o = options_for(topic, unique_prefix());
  test::temp_dir dir;
  auto cache = open_store(dir.sub("cache"));
  auto first = open_writer(o, 0);
  auto st = restore_shard_group(*cache, o, 0, 30s);
  REQUIRE(st.ok());
  CHECK_FALSE(st->resumed);
  CHECK_FALSE(first->next_offset().has_value());
  for (std::uint64_t id = 1; id <= 40; ++id) {  // the owner writes Kafka, then its store
    const auto b = transition(make_trip(id, 1));
    REQUIRE(first->write(b).ok());
    REQUIRE(cache->commit(b).ok());
  }
  REQUIRE(first->next_offset().has_value());
  CHECK(*first->next_offset() >= 40);
  // Clean handoff: everything committed is in the store; mark it.
  REQUIRE(
      cache->set_changelog_mark(0, changelog_mark{first->next_offset().value(), now_ms()}).ok());
  first.reset();

  auto second = open_writer(o, 0);  // another owner meanwhile
  REQUIRE(second->write(transition(make_trip(5, 2))).ok());
  REQUIRE(second->write(transition(make_trip(41, 1))).ok());
  write_batch erase;
  erase.erase_entity(entity_kind::trip, 7);
  REQUIRE(second->write(erase).ok());

  auto third = open_writer(o, 0);  // the first node owns it again
  st = restore_shard_group(*cache, o, 0, 30s);
  REQUIRE(st.ok());
  CHECK(st->resumed);
  CHECK(st->records == 3);                                  // only what the other owner wrote
  CHECK_FALSE(cache->load_changelog_mark(0)->has_value());  // used up

  test::temp_dir fresh_dir;
  auto fresh = open_store(fresh_dir.sub("db"));
  auto full = restore_shard_group(*fresh, o, 0, 30s);
  REQUIRE(full.ok());
  CHECK_FALSE(full->resumed);
  CHECK(full->records == 43);
  CHECK(trips_in(*cache) == trips_in(*fresh));
  CHECK(trips_in(*fresh).count(7) == 0);
  CHECK(trips_in(*fresh).at(5) == 2);

  // A mark older than resume_max_age is ignored: everything is read again.
  REQUIRE(cache->set_changelog_mark(0, changelog_mark{full->end_offset, now_ms() - 60'000}).ok());
  auto strict = o;
  strict.resume_max_age = 1s;
  st = restore_shard_group(*cache, strict, 0, 30s);
  REQUIRE(st.ok());
  CHECK_FALSE(st->resumed);
  CHECK(st->records == 43);
}
