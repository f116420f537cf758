// Location batching (node/position_buffer.*): driver actors deposit positions in
// their shard's buffer, the matcher applies them in one upsert_batch on a timer
// or before any index read. Queries never see a position older than the last
// acknowledged frame, and a withdrawal (offline) after a position always wins.
#include <sstream>
#include <string>
#include <vector>

#include "gateway/metrics.hpp"
#include "node/position_buffer.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

// Flush settings under test: at once, the default, and a timer that never
// fires during the test (only the flush before each index read applies them).
const std::vector<std::chrono::milliseconds> flush_settings{0ms, 25ms, std::chrono::minutes(10)};

struct metered {
  gateway::metrics stats;
  harness h;
  explicit metered(std::chrono::milliseconds flush)
      : h(3s, [this, flush](node::dispatch_options& o) {
          o.stats = &stats;
          o.location_flush = flush;
        }) {}
};

bool near_pos(lat_lng a, lat_lng b) { return distance_m(a, b) < 0.01; }

}  // namespace

TEST_CASE("position_buffer: last write wins per driver, withdrawals win and always fit") {
  node::position_buffer buf{2};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  // One spawn argument: CAF 0.17 keeps an empty argument tuple as a null
  // shared_ptr and binds a reference to it at start-up (UBSan: null reference).
  auto a = sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0);
  const driver_id d1{1}, d2{2}, d3{3};
  auto s = buf.put(d1, {40.75, -73.98}, a, true);
  CHECK(s.accepted);
  CHECK(s.kick);
  s = buf.put(d1, {40.76, -73.98}, a, true);  // same driver: replaces, no new kick
  CHECK(s.accepted);
  CHECK_FALSE(s.kick);
  CHECK(buf.put(d2, {40.75, -73.97}, a, false).accepted);
  CHECK_FALSE(buf.put(d3, {40.75, -73.96}, a, false).accepted);  // full: dropped
  CHECK(buf.withdraw(d3).accepted);                              // withdrawals always fit
  CHECK(buf.withdraw(d2).accepted);
  std::vector<node::position_update> out;
  buf.drain(out);
  REQUIRE(out.size() == 3);
  CHECK(buf.empty());
  CHECK(out[0].driver == d1);
  CHECK(out[0].pos.lat == doctest::Approx(40.76));
  CHECK(out[0].actor);
  CHECK(out[1].driver == d2);
  CHECK_FALSE(out[1].actor);  // tombstone
  CHECK(out[2].driver == d3);
  CHECK_FALSE(out[2].actor);
  // A drain re-arms the kick.
  s = buf.put(d1, {40.75, -73.98}, a, true);
  CHECK(s.kick);
  buf.drain(out);
  CHECK(out.size() == 1);
  CHECK(buf.put(d1, {40.75, -73.98}, a, false).accepted);
  auto c = buf.stats();
  CHECK(c.dropped == 1);
  CHECK(c.flushes == 2);
  CHECK(c.drained == 4);
  CHECK(c.coalesced == 2);  // d1 moved, d2 withdrawn
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("flush_schedule: a short timer only while a request waits, one of each kind armed") {
  using clock = node::flush_schedule::clock;
  const auto soon = std::chrono::milliseconds(25), late = std::chrono::milliseconds(1000);
  node::flush_schedule sched{soon, late};
  const clock::time_point t0{};
  // Nobody waits: the first deposit arms the long timer, the next ones nothing.
  auto d = sched.on_deposit(t0, false);
  REQUIRE(d);
  CHECK(*d == late);
  CHECK_FALSE(sched.on_deposit(t0 + 10ms, false).has_value());
  // A request begins to wait: the long timer is too late for it, a short one is armed once.
  d = sched.on_deposit(t0 + 20ms, true);
  REQUIRE(d);
  CHECK(*d == soon);
  CHECK_FALSE(sched.on_deposit(t0 + 30ms, true).has_value());
  CHECK_FALSE(sched.on_deposit(t0 + 30ms, false).has_value());
  // The short timer's flush disarms only the short kind (the long one is not due).
  sched.on_timed_flush(t0 + 45ms);
  CHECK_FALSE(sched.on_deposit(t0 + 50ms, false).has_value());
  d = sched.on_deposit(t0 + 50ms, true);
  REQUIRE(d);
  CHECK(*d == soon);
  // A flush before any timer is due disarms nothing; the long one's flush disarms it.
  sched.on_timed_flush(t0 + 60ms);
  CHECK_FALSE(sched.on_deposit(t0 + 61ms, true).has_value());
  sched.on_timed_flush(t0 + 1000ms);
  d = sched.on_deposit(t0 + 1001ms, false);
  REQUIRE(d);
  CHECK(*d == late);
  // A long timer due within `soon` serves a waiting request.
  CHECK_FALSE(sched.on_deposit(t0 + 1990ms, true).has_value());
  // Flush right away (location_flush 0): a timer of 0 per flush cycle.
  node::flush_schedule now{0ms, 0ms};
  d = now.on_deposit(t0, false);
  REQUIRE(d);
  CHECK(d->count() == 0);
  CHECK_FALSE(now.on_deposit(t0, true).has_value());
  now.on_timed_flush(t0);
  CHECK(now.on_deposit(t0, true).has_value());
}

