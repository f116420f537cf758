// A fixture for node actors on CAF's deterministic test coordinator
// (scheduler.policy "testing"): no scheduler threads, every message runs on
// the test's thread when the test says so, and delayed_send timers fire only
// when the test advances the coordinator's clock. The node context's now_ms
// reads that same clock, so an actor's trip times and its real-time timers
// agree. Actors are spawned directly (no facade, no shard directory); the
// parties they talk to are recorders whose mailboxes the test reads.
// caf/test/dsl.hpp is not used: it needs CAF's own unit-test engine.
#pragma once

#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "node/driver_actor.hpp"
#include "node/message_types.hpp"
#include "node/region_matcher.hpp"
#include "node/shard_directory.hpp"
#include "node/trip_actor.hpp"
#include "node_harness.hpp"

namespace rideshard::test {

/// Every message a recorder got, in order.
struct inbox {
  std::vector<caf::message> got;

  /// Messages whose elements are exactly Ts.
  template <class... Ts>
  std::size_t count() const {
    std::size_t n = 0;
    for (const auto& m : got)
      if (m.match_elements<Ts...>()) ++n;
    return n;
  }
  /// The first one-element message of type T (fails the test if none).
  template <class T>
  T first() const {
    for (const auto& m : got)
      if (m.match_elements<T>()) return m.get_as<T>(0);
    FAIL("no message of the expected type");
    return T{};
  }
  /// The trip updates (update_atom, trip_update, seq) a rider or driver got.
  std::vector<node::trip_update> updates() const {
    std::vector<node::trip_update> out;
    for (const auto& m : got)
      if (m.match_elements<node::update_atom, node::trip_update, std::uint64_t>())
        out.push_back(m.get_as<node::trip_update>(1));
    return out;
  }
  schemas::trip_status last_status() const {
    auto u = updates();
    REQUIRE_FALSE(u.empty());
    return u.back().status;
  }
  std::optional<schemas::receipt> last_receipt() const {
    auto u = updates();
    REQUIRE_FALSE(u.empty());
    return u.back().receipt;
  }
};

/// A recorder actor: keeps every message; as a shard directory it lets a
/// passivating driver go (forget -> true).
struct recorded {
  caf::actor handle;
  std::shared_ptr<inbox> box;
};

inline caf::behavior recorder_actor(caf::event_based_actor* self, std::shared_ptr<inbox> box) {
  self->set_default_handler(
      [box](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        box->got.push_back(x.copy_content_to_message());
        return caf::message{};
      });
  return {
      [box](node::forget_atom a, driver_id d, node::driver_handle h) {
        box->got.push_back(caf::make_message(a, d, std::move(h)));
        return true;
      },
  };
}

struct coordinator_config : caf::actor_system_config {
  coordinator_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.inline-output", true);
    node::add_node_message_types(*this);
  }
};

struct timer_fixture {
  coordinator_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<node::node_context> ctx = std::make_shared<node::node_context>();
  lat_lng center;
  std::vector<caf::actor> spawned;

  timer_fixture() {
    ctx->regions = test_regions();
    center = cell_center(cell_of(lat_lng{40.754, -73.984}, ctx->regions.at(0).shard_level).value());
    auto* s = &sched;
    ctx->opts.now_ms = [s] {
      return t0_ms + std::chrono::duration_cast<std::chrono::milliseconds>(
                         s->clock().now().time_since_epoch())
                         .count();
    };
  }
  ~timer_fixture() {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
    sys.await_actors_before_shutdown(false);
  }
  timer_fixture(const timer_fixture&) = delete;
  timer_fixture& operator=(const timer_fixture&) = delete;

  std::int64_t now_ms() const { return ctx->opts.now_ms(); }
  /// A point `north_m` metres north of the centre of the test cell.
  lat_lng near(double north_m) const { return {center.lat + north_m / 111'195.0, center.lng}; }

  /// Runs every message that is due; no time passes.
  void run() { sched.run(); }
  /// Moves the clock `d` ahead, one timer at a time: each timer fires at its
  /// own time and its message runs before the next timer is looked at.
  void advance(caf::timespan d) {
    auto& clk = sched.clock();
    const auto target = clk.now() + d;
    run();
    while (!clk.schedule().empty() && clk.schedule().begin()->first <= target) {
      clk.current_time = std::max(clk.current_time, clk.schedule().begin()->first);
      clk.trigger_timeout();
      run();
    }
    clk.current_time = target;
    run();
  }

  recorded recorder() {
    auto box = std::make_shared<inbox>();
    auto a = sys.spawn(recorder_actor, box);
    spawned.push_back(a);
    run();
    return {a, box};
  }
  template <class Handle>
  Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    run();
    return h;
  }
  /// The matcher of the test cell's shard.
  caf::actor spawn_matcher() {
    auto key = node::shard_of(ctx->regions, center);
    REQUIRE(key);
    return caf::actor_cast<caf::actor>(
        keep(node::spawn_region_matcher(sys, ctx, key->region, key->cell, false)));
  }
  /// A new trip (requested now) of rider 1 from `pickup` to 3 km north of it.
  node::trip_handle spawn_trip(trip_id id, lat_lng pickup, const caf::actor& matcher,
                               const caf::actor& rider) {
    node::trip_init init;
    init.id = id;
    init.rider = rider_id{1};
    init.rider_actor = caf::actor_cast<node::rider_handle>(rider);
    init.pickup = pickup;
    init.dropoff = {pickup.lat + 3000 / 111'195.0, pickup.lng};
    init.matcher = caf::actor_cast<node::matcher_handle>(matcher);
    return keep(node::spawn_trip_actor(sys, ctx, std::move(init)));
  }
  node::driver_handle spawn_driver(driver_id id) {
    return keep(node::spawn_driver_actor(sys, ctx, id));
  }
};

}  // namespace rideshard::test
