// A durable node publishes the analytics topics besides trip events: quotes
// (rideshard.quotes.v1, key = the pickup's surge cell), sampled driver
// locations (rideshard.driver-locations.v1, at most one per driver per
// location_sample_ms of server time) and surge changes (rideshard.surge.v1).
// These are fire-and-forget (nobody waits for them); a later acknowledged trip
// transition is the barrier: the journal is FIFO, so an event sent before it
// is on disk by the time the rider hears `requested`.
#include <cstdlib>
#include <filesystem>

#include "node_harness.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/topics.hpp"
#include "store_fixture.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

std::vector<persistence::outbox_event> outbox(persistence::store& s, const char* topic) {
  auto rows = s.read_outbox(0, 10'000);
  REQUIRE(rows.ok());
  std::vector<persistence::outbox_event> out;
  for (auto& r : *rows)
    if (r.event.topic == topic) out.push_back(r.event);
  return out;
}

bool has(const std::string& payload, const std::string& part) {
  return payload.find(part) != std::string::npos;
}

// Every event sent to the journal before this is committed when it returns.
void barrier(harness& h, const std::string& rider) {
  auto r = h.connect(rider);
  auto st = h.request_ride(r, h.near(-2000, -2000), h.near(-2500, -2500));
  REQUIRE(st.state == trip_state::requested);
}

// The unsigned integer field `name` of a one-line JSON payload (0 if absent).
std::uint64_t number(const std::string& payload, const std::string& name) {
  auto at = payload.find("\"" + name + "\": ");
  if (at == std::string::npos) return 0;
  return std::strtoull(payload.c_str() + at + name.size() + 4, nullptr, 10);
}

std::string surge_key(lat_lng p) {
  auto cell = cell_of(p, test_regions().at(0).surge.cell_level);
  REQUIRE(cell.ok());
  return schemas::cell_key(cell->value);
}

}  // namespace

TEST_CASE("a quote puts one quote event in the outbox, keyed by its pickup cell") {
  temp_dir dir;
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  auto rider = h.connect("r-9");
  auto q = h.reply<schemas::quote>(
      rider, h.send(rider, schemas::quote_request{h.near(0), h.near(3000, 2000)}));
  barrier(h, "r-10");
  auto quotes = outbox(*store, persistence::quotes_topic);
  REQUIRE(quotes.size() == 1);
  const auto& ev = quotes.front();
  CHECK(ev.key == surge_key(h.near(0)));
  CHECK(has(ev.payload, "\"event_id\": \"" + to_string(q.id) + "\""));
  CHECK(has(ev.payload, "\"event_type\": \"issued\""));
  CHECK(has(ev.payload, "\"rider_id\": 9"));
  CHECK(has(ev.payload, "\"total_minor\": " + std::to_string(q.fare.total_minor)));
  bool ce_type = false;
  for (auto& [k, v] : ev.headers) ce_type |= k == "ce_type" && v == "rideshard.quote.issued";
  CHECK(ce_type);
  // No drivers moved, no surge: nothing on the other analytics topics.
  CHECK(outbox(*store, persistence::driver_locations_topic).empty());
  CHECK(outbox(*store, persistence::surge_topic).empty());
}

