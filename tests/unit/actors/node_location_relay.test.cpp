// location_relay on CAF's deterministic test coordinator (no threads, time
// only moves when the test triggers a timer): updates for another node leave
// in one bundle per destination node, at max_batch or at the end of the
// window, never one message per update; per driver in order; updates for this
// node's matchers go straight to them; a node without a route drops and counts.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <vector>

#include <caf/scheduler/test_coordinator.hpp>

#include "node/location_relay.hpp"
#include "node/message_types.hpp"

using namespace rideshard;
using namespace rideshard::node;

namespace {

struct recorded {
  std::vector<location_bundle> bundles;                     ///< what a fake peer relay got
  std::map<std::uint64_t, std::vector<double>> by_matcher;  ///< lat of each avail, per sink
};

struct fixture {
  struct config : caf::actor_system_config {
    config() {
      add_node_message_types(*this);
      set("scheduler.policy", caf::atom("testing"));
    }
  };
  config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  std::shared_ptr<location_relay_counters> counters = std::make_shared<location_relay_counters>();
  location_relay_handle relay;
  caf::actor peer;  ///< stands for node 2's relay: records bundles

  fixture() {
    relay = spawn_location_relay(sys, location_relay_options{1, 4, std::chrono::milliseconds(5)},
                                 counters);
    peer = sys.spawn(
        [](caf::event_based_actor*, std::shared_ptr<recorded> r) -> caf::behavior {
          return {[r](location_bundle& b) { r->bundles.push_back(std::move(b)); }};
        },
        rec);
    caf::anon_send(relay, relay_route{2, caf::actor_cast<location_relay_handle>(peer)});
    sched.run();
  }
  std::vector<caf::actor> sinks;

