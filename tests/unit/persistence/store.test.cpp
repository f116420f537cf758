// store against a real RocksDB directory: commit + reopen, atomicity, recovery
// reads, outbox order and erase, group commit under concurrent committers.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "rideshard/persistence/store.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

std::unique_ptr<store> open_store(const std::string& path, bool create = true) {
  store_options o;
  o.path = path;
  o.create_if_missing = create;
  auto s = store::open(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

trip sample_trip(std::uint64_t id, std::uint64_t seq) {
  trip t;
  t.id = trip_id{id};
  t.rider = rider_id{id + 1000};
  t.state = trip_state::requested;
  t.pickup = {52.52, 13.40};
  t.dropoff = {52.50, 13.45};
  t.pin = "1234";
  t.requested_at_ms = 1'700'000'000'000;
  t.sequence = seq;
  return t;
}

outbox_event event(const std::string& key, int n) {
  return {"test.topic",
          key,
          "{\"n\":" + std::to_string(n) + "}",
          {{"ce_id", key + "-" + std::to_string(n)}}};
}

}  // namespace

TEST_CASE("a committed batch is visible after reopen") {
  test::temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto s = open_store(path);
    write_batch b;
    auto t = sample_trip(7, 3);
    b.put_trip(t);
    b.append_trip_journal(t);
    schemas::driver_record d;
    d.id = driver_id{11};
    d.status = schemas::driver_status::online;
    d.last_seen_ms = 5;
    b.put_driver(d);
    auto ev = schemas::make_trip_event(t, schemas::trip_event_type::requested,
                                       trip_state::requested, 1'700'000'000'000);
    REQUIRE(b.add_trip_event(ev).ok());
    b.add_event(event("k", 1));
    auto r = s->commit(b);
    REQUIRE(r.ok());
    CHECK(r->first_event == 1);
    CHECK(r->events == 2);
    CHECK(s->outbox_depth() == 2);
  }
  auto s = open_store(path, false);
  auto trips = s->load_entities(entity_kind::trip);
  REQUIRE(trips.ok());
  REQUIRE(trips->size() == 1);
  CHECK(trips->front().id == 7);
  CHECK(trips->front().sequence == 3);
  auto t = schemas::decode_trip_record(trips->front().value.data(), trips->front().value.size());
  REQUIRE(t.ok());
  CHECK(t->pin == "1234");
  auto drivers = s->load_entities(entity_kind::driver);
  REQUIRE(drivers.ok());
  REQUIRE(drivers->size() == 1);
  auto d =
      schemas::decode_driver_record(drivers->front().value.data(), drivers->front().value.size());
  REQUIRE(d.ok());
  CHECK(d->status == schemas::driver_status::online);
  CHECK(s->load_entities(entity_kind::rider)->empty());
  auto one = s->load_entity(entity_kind::trip, 7);
  REQUIRE(one.ok());
  CHECK(one->has_value());
  CHECK_FALSE(s->load_entity(entity_kind::trip, 8)->has_value());
  auto j = s->journal_after(trip_id{7}, 0);
  REQUIRE(j.ok());
  REQUIRE(j->size() == 1);
  CHECK(j->front().sequence == 3);
  auto rows = s->read_outbox(0, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK(rows->at(0).event.topic == trip_events_topic);
  CHECK(rows->at(0).event.key == "t-7");
  auto decoded = schemas::decode_trip_event_json(rows->at(0).event.payload);
  REQUIRE(decoded.ok());
  CHECK(decoded->event_id == "t-7-3");
  CHECK(rows->at(1).event == event("k", 1));
  CHECK(s->outbox_depth() == 2);
  CHECK(s->next_outbox_sequence() == 3);
}

TEST_CASE("an invalid batch is rejected whole and writes nothing") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  write_batch b;
  b.put_trip(sample_trip(1, 1));
  b.add_event(event("k", 1));
  b.append_journal(trip_id{1}, 0, {1, 2, 3});  // sequence 0 is invalid
  auto r = s->commit(b);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::invalid_argument);
  CHECK(s->load_entities(entity_kind::trip)->empty());
  CHECK(s->read_outbox(0, 10)->empty());
  CHECK(s->journal_after(trip_id{1}, 0)->empty());
  CHECK(s->outbox_depth() == 0);
  CHECK(s->next_outbox_sequence() == 1);
}

