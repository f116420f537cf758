// Two cluster nodes in one process, each with its own actor system and CAF
// middleman, talking BASP over mutual TLS on 127.0.0.1 (certificates from
// cluster-config/three-node/make-certs.sh): node 1 is a whole dispatch_node,
// node 2 is its session registry and membership actor. Asserts what routing
// across nodes rests on: a frame an actor of node 2 sends to a session of
// node 1 reaches that session, in order, and a close too; a frame for a node
// nobody knows is dropped and counted; every node resolves the shard groups
// both announce into one owner table in which a stale (older epoch) claim
// loses. The waits are bounded polls of what the nodes publish, not sleeps.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "node/membership.hpp"
#include "node/message_types.hpp"
#include "node/session_registry.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::node;
using namespace rideshard::test;

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Polls `done` every 10 ms for up to `limit` (what the nodes publish has no
// notification to wait on); true as soon as it holds.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = 20s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

const member_status* row_of(const std::vector<member_status>& rows, std::uint16_t node) {
  for (const auto& r : rows)
    if (r.node == node) return &r;
  return nullptr;
}

bool owns(const std::vector<member_status>& rows, std::uint16_t node,
          const std::vector<std::uint32_t>& groups) {
  const auto* r = row_of(rows, node);
  return r && r->up && r->shard_groups == groups;
}

struct b_config : caf::actor_system_config {
  explicit b_config(const cluster_options& c) {
    add_node_message_types(*this);
    configure_cluster(*this, c);
  }
};

/// Node 1: a dispatch_node. Node 2: context, session registry, membership.
struct two_nodes {
  std::string dir;
  std::unique_ptr<dispatch_node> a;
  std::unique_ptr<b_config> b_cfg;
  std::unique_ptr<caf::actor_system> b_sys;
  context_ptr b_ctx;
  cluster_board b_board;
  membership_handle b_membership;

  cluster_options cluster_of(const std::string& name) const {
    cluster_options c;
    c.enabled = true;
    c.host = "127.0.0.1";
    c.port = 0;
    c.heartbeat_interval = 100ms;
    c.connection_timeout = 5s;
    c.tls_cert = dir + "/" + name + ".pem";
    c.tls_key = dir + "/" + name + ".key";
    c.tls_ca = dir + "/ca.pem";
    c.version = "test";
    return c;
  }

  two_nodes() {
    char tmpl[] = "/tmp/rideshard-node-cluster-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    const std::string cmd = std::string(RIDESHARD_SOURCE_DIR) +
                            "/cluster-config/three-node/make-certs.sh " + dir +
                            " node-1 node-2 >/dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);

    dispatch_options o;
    o.node_id = 1;
    o.now_ms = wall_ms;
    o.cluster = cluster_of("node-1");
    auto n = dispatch_node::create(test_regions(), std::move(o), test_verifier);
    REQUIRE(n.ok());
    a = std::move(n).value();
    const std::string a_address = a->cluster().members.front().address;
    REQUIRE(!a_address.empty());

    auto c = cluster_of("node-2");
    c.seeds = {a_address};
    b_cfg = std::make_unique<b_config>(c);
    b_sys = std::make_unique<caf::actor_system>(*b_cfg);
    b_ctx = std::make_shared<node_context>();
    b_ctx->opts.node_id = 2;
    b_ctx->opts.now_ms = wall_ms;
    b_ctx->sessions = spawn_session_registry(*b_sys, b_ctx.get());
    auto m = start_membership(*b_sys, c, 2, wall_ms, &b_board,
                              membership_links{b_ctx->sessions, {}, {}});
    REQUIRE(m.ok());
    b_membership = m->first;
    // Both see each other up: node 2 has told its registry the route to node 1's.
    REQUIRE(eventually([&] {
      const auto* one = row_of(b_board.read(wall_ms()), 1);
      const auto* two = row_of(a->cluster().members, 2);
      return one && one->up && two && two->up;
    }));
  }

  ~two_nodes() {
    caf::anon_send_exit(b_membership, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(b_ctx->sessions, caf::exit_reason::user_shutdown);
    b_membership = nullptr;
    b_ctx->sessions = nullptr;
    b_sys.reset();
    a.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

TEST_CASE("resolve_owners: the newest epoch wins a group, equal epochs the lower node") {
  auto owners = resolve_owners({{1, 5, {0, 1, 2}}, {2, 6, {1, 3}}, {3, 5, {2, 4}}});
  CHECK(owners == std::map<std::uint32_t, std::uint16_t>{{0, 1}, {1, 2}, {2, 1}, {3, 2}, {4, 3}});
  CHECK(resolve_owners({}).empty());
}

TEST_CASE("a frame from node 2 reaches a session of node 1 over BASP, in order, and a close") {
  two_nodes c;
  auto conn = std::make_shared<fake_connection>(41, gateway::endpoint::rider);
  c.a->on_open(conn);  // node 1's registry holds the connection
  const session_ref there{1, conn->id()};

  // A frame for a node nobody knows is dropped and counted on the sender's node.
  c.b_ctx->send(session_ref{9, 5}, schemas::pong{1});
  constexpr std::uint64_t frames = 200;
  for (std::uint64_t i = 1; i <= frames; ++i) c.b_ctx->send(there, schemas::pong{i}, 1000 + i);
  auto last = conn->wait<schemas::pong>(
      [](const server_message&, const schemas::pong& p) { return p.nonce == frames; }, 20s);
  REQUIRE_MESSAGE(last.has_value(), "node 1's session never got node 2's frames");
  const auto got = conn->all<schemas::pong>();
  REQUIRE(got.size() == frames);
  for (std::uint64_t i = 0; i < frames; ++i) CHECK(got[i].nonce == i + 1);
  // Stamped by node 1's registry (the session's node): reply_to travels with it.
  CHECK(last->first.reply_to == 1000 + frames);
  CHECK(c.b_ctx->stats.unrouted_total() == 1);

  // A close takes the same path: the frame sent after it arrives after it.
  c.b_ctx->close(there, "replaced by a new connection");
  c.b_ctx->send(there, schemas::pong{frames + 1});
  REQUIRE(conn->wait<schemas::pong>(
      [](const server_message&, const schemas::pong& p) { return p.nonce == frames + 1; }, 20s));
  CHECK(conn->closed());
}

TEST_CASE("both nodes resolve one owner table; a stale claim loses to a newer epoch") {
  two_nodes c;
  c.a->serve_groups(1, {2, 0, 1});
  caf::anon_send(c.b_membership, groups_served{1, {3, 4}});
  REQUIRE(eventually([&] {
    const auto on_a = c.a->cluster().members;
    const auto on_b = c.b_board.read(wall_ms());
    return owns(on_a, 1, {0, 1, 2}) && owns(on_a, 2, {3, 4}) && owns(on_b, 1, {0, 1, 2}) &&
           owns(on_b, 2, {3, 4});
  }));

  // Group 1 moves to node 2 in epoch 2 while node 1 still announces its epoch-1
  // claim (it has not heard of its revocation yet): node 2 owns it everywhere.
  caf::anon_send(c.b_membership, groups_served{2, {1, 3, 4}});
  c.a->serve_groups(1, {0, 1, 2});
  REQUIRE(eventually([&] {
    const auto on_a = c.a->cluster().members;
    const auto on_b = c.b_board.read(wall_ms());
    return owns(on_a, 1, {0, 2}) && owns(on_a, 2, {1, 3, 4}) && owns(on_b, 1, {0, 2}) &&
           owns(on_b, 2, {1, 3, 4});
  }));
  const auto* b_row = row_of(c.a->cluster().members, 2);
  REQUIRE(b_row);
  CHECK(b_row->groups_epoch == 2);

  // An older assignment arriving late at node 2 itself changes nothing.
  caf::anon_send(c.b_membership, groups_served{1, {3}});
  c.a->serve_groups(3, {0, 2});  // node 1 catches up: a later beat, after node 2's stale one
  REQUIRE(eventually([&] {
    const auto* one = row_of(c.b_board.read(wall_ms()), 1);
    return one && one->groups_epoch == 3;
  }));
  CHECK(owns(c.b_board.read(wall_ms()), 2, {1, 3, 4}));
}
