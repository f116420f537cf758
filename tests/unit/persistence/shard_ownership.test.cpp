// shard_ownership against a real broker (test suite "broker", run by
// kafka.shard_ownership under tests/system/kafka/with_kafka.sh; they fail without
// one): members of one group split the shard groups, a shard group is never
// owned by two members at once, and a member that leaves hands everything over.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "kafka_support.hpp"
#include "rideshard/persistence/outbox_relay.hpp"
#include "rideshard/persistence/shard_ownership.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using namespace rideshard::test::kafka;
using namespace std::chrono_literals;

namespace {

/// Who owns which shard group, as the members' callbacks report it. A callback
/// that takes a shard group someone else still holds is a double assignment.
class ownership_board {
 public:
  ownership_listener listener_for(const std::string& member) {
    return {[this, member](const std::vector<int>& groups) {
              std::lock_guard lock(mu_);
              for (int g : groups) {
                if (owner_.count(g)) double_owned_.push_back(g);
                owner_[g] = member;
              }
              cv_.notify_all();
            },
            [this, member](const std::vector<int>& groups, bool) {
              std::lock_guard lock(mu_);
              for (int g : groups)
                if (owner_.count(g) && owner_[g] == member) owner_.erase(g);
              cv_.notify_all();
            }};
  }

  /// Waits (bounded) until `done(owners)` holds; false on timeout.
  template <class F>
  bool wait(F done, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return done(owner_); });
  }

  std::vector<int> owned_by(const std::string& member) {
    std::lock_guard lock(mu_);
    std::vector<int> out;
    for (const auto& [g, m] : owner_)
      if (m == member) out.push_back(g);
    return out;
  }
  std::vector<int> double_owned() {
    std::lock_guard lock(mu_);
    return double_owned_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::string> owner_;
  std::vector<int> double_owned_;
};

ownership_options options_for(const std::string& topic, const std::string& group,
                              const std::string& member) {
  ownership_options o;
  o.bootstrap = bootstrap();
  o.topic = topic;
  o.group = group;
  o.member = member;
  o.shard_groups = 6;
  return o;
}

std::unique_ptr<shard_ownership> start_member(const ownership_options& o, ownership_board& board) {
  auto m = shard_ownership::start(o, board.listener_for(o.member));
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.err().message));
  return std::move(*m);
}

auto owns_all_of(const std::string& member, int n) {
  return [member, n](const std::map<int, std::string>& owners) {
    return static_cast<int>(owners.size()) == n &&
           std::all_of(owners.begin(), owners.end(),
                       [&](const auto& p) { return p.second == member; });
  };
}

/// A fresh topic and group per test, and member "a" already owning everything.
struct one_member {
  bool cooperative;
  std::string topic = unique_topic("shard-groups");
  std::string group = "rideshard-test-shards-" + std::to_string(std::random_device{}());
  ownership_board board;
  std::unique_ptr<shard_ownership> a;

  explicit one_member(bool cooperative_rebalancing = true) : cooperative(cooperative_rebalancing) {
    require_broker();
    a = start_member(member("a"), board);
    REQUIRE(board.wait(owns_all_of("a", 6), 30s));
  }
  ownership_options member(const std::string& name) const {
    auto o = options_for(topic, group, name);
    o.cooperative = cooperative;
    return o;
  }
};

/// The same with the eager protocol (roundrobin): every rebalance revokes everything.
struct one_eager_member : one_member {
  one_eager_member() : one_member(false) {}
};

/// b joins: a and b own three each; b leaves: a owns all six within one session timeout.
void split_then_leave(one_member& f) {
  auto& board = f.board;
  auto b = start_member(f.member("b"), board);
  const bool split = board.wait(
      [](const std::map<int, std::string>& owners) {
        int of_b = 0;
        for (const auto& [g, m] : owners) of_b += m == "b";
        return owners.size() == 6 && of_b == 3;
      },
      30s);
  REQUIRE_MESSAGE(split, "a owns ", board.owned_by("a").size(), ", b owns ",
                  board.owned_by("b").size());
  // owned() follows once the callbacks returned.
  CHECK(wait_until(
      [&] { return f.a->owned() == board.owned_by("a") && b->owned() == board.owned_by("b"); },
      10s));

  const auto session = f.member("b").session_timeout;
  const auto left_at = std::chrono::steady_clock::now();
  b->stop();
  CHECK(b->owned().empty());
  REQUIRE(board.wait(owns_all_of("a", 6), session));
  const auto took = std::chrono::steady_clock::now() - left_at;
  MESSAGE(std::string(f.cooperative ? "cooperative" : "eager"), ": rebalance after a member left: ",
          std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms");
  CHECK(board.double_owned().empty());
  CHECK(f.a->stats().last_error.empty());
}

}  // namespace

TEST_CASE("shard ownership refuses a bad configuration") {
  ownership_board board;
  ownership_options o;
  CHECK(shard_ownership::start(o, board.listener_for("a")).code() == errc::invalid_argument);
  o.bootstrap = "127.0.0.1:1";
  o.shard_groups = 0;
  CHECK(shard_ownership::start(o, board.listener_for("a")).code() == errc::invalid_argument);
  o.shard_groups = 4;
  CHECK(shard_ownership::start(o, {}).code() == errc::invalid_argument);
}

TEST_CASE_FIXTURE(one_member,
                  "two members split the shard groups; the one left owns all after the other "
                  "leaves" *
                      doctest::test_suite("broker")) {
  split_then_leave(*this);
}

TEST_CASE_FIXTURE(one_eager_member,
                  "eager rebalancing: two members split the shard groups, the one left owns all "
                  "after the other leaves" *
                      doctest::test_suite("broker")) {
  split_then_leave(*this);
}

TEST_CASE_FIXTURE(one_member, "a shard group is never owned twice while members come and go" *
                                  doctest::test_suite("broker")) {
  {
    auto b = start_member(member("b"), board);
    auto c = start_member(member("c"), board);
    REQUIRE(board.wait(
        [](const std::map<int, std::string>& owners) {
          std::map<std::string, int> per;
          for (const auto& [g, m] : owners) ++per[m];
          return owners.size() == 6 && per["a"] == 2 && per["b"] == 2 && per["c"] == 2;
        },
        30s));
    c->stop();
    REQUIRE(board.wait(
        [](const std::map<int, std::string>& owners) {
          std::map<std::string, int> per;
          for (const auto& [g, m] : owners) ++per[m];
          return owners.size() == 6 && per["a"] == 3 && per["b"] == 3;
        },
        30s));
  }  // b leaves by destruction
  REQUIRE(board.wait(owns_all_of("a", 6), 30s));
  a->stop();
  REQUIRE(board.wait([](const std::map<int, std::string>& owners) { return owners.empty(); }, 5s));
  CHECK(board.double_owned().empty());
}

TEST_CASE("an existing shard-groups topic with another partition count is refused" *
          doctest::test_suite("broker")) {
  require_broker();
  const auto topic = unique_topic("shard-groups");
  REQUIRE(create_topics(bootstrap(), {{topic, 4, 1, {}}}, 30s).ok());
  ownership_board board;
  auto o = options_for(topic, "rideshard-test-shards-x", "a");
  auto m = shard_ownership::start(o, board.listener_for("a"));
  CHECK(m.code() == errc::bad_config);
}
