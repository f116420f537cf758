// The membership actor on CAF's deterministic test coordinator: the test plays
// two peers (their beats arrive as if over BASP, from their actors), moves the
// injected clock and fires the heartbeat timer itself. Asserts the routing
// updates a node depends on: a peer's session registry and location relay are
// routed when it comes up and withdrawn when it goes down; the owner table
// follows newer epochs, ignores stale claims, and a group whose newest claim
// is a down node's has no owner (an older claim does not come back); the
// node's directory is told each new table with the owners' directories.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include <caf/scheduler/test_coordinator.hpp>

#include "node/location_relay.hpp"
#include "node/membership.hpp"
#include "node/message_types.hpp"
#include "node/shard_directory.hpp"

using namespace rideshard;
using namespace rideshard::node;
using namespace std::chrono_literals;

namespace {

struct routes {
  std::vector<std::pair<std::uint16_t, bool>> registry;  ///< node, handle valid
  std::vector<std::pair<std::uint16_t, bool>> relay;
  /// The owner tables the directory was told: group -> (node, its directory).
  std::vector<std::map<std::uint32_t, std::pair<std::uint16_t, caf::actor>>> tables;
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
  std::shared_ptr<std::atomic<std::int64_t>> clock =
      std::make_shared<std::atomic<std::int64_t>>(1'750'000'000'000);
  cluster_board board;
  std::shared_ptr<routes> got = std::make_shared<routes>();
  caf::actor recorder;  ///< this node's registry and relay: records the routes
  caf::actor p2, p3;    ///< the peers' membership actors (beats back are ignored)
  membership_handle m;

  fixture() {
    recorder = sys.spawn(
        [](caf::event_based_actor*, std::shared_ptr<routes> r) -> caf::behavior {
          return {
              [r](registry_route& x) { r->registry.emplace_back(x.node, bool(x.registry)); },
              [r](relay_route& x) { r->relay.emplace_back(x.node, bool(x.relay)); },
              [r](group_owners& x) {
                auto& t = r->tables.emplace_back();
                for (auto& o : x.owners) t[o.group] = {o.node, o.directory};
              },
          };
        },
        got);
    auto peer = [](caf::event_based_actor*, int) -> caf::behavior { return {[](member_beat&) {}}; };
    p2 = sys.spawn(peer, 2);
    p3 = sys.spawn(peer, 3);
    cluster_options o;
    o.enabled = true;
    o.heartbeat_interval = 100ms;
    o.connection_timeout = 1000ms;
    o.version = "test";
    auto c = clock;
    m = spawn_membership(
        sys, o, 1, [c] { return c->load(); }, &board,
        membership_links{caf::actor_cast<session_registry_handle>(recorder), recorder, recorder});
    caf::anon_send(m, membership_start{"n1:4101"});
    sched.run();
  }
  ~fixture() {
    for (auto* a : {&recorder, &p2, &p3}) caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // A beat from peer `p` (node `node`) as it arrives over BASP: sent by its actor.
  void beat(const caf::actor& p, std::uint16_t node, std::uint64_t epoch,
            std::vector<std::uint32_t> groups) {
    member_beat b{node,
                  "n" + std::to_string(node) + ":410" + std::to_string(node),
                  "test",
                  1000 + node,
                  {},  // no gossip: a peer without a handle would be dialed (needs a middleman)
                  caf::actor_cast<session_registry_handle>(p),
                  p,  // its directory
                  p,
                  epoch,
                  std::move(groups)};
    caf::send_as(p, m, std::move(b));
    sched.run();
  }

  const member_status* row(std::uint16_t node) {
    rows = board.read(clock->load());
    for (const auto& r : rows)
      if (r.node == node) return &r;
    return nullptr;
  }
  std::vector<std::uint32_t> owned(std::uint16_t node) {
    const auto* r = row(node);
    REQUIRE(r != nullptr);
    return r->shard_groups;
  }
  std::vector<member_status> rows;
};

using groups = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("membership: routes follow peers up and down; the owner table follows epochs") {
  fixture fx;
  caf::anon_send(fx.m, groups_served{1, {2, 0, 1}});
  fx.sched.run();
  fx.beat(fx.p2, 2, 1, {3, 4});
  fx.beat(fx.p3, 3, 1, {5});
  CHECK(fx.owned(1) == groups{0, 1, 2});
  CHECK(fx.owned(2) == groups{3, 4});
  CHECK(fx.owned(3) == groups{5});
  // Each peer's registry and relay were routed once, when it came up.
  using routed = std::vector<std::pair<std::uint16_t, bool>>;
  CHECK(fx.got->registry == routed{{2, true}, {3, true}});
  CHECK(fx.got->relay == routed{{2, true}, {3, true}});
  // The directory has the table with each owner's directory (ours for our groups).
  using table = std::map<std::uint32_t, std::pair<std::uint16_t, caf::actor>>;
  REQUIRE_FALSE(fx.got->tables.empty());
  CHECK(fx.got->tables.back() == table{{0, {1, fx.recorder}},
                                       {1, {1, fx.recorder}},
                                       {2, {1, fx.recorder}},
                                       {3, {2, fx.p2}},
                                       {4, {2, fx.p2}},
                                       {5, {3, fx.p3}}});
  const auto told = fx.got->tables.size();
  fx.beat(fx.p2, 2, 1, {3, 4});  // nothing changed: not told again
  CHECK(fx.got->tables.size() == told);

  // Group 4 moves to node 3 in epoch 2; node 2's epoch-1 beats still claim it.
  fx.beat(fx.p3, 3, 2, {4, 5});
  fx.beat(fx.p2, 2, 1, {3, 4});
  CHECK(fx.owned(2) == groups{3});
  CHECK(fx.owned(3) == groups{4, 5});
  const auto* three = fx.row(3);
  REQUIRE(three);
  CHECK(three->groups_epoch == 2);

  // Node 3 falls silent past the connection timeout; node 2 keeps beating.
  *fx.clock += 1100;
  fx.beat(fx.p2, 2, 1, {3, 4});
  REQUIRE(fx.sched.trigger_timeout());  // the heartbeat tick
  fx.sched.run();
  three = fx.row(3);
  REQUIRE(three);
  CHECK(!three->up);
  CHECK(three->shard_groups.empty());
  // Groups 4 and 5: newest claim is the down node's: no owner, not node 2's stale claim.
  CHECK(fx.owned(2) == groups{3});
  CHECK(fx.owned(1) == groups{0, 1, 2});
  CHECK(fx.got->registry == routed{{2, true}, {3, true}, {3, false}});
  CHECK(fx.got->relay == routed{{2, true}, {3, true}, {3, false}});
  CHECK(fx.got->tables.back() == table{{0, {1, fx.recorder}},
                                       {1, {1, fx.recorder}},
                                       {2, {1, fx.recorder}},
                                       {3, {2, fx.p2}}});  // 4 and 5: no owner (handoff)

  // Node 2 is assigned group 4 in epoch 3: it owns it now.
  fx.beat(fx.p2, 2, 3, {3, 4});
  CHECK(fx.owned(2) == groups{3, 4});

  // Node 3 beats again (its connection came back): routed again, owns 5 again.
  fx.beat(fx.p3, 3, 2, {4, 5});
  CHECK(fx.owned(3) == groups{5});
  CHECK(fx.got->registry.back() == std::pair<std::uint16_t, bool>{3, true});
}
