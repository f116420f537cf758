// fraud_desk over a real store: trip events of committed batches (the store's
// commit listener) feed the accept-then-cancel rule; a flag opens one durable
// case with its rideshard.fraud-events.v1 event; decisions are logged and
// counted without personal data; admins resolve cases once; cases survive a
// restart.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "payments/fraud_desk.hpp"
#include "rideshard/persistence/topics.hpp"
#include "store_fixture.hpp"

using namespace rideshard;
using nlohmann::json;

namespace {

constexpr std::int64_t t0 = 1'750'000'000'000;

struct desk_fixture {
  test::temp_dir dir;
  std::unique_ptr<persistence::store> store = test::open_store(dir.path);
  std::int64_t now = t0;
  std::uint64_t ids = 100;
  std::vector<std::string> log;
  std::vector<fraud_decision> seen;
  std::unique_ptr<payments::fraud_desk> desk;

  desk_fixture() { open(); }
  void open() {
    desk.reset();
    payments::fraud_options o;
    o.now_ms = [this] { return now; };
    o.next_id = [this] { return ++ids; };
    o.log = [this](const std::string& l) { log.push_back(l); };
    o.observe = [this](const fraud_decision& d) { seen.push_back(d); };
    auto d = payments::fraud_desk::open(*store, std::move(o));
    REQUIRE(d.ok());
    desk = std::move(*d);
    store->set_commit_listener([this](const persistence::write_batch& b) { desk->committed(b); });
  }
  ~desk_fixture() { store->set_commit_listener(nullptr); }

  // A trip transition as the trip actor commits it: its event in the batch.
  void trip_event(std::uint64_t trip, const char* to, std::int64_t at) {
    persistence::write_batch b;
    const json ev{{"event_id", "t-" + std::to_string(trip) + "-" + to},
                  {"trip_id", trip},
                  {"rider_id", 7},
                  {"driver_id", 9},
                  {"to_state", to},
                  {"occurred_at_ms", at}};
    REQUIRE(b.add_json_event(persistence::trip_events_topic, "t-" + std::to_string(trip),
                             ev["event_id"].get<std::string>(), "rideshard.trip.x", at, ev.dump())
                .ok());
    REQUIRE(store->commit(b).ok());
  }
  std::vector<json> fraud_events() {
    auto rows = store->read_outbox(0, 1000);
    REQUIRE(rows.ok());
    std::vector<json> out;
    for (const auto& r : *rows)
      if (r.event.topic == persistence::fraud_events_topic)
        out.push_back(json::parse(r.event.payload));
    return out;
  }
};

}  // namespace

TEST_CASE("accept-then-cancel loops from committed trip events open one case") {
  desk_fixture f;
  for (std::uint64_t trip = 1; trip <= 4; ++trip) {
    const std::int64_t at = t0 + static_cast<std::int64_t>(trip) * 60'000;
    f.trip_event(trip, "accepted", at);
    f.trip_event(trip, "cancelled", at + 20'000);
  }
  f.trip_event(9, "accepted", t0);
  f.trip_event(9, "completed", t0 + 600'000);  // a finished ride is no signal
  REQUIRE(f.seen.size() == 4);                 // one decision per cancel of an accepted trip
  CHECK_FALSE(f.seen[1].flagged);
  CHECK(f.seen[2].flagged);
  CHECK(f.seen[3].flagged);
  auto open = f.desk->cases(payments::case_state::open);
  REQUIRE(open.size() == 1);  // the 4th flag joins the open case
  CHECK(open[0].rule == fraud_rule::accept_cancel_loop);
  CHECK(open[0].subject == "d-9");
  CHECK(open[0].related == "r-7");
  CHECK(open[0].count == 3);
  for (const auto& l : f.log)
    CHECK(l.rfind("event=fraud_decision rule=accept_cancel_loop", 0) == 0);
  auto events = f.fraud_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0]["event_type"] == "flagged");
  CHECK(events[0]["subject"] == "d-9");
}

TEST_CASE("card, refund and speed signals; resolution once; cases survive a restart") {
  desk_fixture f;
  for (int i = 0; i < 4; ++i) f.desk->card_added(rider_id{7}, "fp-" + std::to_string(i));
  f.desk->card_added(rider_id{8}, "fp-0");  // the same card on another account
  for (int i = 0; i < 3; ++i) f.desk->refund(rider_id{8});
  for (int i = 0; i < 3; ++i) f.desk->impossible_speed(driver_id{5});
  auto open = f.desk->cases(payments::case_state::open);
  REQUIRE(open.size() == 4);
  std::set<std::string> got;
  for (const auto& c : open) got.insert(std::string(to_string(c.rule)) + ":" + c.subject);
  CHECK(got == std::set<std::string>{"too_many_cards:r-7", "shared_card:r-8",
                                     "repeated_refunds:r-8", "gps_spoofing:d-5"});
  const auto id = open[0].id;
  CHECK(f.desk->resolve(id, payments::case_state::open, "a-1", "").code() ==
        errc::invalid_argument);
  auto done = f.desk->resolve(id, payments::case_state::cleared, "a-1", "known customer");
  REQUIRE(done.ok());
  CHECK(done->resolved_by == "a-1");
  CHECK(f.desk->resolve(id, payments::case_state::confirmed, "a-1", "").code() ==
        errc::illegal_transition);
  CHECK(f.desk->resolve(424242, payments::case_state::cleared, "a-1", "").code() ==
        errc::invalid_argument);
  auto events = f.fraud_events();
  CHECK(events.size() == 5);  // 4 flagged + 1 cleared; the note stays out of events
  for (const auto& e : events) CHECK_FALSE(e.contains("note"));
  f.open();  // restart: the queue is read back
  CHECK(f.desk->cases(payments::case_state::open).size() == 3);
  auto cleared = f.desk->cases(payments::case_state::cleared);
  REQUIRE(cleared.size() == 1);
  CHECK(cleared[0].note == "known customer");
}
