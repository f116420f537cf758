// The node's timers on CAF's deterministic test coordinator (issue 12 item 7,
// issue 9 part 1 item 5): the trip's offer deadline, the request's TTL, the
// matcher's no-driver give-up, the batched window and passivation. Actors are
// spawned directly with a test context (no facade, so no blocking lookups);
// the parties they talk to are recorders. One clock drives everything: the
// coordinator's, which fires delayed_send timers, and the context's now_ms
// reads it. Every step runs on this thread; nothing sleeps and no check
// depends on how fast the machine is.
#include <deque>
#include <set>

#include "coordinator_fixture.hpp"

using namespace rideshard;
using namespace rideshard::node;
using namespace rideshard::test;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds offer_timeout{15'000};  // nyc.toml offer_timeout_ms
constexpr std::chrono::milliseconds request_ttl{300'000};   // nyc.toml request_ttl_ms
constexpr std::chrono::milliseconds batch_window{2'000};    // nyc.toml batch_window_ms

}  // namespace

TEST_CASE_FIXTURE(timer_fixture, "an unanswered offer times out exactly at its deadline") {
  auto matcher = recorder();
  auto rider = recorder();
  auto driver = recorder();
  const trip_id trip{101};
  auto t = spawn_trip(trip, near(0), matcher.handle, rider.handle);
  REQUIRE(matcher.box->count<dispatch_request>() == 1);
  REQUIRE(rider.box->last_status().state == trip_state::requested);

  advance(1s);  // the offer comes a second after the request
  const driver_id d{7};
  caf::anon_send(t, offer_to{d, driver.handle, 60, 1, 1000});
  run();
  REQUIRE(driver.box->count<offer_delivery>() == 1);
  const auto offered_at = now_ms();
  CHECK(driver.box->first<offer_delivery>().wire.deadline_ms == offered_at + offer_timeout.count());
  CHECK(rider.box->last_status().state == trip_state::offered);

  advance(offer_timeout - 1ms);
  CHECK(matcher.box->count<offer_closed>() == 0);
  CHECK(driver.box->count<offer_withdrawn>() == 0);
  CHECK(rider.box->last_status().state == trip_state::offered);

  advance(1ms);  // the deadline
  REQUIRE(matcher.box->count<offer_closed>() == 1);
  auto closed = matcher.box->first<offer_closed>();
  CHECK(closed.trip == trip);
  CHECK(closed.driver == d);
  CHECK_FALSE(closed.accepted);
  CHECK(closed.driver_free);  // the matcher puts the driver back
  REQUIRE(driver.box->count<offer_withdrawn>() == 1);
  CHECK(driver.box->first<offer_withdrawn>().shown.state == trip_state::expired);
  CHECK(rider.box->last_status().state == trip_state::requested);  // searching again
}

TEST_CASE_FIXTURE(timer_fixture, "an offer accepted a millisecond before its deadline stands") {
  auto matcher = recorder();
  auto rider = recorder();
  auto driver = recorder();
  const trip_id trip{102};
  auto t = spawn_trip(trip, near(0), matcher.handle, rider.handle);
  const driver_id d{8};
  caf::anon_send(t, offer_to{d, driver.handle, 60, 1, 1000});
  run();
  advance(offer_timeout - 1ms);
  trip_command accept;
  accept.kind = trip_event_kind::accept;
  accept.by = party::driver;
  accept.driver = d;
  caf::anon_send(t, accept);
  run();
  REQUIRE(rider.box->last_status().state == trip_state::accepted);
  advance(offer_timeout);  // the offer's timer fires now, for an offer that is over
  CHECK(rider.box->last_status().state == trip_state::accepted);
  CHECK(driver.box->count<offer_withdrawn>() == 0);
  REQUIRE(matcher.box->count<offer_closed>() == 1);
  CHECK(matcher.box->first<offer_closed>().accepted);
}

TEST_CASE_FIXTURE(timer_fixture, "a request nobody takes expires at its TTL, then its trip stops") {
  auto matcher = recorder();
  auto rider = recorder();
  auto directory = recorder();
  ctx->directory = directory.handle;
  const trip_id trip{103};
  auto t = spawn_trip(trip, near(0), matcher.handle, rider.handle);
  bool stopped = false;
  t->attach_functor([&stopped](const caf::error&) { stopped = true; });

  advance(request_ttl - 1ms);
  CHECK(rider.box->last_status().state == trip_state::requested);
  CHECK(matcher.box->count<trip_finished>() == 0);

  advance(1ms);
  CHECK(rider.box->last_status().state == trip_state::expired);
  CHECK(rider.box->last_receipt().has_value());
  REQUIRE(matcher.box->count<trip_finished>() == 1);  // the matcher forgets the request
  CHECK(matcher.box->first<trip_finished>().trip == trip);

  // A terminal trip lingers idle_timeout for late frames, then leaves.
  advance(ctx->opts.idle_timeout - 1ms);
  CHECK_FALSE(stopped);
  CHECK(directory.box->count<forget_atom, trip_id>() == 0);
  advance(1ms);
  CHECK(directory.box->count<forget_atom, trip_id>() == 1);
  CHECK(stopped);
}

TEST_CASE_FIXTURE(timer_fixture,
                  "with no driver in reach the trip is cancelled at no_driver_timeout") {
  ctx->opts.no_driver_timeout = 20s;
  ctx->opts.no_driver_check = 1s;
  auto rider = recorder();
  auto m = spawn_matcher();
  const trip_id trip{104};
  spawn_trip(trip, near(0), m, rider.handle);
  // No driver at all: the first search runs out to max_radius_m at once.
  CHECK(rider.box->last_status().search_radius_m == 8000);

  advance(20s - 1ms);  // checks at 1 s, 2 s, ... 19 s found it waiting less than 20 s
  CHECK(rider.box->last_status().state == trip_state::requested);

  advance(1ms);  // the check at 20 s
  auto over = rider.box->last_status();
  CHECK(over.state == trip_state::cancelled);
  CHECK(over.cancelled_by == party::system);
  CHECK(over.cancel_reason == "no_driver_available");
  REQUIRE(rider.box->last_receipt().has_value());
  CHECK(rider.box->last_receipt()->fare.total_minor == 0);  // a free cancel
}

TEST_CASE_FIXTURE(timer_fixture, "a driver freed before no_driver_timeout gets the ride") {
  ctx->opts.no_driver_timeout = 20s;
  ctx->opts.no_driver_check = 1s;
  auto rider = recorder();
  auto driver = recorder();
  auto m = spawn_matcher();
  const trip_id trip{105};
  spawn_trip(trip, near(0), m, rider.handle);
  advance(19s);
  caf::anon_send(m, driver_avail{driver_id{9}, near(500), driver.handle, true});
  run();
  REQUIRE(driver.box->count<offer_delivery>() == 1);
  CHECK(rider.box->last_status().state == trip_state::offered);
  advance(10s);  // past the give-up: the offered trip is not cancelled
  CHECK(rider.box->last_status().state != trip_state::cancelled);
}

TEST_CASE_FIXTURE(timer_fixture, "no_driver_timeout 0 leaves the request to its TTL") {
  ctx->opts.no_driver_timeout = 0ms;
  auto rider = recorder();
  auto m = spawn_matcher();
  spawn_trip(trip_id{106}, near(0), m, rider.handle);
  advance(request_ttl - 1ms);
  CHECK(rider.box->last_status().state == trip_state::requested);
  advance(1ms);
  CHECK(rider.box->last_status().state == trip_state::expired);
}

TEST_CASE_FIXTURE(timer_fixture,
                  "batched mode offers nothing before the window closes, then the best pairs") {
  for (auto& r : ctx->regions) r.mode = dispatch_mode::batched;
  auto m = spawn_matcher();
  auto d_north = recorder();
  auto d_south = recorder();
  // On one north-south line: rider a at 0 m, rider b at 200 m; a driver at
  // 100 m (between them) and one at -400 m. Offering each request its nearest
  // driver in arrival order gives a the 100 m driver and b the far one (100 +
  // 600 m); the window's assignment pairs a with -400 and b with 100 (400 +
  // 100 m).
  caf::anon_send(m, driver_avail{driver_id{11}, near(100), d_north.handle, true});
  caf::anon_send(m, driver_avail{driver_id{12}, near(-400), d_south.handle, true});
  run();
  auto a = recorder();
  auto b = recorder();
  caf::anon_send(m,
                 dispatch_request{trip_id{201}, near(0), caf::actor_cast<trip_handle>(a.handle)});
  advance(500ms);
  caf::anon_send(m,
                 dispatch_request{trip_id{202}, near(200), caf::actor_cast<trip_handle>(b.handle)});
  run();

  advance(batch_window - 500ms - 1ms);
  CHECK(a.box->count<offer_to>() == 0);
  CHECK(b.box->count<offer_to>() == 0);

  advance(1ms);  // the window opened by the first request closes
  REQUIRE(a.box->count<offer_to>() == 1);
  REQUIRE(b.box->count<offer_to>() == 1);
  CHECK(a.box->first<offer_to>().driver == driver_id{12});
  CHECK(b.box->first<offer_to>().driver == driver_id{11});
}

TEST_CASE_FIXTURE(timer_fixture,
                  "an idle driver passivates after idle_timeout, a connected one does not") {
  std::vector<std::string> passivated;
  ctx->opts.on_passivated = [&passivated](const std::string& s) { passivated.push_back(s); };
  auto directory = recorder();
  ctx->directory = directory.handle;
  const auto idle = ctx->opts.idle_timeout;

  auto idle_driver = spawn_driver(driver_id{21});
  auto connected = spawn_driver(driver_id{22});
  bool idle_gone = false;
  bool connected_gone = false;
  idle_driver->attach_functor([&idle_gone](const caf::error&) { idle_gone = true; });
  connected->attach_functor([&connected_gone](const caf::error&) { connected_gone = true; });
  attach_request att;
  att.session = session_ref{ctx->opts.node_id, 5};
  att.who = identity{"d-22", schemas::role::driver};
  caf::anon_send(connected, attach_atom::value, att);
  run();

  advance(idle - 1ms);
  CHECK(passivated.empty());
  CHECK(directory.box->count<forget_atom, driver_id, driver_handle>() == 0);

  advance(1ms);
  CHECK(passivated == std::vector<std::string>{"d-21"});
  CHECK(directory.box->count<forget_atom, driver_id, driver_handle>() == 1);
  CHECK(idle_gone);
  CHECK_FALSE(connected_gone);

  // Its connection closes 5 minutes in: idle_timeout counts from there.
  advance(5min);
  caf::anon_send(connected, detach_atom::value, std::uint64_t{5});
  run();
  advance(idle - 1ms);
  CHECK_FALSE(connected_gone);
  advance(1ms);
  CHECK(connected_gone);
  CHECK(passivated == std::vector<std::string>{"d-21", "d-22"});
}

TEST_CASE_FIXTURE(timer_fixture,
                  "batched mode: with no driver in reach the trip is cancelled too") {
  for (auto& r : ctx->regions) r.mode = dispatch_mode::batched;
  ctx->opts.no_driver_timeout = 20s;
  ctx->opts.no_driver_check = 1s;
  auto rider = recorder();
  auto m = spawn_matcher();
  spawn_trip(trip_id{203}, near(0), m, rider.handle);
  // The first window (2 s) finds nobody within batch.max_radius_m: the 20 s
  // run from there; the checks at 3 s ... 21 s find it waiting less.
  advance(batch_window + 20s - 1ms);
  CHECK(rider.box->last_status().state == trip_state::requested);
  advance(1ms);
  auto over = rider.box->last_status();
  CHECK(over.state == trip_state::cancelled);
  CHECK(over.cancelled_by == party::system);
  CHECK(over.cancel_reason == "no_driver_available");
  CHECK(rider.box->last_receipt().has_value());
}

TEST_CASE_FIXTURE(timer_fixture, "batched mode: a driver freed before the give-up gets the ride") {
  for (auto& r : ctx->regions) r.mode = dispatch_mode::batched;
  ctx->opts.no_driver_timeout = 19s;  // due at 21 s, between the windows at 20 s and 22 s
  ctx->opts.no_driver_check = 1s;
  auto rider = recorder();
  auto driver = recorder();
  auto m = spawn_matcher();
  spawn_trip(trip_id{204}, near(0), m, rider.handle);
  advance(batch_window + 18'500ms);  // 20.5 s
  caf::anon_send(m, driver_avail{driver_id{13}, near(800), driver.handle, true});
  // The check at 21 s sees the driver and waits; the window at 22 s offers.
  advance(batch_window);
  REQUIRE(driver.box->count<offer_delivery>() == 1);
  CHECK(rider.box->last_status().state == trip_state::offered);
  advance(30s);
  CHECK(rider.box->last_status().state != trip_state::cancelled);
}

namespace {

// The batched region, its matcher, and `n` drivers (recorders) at `north_m`.
struct batched_city {
  timer_fixture& f;
  caf::actor matcher;
  std::deque<recorded> drivers;  // add_driver() hands out references

  explicit batched_city(timer_fixture& fx) : f(fx) {
    for (auto& r : f.ctx->regions) r.mode = dispatch_mode::batched;
    matcher = f.spawn_matcher();
  }
  recorded& add_driver(double north_m) {
    drivers.push_back(f.recorder());
    const driver_id id{100 + drivers.size()};
    caf::anon_send(matcher, driver_avail{id, f.near(north_m), drivers.back().handle, true});
    f.run();
    return drivers.back();
  }
  static driver_id id_of(std::size_t index) { return driver_id{101 + index}; }
  /// The driver's answer to its offer of `trip` (accept or decline).
  void answer(const recorded& driver, std::size_t index, trip_event_kind kind) {
    auto o = driver.box->first<offer_delivery>();
    trip_command c;
    c.kind = kind;
    c.by = party::driver;
    c.driver = id_of(index);
    caf::anon_send(o.trip_actor, c);
    f.run();
  }
};

}  // namespace

TEST_CASE_FIXTURE(timer_fixture, "batched: a window offers each trip to a distinct driver") {
  batched_city city{*this};
  for (int i = 0; i < 5; ++i) city.add_driver(-900 + 400 * i);
  std::vector<recorded> riders;
  std::set<trip_id> trips;
  for (int i = 0; i < 4; ++i) {
    riders.push_back(recorder());
    trips.insert(trip_id{300u + i});
    spawn_trip(trip_id{300u + i}, near(-800 + 450 * i), city.matcher, riders.back().handle);
  }
  advance(batch_window);
  std::set<trip_id> offered;
  std::size_t with_offer = 0;
  for (auto& d : city.drivers) {
    const auto n = d.box->count<offer_delivery>();
    CHECK(n <= 1);
    if (n == 0) continue;
    ++with_offer;
    CHECK(offered.insert(d.box->first<offer_delivery>().wire.trip).second);
  }
  CHECK(with_offer == 4);  // the fifth driver idles
  CHECK(offered == trips);
}

TEST_CASE_FIXTURE(timer_fixture,
                  "batched: an unmatched request waits for new supply and the next window") {
  batched_city city{*this};
  auto& d1 = city.add_driver(100);
  auto r1 = recorder();
  auto r2 = recorder();
  spawn_trip(trip_id{311}, near(0), city.matcher, r1.handle);
  spawn_trip(trip_id{312}, near(50), city.matcher, r2.handle);
  advance(batch_window);
  REQUIRE(d1.box->count<offer_delivery>() == 1);  // one driver, two requests: one offer
  const trip_id first = d1.box->first<offer_delivery>().wire.trip;
  const trip_id other = first == trip_id{311} ? trip_id{312} : trip_id{311};
  city.answer(d1, 0, trip_event_kind::accept);
  auto& d2 = city.add_driver(-300);  // new supply opens a window
  advance(batch_window - 1ms);
  CHECK(d2.box->count<offer_delivery>() == 0);
  advance(1ms);
  REQUIRE(d2.box->count<offer_delivery>() == 1);
  CHECK(d2.box->first<offer_delivery>().wire.trip == other);
  CHECK(d1.box->count<offer_delivery>() == 1);
}

TEST_CASE_FIXTURE(timer_fixture, "batched: a declined trip goes to another driver, never back") {
  batched_city city{*this};
  auto& d1 = city.add_driver(100);
  auto rider = recorder();
  spawn_trip(trip_id{321}, near(0), city.matcher, rider.handle);
  advance(batch_window);
  REQUIRE(d1.box->count<offer_delivery>() == 1);
  city.answer(d1, 0, trip_event_kind::decline);
  // d1 is free and nearest again, but this request never goes back to it.
  advance(5 * batch_window);
  CHECK(d1.box->count<offer_delivery>() == 1);
  auto& d2 = city.add_driver(-1500);
  advance(batch_window);
  REQUIRE(d2.box->count<offer_delivery>() == 1);
  CHECK(d2.box->first<offer_delivery>().wire.trip == trip_id{321});
  CHECK(d1.box->count<offer_delivery>() == 1);
}

TEST_CASE_FIXTURE(timer_fixture,
                  "batched: a far rider loses at most batch_max_windows_lost windows") {
  // A rider 2 km away waits while, window after window, a new rider asks next
  // to a newly freed driver. By pickup ETA (and 14 s per second waited) the
  // newcomer would win some 10 windows; after batch_max_windows_lost lost
  // windows (nyc.toml: 6) the far rider is served first.
  batched_city city{*this};
  const std::uint32_t lost = ctx->regions.front().batch.max_windows_lost;
  REQUIRE(lost == 6);
  auto far_rider = recorder();
  spawn_trip(trip_id{400}, near(2000), city.matcher, far_rider.handle);
  std::deque<recorded> riders;
  std::size_t served_in = 0;
  for (std::size_t window = 0; window < 15 && served_in == 0; ++window) {
    riders.push_back(recorder());
    spawn_trip(trip_id{401 + window}, near(0), city.matcher, riders.back().handle);
    auto& d = city.add_driver(100);
    advance(batch_window);
    REQUIRE(d.box->count<offer_delivery>() == 1);
    if (d.box->first<offer_delivery>().wire.trip == trip_id{400})
      served_in = window + 1;
    else
      city.answer(d, window, trip_event_kind::accept);  // busy: next window, next driver
  }
  CHECK(served_in == lost + 1);
  CHECK(far_rider.box->last_status().state == trip_state::offered);
}
