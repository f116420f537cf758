// Outbox retention for the embedded default (no relay): analytics rows (driver
// locations, quotes, surge) are dropped by age and by count, oldest first; trip
// events never are; the bookkeeping follows relay erases and survives a reopen.
// The clock is injected: drop_analytics() takes `now`.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"
#include "store_support.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using rideshard::test::open_store;

namespace {

outbox_event on(const char* topic, int n) {
  return {topic, "k" + std::to_string(n), "{\"n\":" + std::to_string(n) + "}", {}};
}

/// Commits n rounds of: one trip event, one location, one quote, one surge event.
void commit_rounds(store& s, int from, int to) {
  for (int n = from; n < to; ++n) {
    write_batch b;
    b.add_event(on(trip_events_topic, n));
    b.add_event(on(driver_locations_topic, n));
    b.add_event(on(quotes_topic, n));
    b.add_event(on(surge_topic, n));
    REQUIRE(s.commit(b).ok());
  }
}

std::size_t rows_on(store& s, const char* topic) {
  auto rows = s.read_outbox(0, 1'000'000);
  REQUIRE(rows.ok());
  std::size_t n = 0;
  for (const auto& r : *rows) n += r.event.topic == topic;
  return n;
}

}  // namespace

TEST_CASE("analytics topics are the three analytics streams, not trip events") {
  CHECK(is_analytics_topic(driver_locations_topic));
  CHECK(is_analytics_topic(quotes_topic));
  CHECK(is_analytics_topic(surge_topic));
  CHECK_FALSE(is_analytics_topic(trip_events_topic));
  CHECK_FALSE(is_analytics_topic("rideshard.payments.v1"));
}

TEST_CASE("rows older than max_age are dropped; trip events stay") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  commit_rounds(*s, 0, 10);
  CHECK(s->outbox_depth() == 40);
  CHECK(s->analytics_depth() == 30);
  const analytics_retention policy{10min, 1000};

  auto young = s->drop_analytics(policy, steady::now());
  REQUIRE(young.ok());
  CHECK(young->dropped_by_age + young->dropped_by_size == 0);

  auto old = s->drop_analytics(policy, steady::now() + 11min);
  REQUIRE(old.ok());
  CHECK(old->dropped_by_age == 30);
  CHECK(old->dropped_by_size == 0);
  CHECK(s->analytics_depth() == 0);
  CHECK(s->outbox_depth() == 10);
  CHECK(rows_on(*s, trip_events_topic) == 10);
  CHECK(rows_on(*s, driver_locations_topic) == 0);
  CHECK(s->oldest_analytics_age(steady::now() + 1h).count() == 0);
}

TEST_CASE("beyond max_rows the oldest analytics rows go first") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  commit_rounds(*s, 0, 20);  // 60 analytics rows
  auto pass = s->drop_analytics({10min, 15}, steady::now());
  REQUIRE(pass.ok());
  CHECK(pass->dropped_by_size == 45);
  CHECK(s->analytics_depth() == 15);
  CHECK(s->outbox_depth() == 20 + 15);
  // The newest five rounds are what is left of the analytics.
  auto rows = s->read_outbox(0, 1000);
  REQUIRE(rows.ok());
  for (const auto& r : *rows)
    if (is_analytics_topic(r.event.topic)) CHECK(std::stoi(r.event.key.substr(1)) >= 15);
  CHECK(rows_on(*s, trip_events_topic) == 20);
}

TEST_CASE("relay erases and a reopen keep the analytics count exact") {
  test::temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto s = open_store(path);
    commit_rounds(*s, 0, 10);
    // A relay delivered rows 1..8 (two rounds) and then row 12 on its own.
    REQUIRE(s->erase_outbox_range(1, 8, 8).ok());
    REQUIRE(s->erase_outbox({12}).ok());
    CHECK(s->analytics_depth() == 30 - 6 - 1);
    CHECK(s->outbox_depth() == 40 - 9);
  }
  auto s = open_store(path);
  CHECK(s->analytics_depth() == 23);
  CHECK(s->outbox_depth() == 31);
  // Rows found at open count from the open: not yet old, but bounded by count.
  auto pass = s->drop_analytics({10min, 3}, steady::now());
  REQUIRE(pass.ok());
  CHECK(pass->dropped_by_size == 20);
  CHECK(s->analytics_depth() == 3);
  CHECK(s->outbox_depth() == 11);
  commit_rounds(*s, 10, 11);
  CHECK(s->analytics_depth() == 6);
}
