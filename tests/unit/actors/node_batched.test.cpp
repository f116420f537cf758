// Batched matching in the node ([matching] mode = "batched") through the
// facade: declines move on, unmatched requests wait for the next window. The
// window's assignment is tested deterministically in actors.node_timers.
#include <fstream>
#include <sstream>

#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

/// The harness, but its node runs the regions in batched mode. What a window
/// decides when several requests share it (the assignment, distinct drivers)
/// is tested on CAF's test coordinator (actors.node_timers), where the test
/// decides which requests share a window; the cases here hold however the
/// node's real-time windows fall.
void make_batched(harness& h, std::int64_t window_ms = 300) {
  h.node.reset();
  node::dispatch_options o;
  auto c = h.clock;
  o.now_ms = [c] { return c->load(); };
  o.offer_timeout = 30s;  // no offer times out while a test looks at them
  auto regions = test_regions();
  for (auto& r : regions) {
    r.mode = dispatch_mode::batched;
    r.batch_window_ms = window_ms;
  }
  auto n = node::dispatch_node::create(std::move(regions), std::move(o), test_verifier);
  REQUIRE(n.ok());
  h.node = std::move(n).value();
}

}  // namespace

TEST_CASE("region config: [matching] mode parses, defaults to sequential, rejects typos") {
  auto r = load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
  REQUIRE(r.ok());
  CHECK(r->mode == dispatch_mode::sequential);
  CHECK(r->batch_window_ms == 2000);
  std::ifstream in(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const auto at = text.find("mode = \"sequential\"");
  REQUIRE(at != std::string::npos);
  auto batched = text;
  batched.replace(at, 19, "mode = \"batched\"");
  auto b = parse_region(batched, "batched.toml");
  REQUIRE(b.ok());
  CHECK(b->mode == dispatch_mode::batched);
  auto typo = text;
  typo.replace(at, 19, "mode = \"greedy\"");
  auto t = parse_region(typo, "typo.toml");
  REQUIRE_FALSE(t.ok());
  CHECK(t.err().message.find("matching.mode") != std::string::npos);
}

TEST_CASE("batched: an unmatched request waits for the next window and supply") {
  harness h;
  make_batched(h);
  auto d1 = h.online_driver("d-1", h.near(100));
  auto r1 = h.connect("r-1");
  auto r2 = h.connect("r-2");
  const auto t1 = h.request_ride(r1, h.near(0), h.near(2000));
  const auto t2 = h.request_ride(r2, h.near(50), h.near(2000));
  auto o = h.next_offer(d1);  // one driver, two requests: one offer
  REQUIRE(o);
  const trip_id other = o->trip == t1.trip ? t2.trip : t1.trip;
  h.reply<schemas::trip_status>(d1, h.send(d1, schemas::accept_offer{o->trip}));
  auto d2 = h.online_driver("d-2", h.near(-300));  // new supply: the waiting one goes
  auto o2 = h.next_offer(d2);
  REQUIRE(o2);
  CHECK(o2->trip == other);
  CHECK(d1->all<schemas::offer>().size() == 1);
}

TEST_CASE("batched: a declined trip goes to another driver, never back") {
  harness h;
  make_batched(h);
  auto d1 = h.online_driver("d-1", h.near(100));
  auto r1 = h.connect("r-1");
  const auto t = h.request_ride(r1, h.near(0), h.near(2000));
  auto o = h.next_offer(d1);
  REQUIRE(o);
  CHECK(o->trip == t.trip);
  h.reply<schemas::ack>(d1, h.send(d1, schemas::decline_offer{t.trip, "no"}));
  // d-1 is free and nearest again, but this request never goes back to it.
  auto d2 = h.online_driver("d-2", h.near(-1500));
  auto o2 = h.next_offer(d2);
  REQUIRE(o2);
  CHECK(o2->trip == t.trip);
  CHECK(d1->all<schemas::offer>().size() == 1);
}