TEST_CASE("a page of entities reads from its cursor either way and stays within its kind") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  write_batch b;
  // Neighbouring kinds on both sides, and ids at both ends of the range.
  b.put_entity(entity_kind::payment_method, 3, 0, {9});
  b.put_entity(entity_kind::fraud_case, 1, 0, {9});
  for (std::uint64_t id : {1ull, 2ull, 5ull, 9ull, 0xffffffffffffffffull})
    b.put_entity(entity_kind::admin_audit, id, 0, {static_cast<std::uint8_t>(id % 251)});
  REQUIRE(s->commit(b).ok());
  auto ids = [&](std::uint64_t from, std::size_t max, bool newest_first) {
    auto page = s->load_entities_page(entity_kind::admin_audit, from, max, newest_first);
    REQUIRE(page.ok());
    std::vector<std::uint64_t> out;
    for (const auto& e : *page) {
      CHECK(e.kind == entity_kind::admin_audit);
      CHECK(e.value == std::vector<std::uint8_t>{static_cast<std::uint8_t>(e.id % 251)});
      out.push_back(e.id);
    }
    return out;
  };
  using v = std::vector<std::uint64_t>;
  CHECK(ids(0, 2, false) == v{1, 2});
  CHECK(ids(2, 2, false) == v{5, 9});
  CHECK(ids(9, 10, false) == v{0xffffffffffffffffull});
  CHECK(ids(0xffffffffffffffffull, 10, false).empty());
  CHECK(ids(0, 2, true) == v{0xffffffffffffffffull, 9});
  CHECK(ids(9, 2, true) == v{5, 2});
  CHECK(ids(6, 10, true) == v{5, 2, 1});
  CHECK(ids(1, 10, true).empty());
  CHECK(ids(0, 0, true).empty());
  // A kind with no rows between two that have some.
  auto none = s->load_entities_page(entity_kind::idempotency, 0, 10, true);
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("journal replay after a snapshot sequence, and trimming") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    write_batch b;
    for (std::uint64_t id : {41, 42, 43}) b.append_journal(trip_id{id}, seq, {std::uint8_t(seq)});
    REQUIRE(s->commit(b).ok());
  }
  auto j = s->journal_after(trip_id{42}, 2);
  REQUIRE(j.ok());
  REQUIRE(j->size() == 3);
  CHECK(j->at(0).sequence == 3);
  CHECK(j->at(2).sequence == 5);
  CHECK(j->at(2).value == std::vector<std::uint8_t>{5});
  REQUIRE(s->trim_journal(trip_id{42}, 4).ok());
  CHECK(s->journal_after(trip_id{42}, 0)->size() == 1);
  CHECK(s->journal_after(trip_id{41}, 0)->size() == 5);
  CHECK(s->journal_after(trip_id{43}, 0)->size() == 5);
}

TEST_CASE("outbox order survives reopen; sequences are never reused after erase") {
  test::temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto s = open_store(path);
    for (int i = 0; i < 100; ++i) {
      write_batch b;
      b.add_event(event("k" + std::to_string(i % 7), i));
      REQUIRE(s->commit(b).ok());
    }
  }
  {
    auto s = open_store(path);
    CHECK(s->outbox_depth() == 100);
    auto rows = s->read_outbox(0, 1000);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 100);
    for (int i = 0; i < 100; ++i) {
      CHECK(rows->at(i).sequence == std::uint64_t(i + 1));
      CHECK(rows->at(i).event == event("k" + std::to_string(i % 7), i));
    }
    auto page = s->read_outbox(40, 10);
    REQUIRE(page->size() == 10);
    CHECK(page->front().sequence == 41);
    std::vector<std::uint64_t> all;
    for (const auto& r : *rows) all.push_back(r.sequence);
    REQUIRE(s->erase_outbox(all).ok());
    CHECK(s->outbox_depth() == 0);
  }
  auto s = open_store(path);
  CHECK(s->read_outbox(0, 10)->empty());
  CHECK(s->next_outbox_sequence() == 101);
  write_batch b;
  b.add_event(event("after", 0));
  auto r = s->commit(b);
  REQUIRE(r.ok());
  CHECK(r->first_event == 101);
}

