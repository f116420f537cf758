// shard_group_host against a real broker (test suite "broker", run by
// kafka.shard_group_host under tests/system/kafka/with_kafka.sh; fails without
// one): two nodes' hosts hand shard groups back and forth; each takes over the
// other's trips, a node's write to a group it gave away is refused, and a group
// that comes back is restored from the mark left at its clean handoff.
#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "kafka_support.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/shard_group_host.hpp"
#include "temp_dir.hpp"
#include "trip_fixture.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using namespace rideshard::test::kafka;
using namespace std::chrono_literals;

namespace {

constexpr int groups = 4;

/// Which node serves which shard group, from the hosts' callbacks; a serve of a
/// group someone else still serves is a double assignment.
class serving_board {
 public:
  shard_group_listener listener_for(const std::string& node) {
    return {[this, node](int g, const restore_stats& st) {
              std::lock_guard lock(mu_);
              if (server_.count(g)) ++doubles_;
              server_[g] = node;
              restores_[node].push_back(st);
              cv_.notify_all();
            },
            [this, node](int g, bool) {
              std::lock_guard lock(mu_);
              if (server_.count(g) && server_[g] == node) server_.erase(g);
              cv_.notify_all();
            }};
  }
  /// Waits (bounded) until `node` serves exactly `n` groups and all are served.
  bool wait_serving(const std::string& node, int n, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      int mine = 0;
      for (const auto& [g, who] : server_) mine += who == node;
      return mine == n && server_.size() == static_cast<std::size_t>(groups);
    });
  }
  std::vector<int> served_by(const std::string& node) {
    std::lock_guard lock(mu_);
    std::vector<int> out;
    for (const auto& [g, who] : server_)
      if (who == node) out.push_back(g);
    return out;
  }
  std::vector<restore_stats> restores(const std::string& node) {
    std::lock_guard lock(mu_);
    return restores_[node];
  }
  int doubles() {
    std::lock_guard lock(mu_);
    return doubles_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::string> server_;
  std::map<std::string, std::vector<restore_stats>> restores_;
  int doubles_ = 0;
};

std::set<std::uint64_t> trip_ids(const store& s) {
  auto all = s.load_entities(entity_kind::trip);
  REQUIRE(all.ok());
  std::set<std::uint64_t> out;
  for (const auto& e : *all) out.insert(e.id);
  return out;
}

/// A fresh shard-groups topic, group, changelog topic and transactional ids.
struct cluster_fixture {
  ownership_options own;
  changelog_options log;

  cluster_fixture() {
    require_broker();
    own.bootstrap = log.bootstrap = bootstrap();
    own.topic = unique_topic("shard-groups");
    own.group = "rideshard-test-shards-" + std::to_string(std::random_device{}());
    own.shard_groups = groups;
    auto spec = cluster_topics(groups).at(1);
    spec.name = log.topic = unique_topic("trip-changelog");
    REQUIRE(create_topics(bootstrap(), {spec}, 30s).ok());
    log.transactional_id_prefix =
        "rideshard-test-sg-" + std::to_string(std::random_device{}()) + "-";
  }
};

}  // namespace

TEST_CASE("shard_group_host needs both callbacks") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  ownership_options o;
  o.bootstrap = "127.0.0.1:1";
  CHECK(shard_group_host::start(*s, o, {}, {}, 1s).code() == errc::invalid_argument);
}