  ~fixture() {
    rec->bundles.clear();  // they hold matcher handles of the sinks
    caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
    for (auto& a : sinks) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // A matcher stand-in that records the latitude of every update it gets.
  matcher_handle sink(std::uint64_t tag) {
    auto a = sys.spawn(
        [](caf::event_based_actor*, std::shared_ptr<recorded> r, std::uint64_t t) -> caf::behavior {
          return {[r, t](driver_avail& d) { r->by_matcher[t].push_back(d.pos.lat); }};
        },
        rec, tag);
    sinks.push_back(a);
    return caf::actor_cast<matcher_handle>(a);
  }

  void out(std::uint16_t node, const matcher_handle& m, double lat) {
    caf::anon_send(
        relay, location_out{node, m, driver_avail{driver_id{7}, lat_lng{lat, -73.98}, {}, false}});
  }

  std::size_t updates_in_bundles() const {
    std::size_t n = 0;
    for (const auto& b : rec->bundles)
      for (const auto& p : b.parts) n += p.avails.size();
    return n;
  }
};

}  // namespace

TEST_CASE("updates for another node wait for the window, then leave as one bundle") {
  fixture fx;
  auto m1 = fx.sink(1);
  auto m2 = fx.sink(2);
  fx.out(2, m1, 40.1);
  fx.out(2, m2, 40.2);
  fx.out(2, m1, 40.3);
  fx.sched.run();
  CHECK(fx.rec->bundles.empty());  // below max_batch: nothing leaves before the window ends
  REQUIRE(fx.sched.trigger_timeout());
  fx.sched.run();
  REQUIRE(fx.rec->bundles.size() == 1);
  const auto& b = fx.rec->bundles.front();
  REQUIRE(b.parts.size() == 2);  // grouped by matcher, each handle once
  CHECK(b.parts[0].matcher == m1);
  REQUIRE(b.parts[0].avails.size() == 2);
  CHECK(b.parts[0].avails[0].pos.lat == 40.1);
  CHECK(b.parts[0].avails[1].pos.lat == 40.3);
  CHECK(b.parts[1].matcher == m2);
  CHECK(fx.counters->sent == 3);
  CHECK(fx.counters->bundles == 1);
  CHECK(!fx.sched.trigger_timeout());  // one timer per window, none left
}

TEST_CASE("a full buffer leaves at once; a stale window timer flushes nothing early") {
  fixture fx;
  auto m = fx.sink(1);
  for (int i = 0; i < 9; ++i) fx.out(2, m, 40.0 + i * 0.01);
  fx.sched.run();
  // max_batch 4: two full bundles left without any timer; the ninth waits.
  REQUIRE(fx.rec->bundles.size() == 2);
  CHECK(fx.updates_in_bundles() == 8);
  // The timers of the two full windows find them flushed (nothing leaves);
  // the third window's timer sends update 9.
  while (fx.sched.trigger_timeout()) fx.sched.run();
  REQUIRE(fx.rec->bundles.size() == 3);
  CHECK(fx.updates_in_bundles() == 9);
  std::vector<double> lats;
  for (const auto& b : fx.rec->bundles)
    for (const auto& p : b.parts)
      for (const auto& a : p.avails) lats.push_back(a.pos.lat);
  for (std::size_t i = 1; i < lats.size(); ++i) CHECK(lats[i - 1] < lats[i]);  // in order
}

TEST_CASE("a driver's actor handle crosses once per route; the receiver puts it back") {
  fixture fx;
  auto m = fx.sink(1);
  auto driver =
      fx.sys.spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; }, 0);
  fx.sinks.push_back(driver);
  for (int i = 0; i < 3; ++i)
    caf::anon_send(
        fx.relay, location_out{2, m, driver_avail{driver_id{7}, {40.0 + i, -73.9}, driver, false}});
  fx.sched.run();
  REQUIRE(fx.sched.trigger_timeout());
  fx.sched.run();
  REQUIRE(fx.rec->bundles.size() == 1);
  const auto& avails = fx.rec->bundles.front().parts.at(0).avails;
  REQUIRE(avails.size() == 3);
  CHECK(avails[0].actor == driver);  // first update: the handle
  CHECK(!avails[1].actor);           // later ones: the receiver knows it
  CHECK(!avails[2].actor);

  // The receiving side fills it in before its matcher sees the update.
  auto seen = std::make_shared<std::vector<caf::actor>>();
  auto checker = fx.sys.spawn(
      [](caf::event_based_actor*, std::shared_ptr<std::vector<caf::actor>> v) -> caf::behavior {
        return {[v](driver_avail& d) { v->push_back(d.actor); }};
      },
      seen);
  fx.sinks.push_back(checker);
  auto cm = caf::actor_cast<matcher_handle>(checker);
  auto bundle = fx.rec->bundles.front();
  for (auto& p : bundle.parts) p.matcher = cm;
  caf::anon_send(fx.relay, std::move(bundle));
  fx.sched.run();
  REQUIRE(seen->size() == 3);
  for (const auto& a : *seen) CHECK(a == driver);

  // A new relay on node 2 (restarted) gets the handle again.
  caf::anon_send(fx.relay, relay_route{2, caf::actor_cast<location_relay_handle>(checker)});
  caf::anon_send(fx.relay, relay_route{2, caf::actor_cast<location_relay_handle>(fx.peer)});
  caf::anon_send(fx.relay,
                 location_out{2, m, driver_avail{driver_id{7}, {45.0, -73.9}, driver, false}});
  fx.sched.run();
  while (fx.sched.trigger_timeout()) fx.sched.run();
  REQUIRE(fx.rec->bundles.size() == 2);
  CHECK(fx.rec->bundles.back().parts.at(0).avails.at(0).actor == driver);
  fx.rec->bundles.clear();
}

TEST_CASE("a bundle fans out to its matchers; own-node updates skip the buffer; no route drops") {
  fixture fx;
  auto m1 = fx.sink(1);
  auto m2 = fx.sink(2);
  location_bundle b;
  b.parts.push_back({m1,
                     {driver_avail{driver_id{1}, {40.5, -73.9}, {}, true},
                      driver_avail{driver_id{2}, {40.6, -73.9}, {}, false}}});
  b.parts.push_back({m2, {driver_avail{driver_id{3}, {40.7, -73.9}, {}, false}}});
  caf::anon_send(fx.relay, std::move(b));
  fx.out(1, m2, 40.8);  // this node's own matcher: delivered now, no window
  fx.out(3, m1, 41.0);  // node 3: no route
  fx.sched.run();
  CHECK(fx.rec->by_matcher[1] == std::vector<double>{40.5, 40.6});
  CHECK(fx.rec->by_matcher[2] == std::vector<double>{40.7, 40.8});
  CHECK(fx.counters->received == 3);
  CHECK(fx.counters->dropped == 1);
  CHECK(fx.rec->bundles.empty());
  CHECK(!fx.sched.trigger_timeout());

  // A route withdrawn (node down) drops what its buffer held, counted.
  fx.out(2, m1, 40.9);
  fx.sched.run();
  caf::anon_send(fx.relay, relay_route{2, {}});
  fx.sched.run();
  CHECK(fx.counters->dropped == 2);
  while (fx.sched.trigger_timeout()) fx.sched.run();
  CHECK(fx.rec->bundles.empty());
}