TEST_CASE("events committed per topic are counted since open; an invalid batch counts none") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  CHECK(s->outbox_events_by_topic().empty());
  write_batch b;
  b.add_event(event("k", 1));
  b.add_event(event("k", 2));
  outbox_event other = event("k", 3);
  other.topic = "other.topic";
  b.add_event(other);
  REQUIRE(s->commit(b).ok());
  write_batch bad;
  outbox_event no_topic = event("k", 4);
  no_topic.topic.clear();
  bad.add_event(no_topic);
  REQUIRE_FALSE(s->commit(bad).ok());
  const std::map<std::string, std::uint64_t> want{{"test.topic", 2}, {"other.topic", 1}};
  CHECK(s->outbox_events_by_topic() == want);
  // Erasing delivered rows does not change what was committed.
  REQUIRE(s->erase_outbox_range(1, 3, 3).ok());
  CHECK(s->outbox_events_by_topic() == want);
}

TEST_CASE("a range erase removes exactly its rows, also across a reopen") {
  test::temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto s = open_store(path);
    for (int i = 0; i < 50; ++i) {
      write_batch b;
      b.add_event(event("k" + std::to_string(i % 3), i));
      REQUIRE(s->commit(b).ok());
    }
    REQUIRE(s->erase_outbox_range(1, 20, 20).ok());
    CHECK(s->outbox_depth() == 30);
    CHECK(s->read_outbox(0, 1)->front().sequence == 21);
    CHECK(s->erase_outbox_range(5, 4, 0).code() == errc::invalid_argument);
    REQUIRE(s->erase_outbox({21, 22}).ok());
    REQUIRE(s->erase_outbox_range(23, 30, 8).ok());
    CHECK(s->outbox_depth() == 20);
  }
  auto s = open_store(path);
  CHECK(s->outbox_depth() == 20);
  auto rows = s->read_outbox(0, 100);
  REQUIRE(rows->size() == 20);
  CHECK(rows->front().sequence == 31);
  CHECK(rows->back().sequence == 50);
  CHECK(rows->front().event == event("k" + std::to_string(30 % 3), 30));
}

TEST_CASE("concurrent committers: every batch lands once, outbox sequences dense and ordered") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  constexpr int threads = 4, per_thread = 50;
  std::vector<std::thread> pool;
  std::vector<std::vector<std::uint64_t>> firsts(threads);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        write_batch b;
        b.append_journal(trip_id{std::uint64_t(t + 1)}, std::uint64_t(i + 1), {std::uint8_t(i)});
        b.add_event(event("t" + std::to_string(t), i));
        b.add_event(event("t" + std::to_string(t), i));
        auto r = s->commit(b);
        if (r.ok()) firsts[t].push_back(r->first_event);
      }
    });
  for (auto& th : pool) th.join();
  auto rows = s->read_outbox(0, 10000);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == threads * per_thread * 2);
  for (std::size_t i = 0; i < rows->size(); ++i) CHECK(rows->at(i).sequence == i + 1);
  for (int t = 0; t < threads; ++t) {
    REQUIRE(firsts[t].size() == per_thread);
    // Per key (one committer per key), outbox order is commit order.
    for (int i = 0; i < per_thread; ++i) {
      const auto& row = rows->at(firsts[t][i] - 1);
      CHECK(row.event == event("t" + std::to_string(t), i));
      CHECK(rows->at(firsts[t][i]).event == row.event);
    }
    CHECK(s->journal_after(trip_id{std::uint64_t(t + 1)}, 0)->size() == per_thread);
  }
}

TEST_CASE("opening a missing store without create fails with storage_error") {
  test::temp_dir dir;
  store_options o;
  o.path = dir.sub("missing");
  o.create_if_missing = false;
  auto s = store::open(o);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == errc::storage_error);
  o.path.clear();
  CHECK(store::open(o).code() == errc::invalid_argument);
}
