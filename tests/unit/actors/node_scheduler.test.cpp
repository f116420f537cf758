// The node's CAF scheduler settings (node/scheduler_options.hpp, [scheduler] of
// the node config): values CAF would divide by zero or spin on are refused, and
// a node whose workers never poll (they block until woken, and steal only every
// 10 s) still carries a ride from request to receipt: no actor-to-actor message
// waits for a steal.
#include "node/scheduler_options.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

/// Restores the process-wide settings when a test ends.
struct scheduler_guard {
  node::scheduler_options saved = node::process_scheduler();
  ~scheduler_guard() { (void)node::set_process_scheduler(saved); }
};

}  // namespace

TEST_CASE("scheduler settings CAF cannot run with are refused and change nothing") {
  scheduler_guard guard;
  node::scheduler_options good;
  good.relaxed_sleep = std::chrono::milliseconds(20);
  REQUIRE(node::set_process_scheduler(good).ok());

  for (auto bad : {&node::scheduler_options::aggressive_steal_interval,
                   &node::scheduler_options::moderate_steal_interval,
                   &node::scheduler_options::relaxed_steal_interval}) {
    node::scheduler_options s;
    s.*bad = 0;
    auto r = node::set_process_scheduler(s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == errc::bad_config);
    CHECK(r.err().message.find("steal interval") != std::string::npos);
  }
  node::scheduler_options never_blocks;
  never_blocks.relaxed_sleep = std::chrono::microseconds(0);
  CHECK(node::set_process_scheduler(never_blocks).code() == errc::bad_config);
  node::scheduler_options negative;
  negative.moderate_sleep = std::chrono::microseconds(-1);
  CHECK(node::set_process_scheduler(negative).code() == errc::bad_config);

  CHECK(node::process_scheduler().relaxed_sleep == std::chrono::milliseconds(20));
}

TEST_CASE("workers that never poll still carry a ride from request to receipt") {
  scheduler_guard guard;
  node::scheduler_options lazy;
  lazy.aggressive_poll_attempts = 0;
  lazy.moderate_poll_attempts = 0;
  lazy.relaxed_sleep = std::chrono::seconds(10);  // longer than any wait below
  REQUIRE(node::set_process_scheduler(lazy).ok());

  harness h;  // two workers (dispatch_options::worker_threads)
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");
  auto requested = h.request_ride(rider, h.near(0), h.near(2000, 1000));
  CHECK(requested.state == trip_state::requested);
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  CHECK(offer->trip == requested.trip);
  auto acc =
      h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{offer->trip}));
  CHECK(acc.state == trip_state::accepted);
  REQUIRE(h.status(rider, offer->trip, trip_state::accepted));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{offer->trip}));
  h.reply<schemas::trip_status>(driver,
                                h.send(driver, schemas::start_trip{offer->trip, requested.pin}));
  h.clock->fetch_add(5 * 60 * 1000);
  auto done =
      h.reply<schemas::trip_status>(driver, h.send(driver, schemas::complete_trip{offer->trip}));
  CHECK(done.state == trip_state::completed);
  CHECK(h.receipt(rider, offer->trip));
}