TEST_CASE_FIXTURE(cluster_fixture,
                  "two hosts hand shard groups over with their trips; a given-away group "
                  "refuses writes" *
                      doctest::test_suite("broker")) {
  test::temp_dir dir;
  auto store_a = open_store(dir.sub("a"));
  auto store_b = open_store(dir.sub("b"));
  serving_board board;
  own.member = "a";
  auto a = shard_group_host::start(*store_a, own, log, board.listener_for("a"), 30s);
  REQUIRE(a.ok());
  REQUIRE(board.wait_serving("a", groups, 30s));
  for (int g = 0; g < groups; ++g)  // trips g*1000+1 .. g*1000+5 in shard group g
    for (std::uint64_t i = 1; i <= 5; ++i)
      REQUIRE((*a)->write(g, test::trip_batch(static_cast<std::uint64_t>(g) * 1000 + i)).ok());

  own.member = "b";
  auto b = shard_group_host::start(*store_b, own, log, board.listener_for("b"), 30s);
  REQUIRE(b.ok());
  REQUIRE(board.wait_serving("b", groups / 2, 30s));
  const auto moved = board.served_by("b");
  std::set<std::uint64_t> expected_b;
  for (int g : moved) {
    for (std::uint64_t i = 1; i <= 5; ++i)
      expected_b.insert(static_cast<std::uint64_t>(g) * 1000 + i);
    CHECK((*a)->write(g, test::trip_batch(static_cast<std::uint64_t>(g) * 1000 + 6)).code() ==
          errc::fenced);
    REQUIRE((*b)->write(g, test::trip_batch(static_cast<std::uint64_t>(g) * 1000 + 7)).ok());
    expected_b.insert(static_cast<std::uint64_t>(g) * 1000 + 7);
    CHECK(store_a->load_changelog_mark(g)->has_value());  // a handed it off cleanly
  }
  CHECK(trip_ids(*store_b) == expected_b);  // a's trips of the moved groups, and b's

  // b leaves: a takes its groups back, reading only what b wrote (from its marks).
  (*b)->stop();
  REQUIRE(board.wait_serving("a", groups, 30s));
  const auto back = board.restores("a");
  REQUIRE(back.size() == groups + moved.size());
  for (std::size_t i = groups; i < back.size(); ++i) {
    CHECK(back[i].resumed);
    CHECK(back[i].records == 1);
  }
  for (int g : moved)
    CHECK(trip_ids(*store_a).count(static_cast<std::uint64_t>(g) * 1000 + 7) == 1);
  CHECK(board.doubles() == 0);
  CHECK((*a)->stats().failed_groups == 0);
  CHECK((*b)->stats().failed_groups == 0);
}

TEST_CASE_FIXTURE(cluster_fixture,
                  "shard groups whose restore failed are served after retry_unserved" *
                      doctest::test_suite("broker")) {
  own.member = "a";
  test::temp_dir dir;
  auto s = open_store(dir.sub("a"));
  serving_board board;
  // No time to restore: every assigned group fails and is not served.
  auto a = shard_group_host::start(*s, own, log, board.listener_for("a"), 0ms);
  REQUIRE(a.ok());
  REQUIRE(wait_until([&] { return (*a)->stats().failed_groups == groups; }, 30s));
  CHECK(board.served_by("a").empty());
  CHECK((*a)->write(0, test::trip_batch(1)).code() == errc::fenced);
  CHECK((*a)->retry_unserved(30s) == groups);
  CHECK(board.served_by("a").size() == groups);
  CHECK((*a)->write(0, test::trip_batch(1)).ok());
}

TEST_CASE_FIXTURE(cluster_fixture,
                  "start creates the changelog topic and refuses one with the wrong layout" *
                      doctest::test_suite("broker")) {
  test::temp_dir dir;
  auto s = open_store(dir.sub("a"));
  serving_board board;
  own.member = "a";
  auto fresh = log;
  fresh.topic = unique_topic("trip-changelog");  // missing: created, compacted
  auto a = shard_group_host::start(*s, own, fresh, board.listener_for("a"), 30s);
  REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.err().message));
  CHECK(topic_partitions(bootstrap(), fresh.topic, 30s).value() == groups);
  CHECK(topic_configs(bootstrap(), fresh.topic, 30s)->at("cleanup.policy") == "compact");
  (*a)->stop();

  auto wrong_count = log;
  wrong_count.topic = unique_topic("trip-changelog");
  REQUIRE(create_topics(bootstrap(),
                        {{wrong_count.topic, groups + 1, 1, {{"cleanup.policy", "compact"}}}}, 30s)
              .ok());
  CHECK(shard_group_host::start(*s, own, wrong_count, board.listener_for("a"), 30s).code() ==
        errc::bad_config);
  auto not_compacted = log;
  not_compacted.topic = unique_topic("trip-changelog");
  REQUIRE(create_topics(bootstrap(), {{not_compacted.topic, groups, 1, {}}}, 30s).ok());
  CHECK(shard_group_host::start(*s, own, not_compacted, board.listener_for("a"), 30s).code() ==
        errc::bad_config);
}

