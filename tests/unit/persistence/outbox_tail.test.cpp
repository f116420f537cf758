// The outbox's in-memory tail (store::keep_outbox_tail, used by the relay): a
// reader moving forward gets exactly the rows RocksDB holds, in order, with no
// gap or duplicate — across the tail's bound, a re-read from the head, rows
// committed before the tail was turned on, and rows dropped by retention.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"
#include "store_support.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using rideshard::test::open_store;

namespace {

outbox_event event_n(const char* topic, int n) {
  return {topic, "k" + std::to_string(n), "{\"n\":" + std::to_string(n) + "}", {{"h", "v"}}};
}

void commit_n(store& s, int from, int to, const char* topic = trip_events_topic) {
  for (int n = from; n < to; ++n) {
    write_batch b;
    b.add_event(event_n(topic, n));
    REQUIRE(s.commit(b).ok());
  }
}

/// Reads forward from `after` in steps of `step` rows until nothing is left.
std::vector<outbox_row> read_all(store& s, std::uint64_t after, std::size_t step) {
  std::vector<outbox_row> out;
  for (int guard = 0; guard < 10000; ++guard) {
    auto rows = s.read_outbox(after, step);
    REQUIRE(rows.ok());
    if (rows->empty()) break;
    for (auto& r : *rows) {
      after = r.sequence;
      out.push_back(std::move(r));
    }
  }
  return out;
}

/// Rows n = from..to-1 of commit_n, with consecutive sequences.
void check_rows(const std::vector<outbox_row>& rows, int from, int to) {
  REQUIRE(rows.size() == static_cast<std::size_t>(to - from));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].event == event_n(rows[i].event.topic.c_str(), from + static_cast<int>(i)));
    if (i > 0) CHECK(rows[i].sequence == rows[i - 1].sequence + 1);
  }
}

}  // namespace

TEST_CASE("a forward reader gets every row once, from memory and from RocksDB alike") {
  rideshard::test::temp_dir dir;
  auto s = open_store(dir.path());
  commit_n(*s, 0, 5);  // before the tail: RocksDB only
  s->keep_outbox_tail(8);
  commit_n(*s, 5, 25);  // more than the tail holds: its oldest rows leave memory
  check_rows(read_all(*s, 0, 3), 0, 25);

  // The reader is at the end; new rows come from memory.
  const auto end = s->next_outbox_sequence() - 1;
  commit_n(*s, 25, 30);
  auto fresh = read_all(*s, end, 2);
  check_rows(fresh, 25, 30);
  CHECK(fresh.front().sequence == end + 1);

  // A re-read from the head (the relay after a failed delivery) still sees all.
  check_rows(read_all(*s, 0, 7), 0, 30);
}

TEST_CASE("erased rows are not read again, and dropped analytics rows are not served") {
  rideshard::test::temp_dir dir;
  auto s = open_store(dir.path());
  s->keep_outbox_tail(100);
  commit_n(*s, 0, 10);
  auto first = read_all(*s, 0, 4);
  check_rows(first, 0, 10);
  REQUIRE(s->erase_outbox_range(first.front().sequence, first.back().sequence, 10).ok());
  CHECK(read_all(*s, 0, 4).empty());

  // Retention drops analytics rows while they are still in the tail.
  commit_n(*s, 10, 20, driver_locations_topic);
  analytics_retention keep_none;
  keep_none.max_rows = 0;
  auto pass = s->drop_analytics(keep_none, std::chrono::steady_clock::now());
  REQUIRE(pass.ok());
  CHECK(pass->dropped_by_size == 10);
  CHECK(read_all(*s, first.back().sequence, 4).empty());
  commit_n(*s, 20, 23);
  check_rows(read_all(*s, first.back().sequence, 4), 20, 23);
}

TEST_CASE("turning the tail off reads everything from RocksDB") {
  rideshard::test::temp_dir dir;
  auto s = open_store(dir.path());
  s->keep_outbox_tail(4);
  commit_n(*s, 0, 6);
  s->keep_outbox_tail(0);
  commit_n(*s, 6, 9);
  check_rows(read_all(*s, 0, 5), 0, 9);
}