TEST_CASE("many location frames from many drivers: nearby sees every latest position") {
  for (auto flush : flush_settings) {
    CAPTURE(flush.count());
    harness h(3s, [flush](node::dispatch_options& o) { o.location_flush = flush; });
    constexpr int drivers = 30;
    constexpr int frames = 8;
    std::vector<fake_ptr> conns;
    std::vector<lat_lng> start;
    for (int i = 0; i < drivers; ++i) {
      start.push_back(h.near(-900 + 60.0 * i, -400 + 25.0 * i));
      conns.push_back(h.online_driver("d-" + std::to_string(100 + i), start.back()));
    }
    // Every driver sends `frames` frames (pipelined, without waiting for acks),
    // each moving 20 m north-east in 1 s; the last frame carries two samples.
    std::vector<std::vector<std::uint64_t>> seqs(drivers);
    std::vector<lat_lng> last(drivers);
    const std::int64_t t = h.clock->load();
    for (int f = 1; f <= frames; ++f) {
      for (int i = 0; i < drivers; ++i) {
        auto p = [&](int step) {
          return lat_lng{start[i].lat + step * 14.0 / 111'195.0,
                         start[i].lng + step * 14.0 / 84'300.0};
        };
        schemas::location_batch b{{h.sample(p(2 * f - 1), t + (2 * f - 1) * 500)}};
        if (f == frames) b.samples.push_back(h.sample(p(2 * f), t + 2 * f * 500));
        last[i] = b.samples.back().pos;
        seqs[i].push_back(h.send(conns[i], std::move(b)));
      }
      h.clock->store(t + f * 1000);
    }
    for (int i = 0; i < drivers; ++i)
      for (auto seq : seqs[i]) CHECK(h.reply<schemas::ack>(conns[i], seq).accepted >= 1);
    // Acknowledged frames are visible to the next query, whatever the flush timer.
    auto hits = h.node->nearby(h.center.lat, h.center.lng, 3000, 100);
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == drivers);
    for (const auto& n : *hits) {
      const auto i = static_cast<int>(n.id.value) - 100;
      REQUIRE(i >= 0);
      REQUIRE(i < drivers);
      CHECK_MESSAGE(near_pos(n.pos, last[i]), "driver ", i, " is at a stale position");
    }
  }
}

TEST_CASE("a driver who goes offline right after a location frame is never seen nor offered") {
  for (auto flush : flush_settings) {
    CAPTURE(flush.count());
    metered m(flush);
    auto& h = m.h;
    auto far = h.online_driver("d-1", h.near(1500));  // the only driver left to offer
    auto gone = h.online_driver("d-2", h.near(900));
    // Two frames moving d-2 next to the pickup, then go_offline, all pipelined:
    // the withdrawal lands in the same buffer after the positions and wins.
    const auto t = h.clock->load();
    h.clock->store(t + 2000);
    auto s1 = h.send(gone, schemas::location_batch{{h.sample(h.near(850), t + 1000)}});
    auto s2 = h.send(gone, schemas::location_batch{{h.sample(h.near(800), t + 2000)}});
    auto s3 = h.send(gone, schemas::go_offline{});
    CHECK(h.reply<schemas::ack>(gone, s1).accepted == 1);
    CHECK(h.reply<schemas::ack>(gone, s2).accepted == 1);
    h.reply<schemas::ack>(gone, s3);
    auto hits = h.node->nearby(h.center.lat, h.center.lng, 3000, 10);
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == 1);
    CHECK(hits->front().id == driver_id{1});
    // A ride at the pickup goes to d-1 (1.5 km away, d-2 was last at 800 m) at
    // the first attempt: the matcher never offered d-2 (it would decline as busy).
    auto rider = h.connect("r-1");
    auto req = h.request_ride(rider, h.near(0), h.near(-2000));
    auto offer = h.next_offer(far);
    REQUIRE(offer.has_value());
    CHECK(offer->trip == req.trip);
    CHECK(gone->all<schemas::offer>().empty());
    const auto text = m.stats.render_text();
    CHECK(series(text, "rideshard_offers_made_total") == 1);
    CHECK(series(text, "rideshard_offer_outcomes_total{outcome=\"busy\"}") <= 0);
  }
}

TEST_CASE("a driver back online after going offline is indexed at its latest position") {
  harness h(3s, [](node::dispatch_options& o) { o.location_flush = std::chrono::minutes(10); });
  auto d = h.online_driver("d-5", h.near(200));
  const auto t = h.clock->load();
  h.clock->store(t + 1000);
  auto s1 = h.send(d, schemas::go_offline{});
  auto s2 = h.send(d, schemas::location_batch{{h.sample(h.near(250), t + 1000)}});
  auto s3 = h.send(d, schemas::go_online{});
  h.reply<schemas::ack>(d, s1);
  CHECK(h.reply<schemas::ack>(d, s2).accepted == 1);
  h.reply<schemas::ack>(d, s3);
  // go_online acks before announcing: a ride request proves it is indexed.
  auto rider = h.connect("r-5");
  auto req = h.request_ride(rider, h.near(0), h.near(-2000));
  auto offer = h.next_offer(d);
  REQUIRE(offer.has_value());
  CHECK(offer->trip == req.trip);
}