TEST_CASE_FIXTURE(cluster_fixture,
                  "a write fenced by another owner stops the group here and it is not reopened" *
                      doctest::test_suite("broker")) {
  own.member = "a";
  test::temp_dir dir;
  auto s = open_store(dir.sub("a"));
  serving_board board;
  auto a = shard_group_host::start(*s, own, log, board.listener_for("a"), 30s);
  REQUIRE(a.ok());
  REQUIRE(board.wait_serving("a", groups, 30s));
  REQUIRE((*a)->write(0, test::trip_batch(1)).ok());

  // Another owner opens shard group 0's transactional id: Kafka fences a's writer.
  auto other = changelog_writer::open(log, 0);
  REQUIRE(other.ok());
  const auto fenced = (*a)->write(0, test::trip_batch(2));
  CHECK_MESSAGE(fenced.code() == errc::fenced, (fenced ? "" : fenced.err().message));
  CHECK(board.served_by("a") == std::vector<int>{1, 2, 3});  // stop(0) ran
  CHECK((*a)->stats().dropped_groups == 1);
  CHECK((*a)->stats().served == std::vector<int>{1, 2, 3});
  CHECK((*a)->write(0, test::trip_batch(3)).code() == errc::fenced);
  // Still assigned by the consumer group, but fenced: retry_unserved leaves it alone,
  // so the owner that fenced a keeps writing.
  CHECK((*a)->retry_unserved(30s) == groups - 1);
  CHECK((*other)->write(test::trip_batch(4)).ok());
  CHECK((*a)->write(1, test::trip_batch(5)).ok());  // the other groups are unaffected
  CHECK(trip_ids(*s) == std::set<std::uint64_t>{1, 5});
}

TEST_CASE_FIXTURE(cluster_fixture,
                  "a write's events go out in its transaction only; its ledger chain too, "
                  "and a chain the ledger refuses is written nowhere" *
                      doctest::test_suite("broker")) {
  const auto events = unique_topic("trip-events");
  REQUIRE(create_topics(bootstrap(), {{events, 1, 1, {}}}, 30s).ok());
  own.member = "a";
  test::temp_dir dir;
  auto s = open_store(dir.sub("a"));
  serving_board board;
  auto a = shard_group_host::start(*s, own, log, board.listener_for("a"), 30s);
  REQUIRE(a.ok());
  REQUIRE(board.wait_serving("a", groups, 30s));

  auto batch = test::trip_batch(1);
  batch.add_event({events, "t-1", "{}", {{"ce_id", "t-1-1"}}});
  REQUIRE((*a)->write(0, batch).ok());
  CHECK(trip_ids(*s) == std::set<std::uint64_t>{1});
  CHECK(s->outbox_depth() == 0);  // no relay would publish it a second time
  int headers = 0;
  CHECK(consume(events, 1, headers)["t-1"] == std::vector<std::string>{"{}"});

  auto money = test::trip_batch(2);
  transfer hold;
  hold.id = {7, 2};
  hold.debit = {account_kind::rider, 1002};
  hold.credit = {account_kind::psp_clearing, 0};
  hold.amount = 1500;
  hold.kind = transfer_kind::pending;
  money.add_transfers({hold});
  REQUIRE((*a)->write(0, money).ok());
  CHECK(ledger(*s).open_holds().size() == 1);

  // The ledger refuses the capture of an unknown hold before Kafka sees anything.
  auto bad = test::trip_batch(3);
  transfer capture;
  capture.id = {7, 3};
  capture.kind = transfer_kind::post_pending;
  capture.pending_id = {7, 99};
  bad.add_transfers({capture});
  CHECK((*a)->write(0, bad).code() == errc::ledger_rejected);
  CHECK((*a)->stats().refused_ledger_batches == 1);
  CHECK(trip_ids(*s) == std::set<std::uint64_t>{1, 2});
  test::temp_dir other;
  auto fresh = open_store(other.sub("fresh"));
  REQUIRE(restore_shard_group(*fresh, log, 0, 30s).ok());
  CHECK(trip_ids(*fresh) == std::set<std::uint64_t>{1, 2});  // no trip 3 in the changelog
  CHECK(ledger(*fresh).open_holds().size() == 1);            // the hold survived this node
}