TEST_CASE("location samples: at most one event per driver per sample interval") {
  temp_dir dir;
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) {
    o.store = store.get();
    o.location_sample_ms = 10'000;
  });
  auto d1 = h.online_driver("d-1", h.near(100));  // first fix: published
  auto d2 = h.online_driver("d-2", h.near(200));
  // Many fixes within one interval (1 s apart, 9 s in all): none published.
  for (int i = 1; i <= 9; ++i) {
    *h.clock += 1000;
    for (int k = 0; k < 2; ++k) {
      auto& d = k == 0 ? d1 : d2;
      auto a = h.reply<schemas::ack>(
          d,
          h.send(d, schemas::location_batch{{h.sample(h.near(100 * (k + 1) + 5 * i), *h.clock)}}));
      CHECK(a.accepted == 1);
    }
  }
  *h.clock += 1000;  // 10 s after the first: d-1's next accepted fix is published
  auto a = h.reply<schemas::ack>(
      d1, h.send(d1, schemas::location_batch{{h.sample(h.near(150), *h.clock)}}));
  CHECK(a.accepted == 1);
  // A rejected fix (a jump no car makes) is never sampled.
  *h.clock += 20'000;
  auto bad = h.send(d2, schemas::location_batch{{h.sample(h.near(90'000), *h.clock)}});
  CHECK(h.error_of(d2, bad) == errc::impossible_jump);
  barrier(h, "r-1");
  auto locs = outbox(*store, persistence::driver_locations_topic);
  std::size_t n1 = 0, n2 = 0;
  for (auto& ev : locs) {
    CHECK(has(ev.payload, "\"event_type\": \"sampled\""));
    if (ev.key == "d-1") ++n1;
    if (ev.key == "d-2") ++n2;
  }
  CHECK(locs.size() == 3);
  CHECK(n1 == 2);
  CHECK(n2 == 1);
  // Per driver, the sequence increases; the event id is "d-<driver>-<sequence>".
  std::vector<std::uint64_t> d1_seq;
  for (auto& ev : locs)
    if (ev.key == "d-1") {
      d1_seq.push_back(number(ev.payload, "sequence"));
      CHECK(has(ev.payload, "\"event_id\": \"d-1-" + std::to_string(d1_seq.back()) + "\""));
    }
  REQUIRE(d1_seq.size() == 2);
  CHECK(d1_seq[0] < d1_seq[1]);
}

TEST_CASE("location sampling off (0) and in-memory nodes publish nothing") {
  temp_dir dir;
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) {
    o.store = store.get();
    o.location_sample_ms = 0;
  });
  auto d = h.online_driver("d-1", h.near(100));
  barrier(h, "r-1");
  CHECK(outbox(*store, persistence::driver_locations_topic).empty());
  harness mem;  // no store: no journal, nothing to publish to (and no crash)
  auto d2 = mem.online_driver("d-1", mem.near(100));
  auto r = mem.connect("r-1");
  auto q = mem.reply<schemas::quote>(
      r, mem.send(r, schemas::quote_request{mem.near(0), mem.near(3000, 2000)}));
  CHECK(q.id.valid());
}

TEST_CASE("surge: an event when a cell's multiplier changes, none while it holds") {
  temp_dir dir;
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  const auto pickup = h.near(0);
  // Demand with no supply: ten requests in the cell, no drivers. The
  // multiplier climbs in 0.1x steps as they arrive.
  for (int i = 0; i < 10; ++i) {
    auto r = h.connect("r-" + std::to_string(100 + i));
    REQUIRE(h.request_ride(r, pickup, h.near(3000, 2000)).state == trip_state::requested);
  }
  barrier(h, "r-2");
  auto surge = outbox(*store, persistence::surge_topic);
  REQUIRE(!surge.empty());
  CHECK(surge.size() <= 10);
  std::uint64_t last_seq = 0;
  long last_mult = 1000;
  for (auto& ev : surge) {
    CHECK(ev.key == surge_key(pickup));
    auto seq = number(ev.payload, "sequence");
    auto mult = number(ev.payload, "surge_per_mille");
    CHECK(seq > last_seq);     // per cell, increasing
    CHECK(mult != last_mult);  // one event per change
    last_seq = seq;
    last_mult = static_cast<long>(mult);
  }
  // Quotes at the same multiplier: quote events, no surge event.
  auto rider = h.connect("r-1");
  for (int i = 0; i < 2; ++i) {
    auto q = h.reply<schemas::quote>(
        rider, h.send(rider, schemas::quote_request{pickup, h.near(3000, 2000)}));
    CHECK(static_cast<long>(q.surge_per_mille) == last_mult);
  }
  barrier(h, "r-3");
  CHECK(outbox(*store, persistence::surge_topic).size() == surge.size());
  auto quotes = outbox(*store, persistence::quotes_topic);
  REQUIRE(quotes.size() == 2);
  CHECK(quotes[0].key == surge.front().key);
  CHECK(number(quotes[1].payload, "sequence") > number(quotes[0].payload, "sequence"));
}
