// Cluster mode's owned shard groups in the shard directory: a shard or trip of a
// group this node does not serve gets no actor; group_serve makes the group
// served (and revives its trips); group_stop stops its matchers and trips and
// bumps the board's epoch (cached matcher handles are refreshed).
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "node/message_types.hpp"
#include "node/shard_directory.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::node;

namespace {

constexpr int groups = 4;

struct directory_fixture {
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.max-threads", 2);
      add_node_message_types(*this);
    }
  };
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  context_ptr ctx = std::make_shared<node_context>();
  std::shared_ptr<directory_counters> counters = std::make_shared<directory_counters>();
  directory_handle dir;

  directory_fixture() {
    ctx->regions = test::test_regions();
    ctx->opts.now_ms = [] { return std::int64_t{1'800'000'000'000}; };
    ctx->groups = std::make_unique<shard_group_board>(groups);
    // A group without an owner is refused at once (no handoff to wait for).
    ctx->opts.cluster.handoff_wait = std::chrono::milliseconds(0);
    dir = spawn_shard_directory(sys, ctx, counters);
    ctx->directory = caf::actor_cast<caf::actor>(dir);
  }
  ~directory_fixture() {
    self->request(dir, caf::infinite, stop_atom::value).receive([](bool) {}, [](caf::error&) {});
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
  }

  // The shard's matcher; invalid when there is none (`refused`: the directory
  // failed the request, its group having no owner).
  matcher_handle shard(const shard_key& key, bool* refused = nullptr) {
    matcher_handle out;
    self->request(dir, caf::infinite, shard_atom::value, key)
        .receive([&](matcher_handle& m) { out = std::move(m); },
                 [&](caf::error&) {
                   if (refused) *refused = true;
                 });
    return out;
  }
  std::vector<trip_handle> serve(int g) {
    std::vector<trip_handle> out;
    self->request(dir, caf::infinite, group_serve{g, {}})
        .receive([&](std::vector<trip_handle>& v) { out = std::move(v); },
                 [](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }
  std::uint64_t stop(int g) {
    std::uint64_t out = 0;
    self->request(dir, caf::infinite, group_stop{g, false})
        .receive([&](std::uint64_t n) { out = n; }, [](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }
};

// A shard of the first region whose group is `g` (cells on a grid of its box).
shard_key shard_in_group(const region& r, int g) {
  const auto& b = r.bounds;
  for (int i = 1; i < 40; ++i)
    for (int j = 1; j < 40; ++j) {
      const lat_lng p{b.south_west.lat + (b.north_east.lat - b.south_west.lat) * i / 40,
                      b.south_west.lng + (b.north_east.lng - b.south_west.lng) * j / 40};
      shard_key k{0, cell_of(p, r.shard_level).value()};
      if (shard_group_of(k, groups) == g) return k;
    }
  FAIL("no cell in group ", g);
  return {};
}

}  // namespace

TEST_CASE("a not clustered board serves everything; a clustered one only what it was told") {
  shard_group_board single(0);
  CHECK_FALSE(single.clustered());
  CHECK(single.serves(0));
  CHECK(single.serves(17));
  CHECK(single.serves_trip(12345));
  shard_group_board b(groups);
  CHECK(b.clustered());
  CHECK_FALSE(b.serves(1));
  const auto e0 = b.epoch();
  b.set(1, true);
  CHECK(b.serves(1));
  CHECK(b.epoch() == e0);  // serving more invalidates nothing
  CHECK(b.served() == std::vector<int>{1});
  b.set(1, false);
  CHECK_FALSE(b.serves(1));
  CHECK(b.epoch() == e0 + 1);
  b.set(groups, true);  // out of range: ignored
  CHECK_FALSE(b.serves(groups));
  CHECK(b.served().empty());
}

TEST_CASE("the directory serves a shard group only between group_serve and group_stop") {
  directory_fixture fx;
  const auto key = shard_in_group(fx.ctx->regions.at(0), 2);
  const auto other = shard_in_group(fx.ctx->regions.at(0), 3);

  bool refused = false;
  CHECK_FALSE(fx.shard(key, &refused));  // not assigned here, nor anywhere: no matcher
  CHECK(refused);
  CHECK(fx.counters->running[0] == 0);

  CHECK(fx.serve(2).empty());  // no trips to revive
  CHECK(fx.ctx->groups->serves(2));
  auto m = fx.shard(key);
  REQUIRE(m);
  CHECK(fx.shard(key) == m);     // the same matcher while served
  CHECK_FALSE(fx.shard(other));  // group 3 still elsewhere

  const auto epoch = fx.ctx->groups->epoch();
  CHECK(fx.stop(2) == 1);  // its one matcher
  CHECK_FALSE(fx.ctx->groups->serves(2));
  CHECK(fx.ctx->groups->epoch() == epoch + 1);
  CHECK_FALSE(fx.shard(key));

  // Served again: a new matcher (the old one was stopped).
  fx.serve(2);
  auto again = fx.shard(key);
  REQUIRE(again);
  CHECK(again != m);
}

TEST_CASE("a request for a shard group another node owns is answered by that node's directory") {
  directory_fixture fx;  // node 1
  // Node 2's directory (same actor system: the forwarding is the same message).
  auto ctx_b = std::make_shared<node_context>();
  ctx_b->regions = fx.ctx->regions;
  ctx_b->opts.now_ms = fx.ctx->opts.now_ms;
  ctx_b->opts.node_id = 2;
  ctx_b->groups = std::make_unique<shard_group_board>(groups);
  auto counters_b = std::make_shared<directory_counters>();
  auto dir_b = spawn_shard_directory(fx.sys, ctx_b, counters_b);
  ctx_b->directory = caf::actor_cast<caf::actor>(dir_b);
  fx.self->request(dir_b, caf::infinite, group_serve{3, {}})
      .receive([](std::vector<trip_handle>&) {}, [](caf::error& e) { FAIL(caf::to_string(e)); });
  const auto key = shard_in_group(fx.ctx->regions.at(0), 3);

  // No owner known yet: the request waits (handoff); the owner table that
  // names node 2 sends it there, and node 2's matcher comes back.
  fx.ctx->opts.cluster.handoff_wait = std::chrono::minutes(1);
  auto pending = fx.self->request(fx.dir, caf::infinite, shard_atom::value, key);
  const auto epoch = fx.ctx->groups->epoch();
  caf::anon_send(fx.dir, group_owners{{owner_route{3, 2, caf::actor_cast<caf::actor>(dir_b)}}});
  matcher_handle m;
  pending.receive([&](matcher_handle& h) { m = std::move(h); },
                  [](caf::error& e) { FAIL(caf::to_string(e)); });
  REQUIRE(m);
  CHECK(counters_b->running[0] == 1);  // spawned by the owner
  CHECK(fx.counters->running[0] == 0);
  CHECK(fx.ctx->groups->epoch() > epoch);  // cached handles of other nodes' matchers are refreshed
  matcher_handle at_b;
  fx.self->request(dir_b, caf::infinite, shard_atom::value, key)
      .receive([&](matcher_handle& h) { at_b = std::move(h); },
               [](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(at_b == m);
  CHECK(fx.shard(key) == m);  // asked again: straight to the owner, the same matcher

  // The owner left (no owner in the table) and no wait: refused.
  fx.ctx->opts.cluster.handoff_wait = std::chrono::milliseconds(0);
  caf::anon_send(fx.dir, group_owners{});
  bool refused = false;
  CHECK_FALSE(fx.shard(key, &refused));
  CHECK(refused);

  fx.self->request(dir_b, caf::infinite, stop_atom::value).receive([](bool) {}, [](caf::error&) {});
  caf::anon_send_exit(dir_b, caf::exit_reason::user_shutdown);
}
