// Shard ownership and the changelog together, against a real broker (test suite
// "broker", run by kafka.cluster_failover under tests/system/kafka/with_kafka.sh;
// fails without one): a member process that freezes (SIGSTOP) past its session timeout loses
// its shard groups to another member, which fences it; once it wakes (SIGCONT)
// every one of its writes is refused as fenced (it keeps its writers after the
// lost revocation) and none becomes visible.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "kafka_support.hpp"
#include "rideshard/persistence/shard_ownership.hpp"
#include "rideshard/persistence/trip_changelog.hpp"
#include "temp_dir.hpp"
#include "trip_fixture.hpp"

extern char** environ;

using namespace rideshard;
using namespace rideshard::persistence;
using namespace rideshard::test::kafka;
using namespace std::chrono_literals;

namespace {

constexpr int groups = 4;

/// tests/unit/persistence/cluster/cluster_member.cpp as a child process, talked to
/// over its stdin/stdout.
class member_process {
 public:
  explicit member_process(std::vector<std::string> args) {
    int in[2], out[2];
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    for (int fd : {in[0], in[1], out[0], out[1]}) posix_spawn_file_actions_addclose(&fa, fd);
    args.insert(args.begin(), RIDESHARD_CLUSTER_MEMBER);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, RIDESHARD_CLUSTER_MEMBER, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    REQUIRE(rc == 0);
  }
  ~member_process() {
    ::close(to_);  // EOF: the member leaves and exits
    ::kill(pid_, SIGCONT);
    if (!exited_within(30s)) ::kill(pid_, SIGKILL), (void)::waitpid(pid_, nullptr, 0);
    ::close(from_);
  }
  member_process(const member_process&) = delete;
  member_process& operator=(const member_process&) = delete;

  void signal(int sig) { REQUIRE(::kill(pid_, sig) == 0); }
  void send(const std::string& line) {
    const std::string l = line + "\n";
    REQUIRE(::write(to_, l.data(), l.size()) == static_cast<ssize_t>(l.size()));
  }
  /// The next line, or "" after `limit`.
  std::string line(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        auto l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{from_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) return "";
      char chunk[512];
      const auto n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) return "";
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  /// Lines until one equal to `last` (included), bounded.
  std::vector<std::string> lines_until(const std::string& last, std::chrono::milliseconds limit) {
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (out.empty() || out.back() != last) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto l = line(left);
      if (l.empty()) break;
      out.push_back(l);
    }
    return out;
  }

 private:
  bool exited_within(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return true;
      std::this_thread::sleep_for(50ms);  // a child's exit: no event to wait on without SIGCHLD
    }
    return false;
  }
  pid_t pid_ = 0;
  int to_ = -1, from_ = -1;
  std::string buf_;
};

/// An in-process member that fences (opens the writer) on assignment, as a node does.
struct fencing_member {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, std::unique_ptr<changelog_writer>> writers;
  changelog_options log;

  ownership_listener listener() {
    return {[this](const std::vector<int>& gs) {
              std::lock_guard lock(mu);
              for (int g : gs) {
                auto w = changelog_writer::open(log, g);
                if (w) writers[g] = std::move(*w);
              }
              cv.notify_all();
            },
            [this](const std::vector<int>& gs, bool) {
              std::lock_guard lock(mu);
              for (int g : gs) writers.erase(g);
              cv.notify_all();
            }};
  }
  bool owns(std::size_t n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return writers.size() == n; });
  }
};

}  // namespace

TEST_CASE("a frozen owner's shard groups move, and once it wakes none of its writes count" *
          doctest::test_suite("broker")) {
  require_broker();
  const auto shard_topic = unique_topic("shard-groups");
  auto changelog_spec = cluster_topics(groups).at(1);
  changelog_spec.name = unique_topic("trip-changelog");
  REQUIRE(create_topics(bootstrap(), {changelog_spec}, 30s).ok());
  const auto group = "rideshard-test-shards-" + std::to_string(std::random_device{}());
  const auto prefix = "rideshard-test-sg-" + std::to_string(std::random_device{}()) + "-";

  // keep-on-lost: the zombie keeps its writers even after it learns its membership
  // was lost, so its late writes reach Kafka and only fencing can refuse them.
  member_process zombie({bootstrap(), shard_topic, group, changelog_spec.name, prefix,
                         std::to_string(groups), "keep-on-lost"});
  const auto assigned = zombie.lines_until("assigned " + std::to_string(groups - 1), 60s);
  REQUIRE_MESSAGE(assigned.size() == groups, "member said: ", assigned.size(), " lines");
  zombie.send("write 1");
  auto answers = zombie.lines_until("done", 30s);
  REQUIRE(answers.size() == groups + 1);
  for (int g = 0; g < groups; ++g) CHECK(answers[g] == "ok " + std::to_string(g));

  // Frozen: no heartbeats. The other member gets everything after the session timeout.
  zombie.signal(SIGSTOP);
  const auto frozen_at = std::chrono::steady_clock::now();
  fencing_member survivor;
  survivor.log.bootstrap = bootstrap();
  survivor.log.topic = changelog_spec.name;
  survivor.log.transactional_id_prefix = prefix;
  ownership_options o;
  o.bootstrap = bootstrap();
  o.topic = shard_topic;
  o.group = group;
  o.member = "survivor";
  o.shard_groups = groups;
  auto member = shard_ownership::start(o, survivor.listener());
  REQUIRE(member.ok());
  REQUIRE(survivor.owns(groups, o.session_timeout + 30s));
  MESSAGE("a frozen owner's shard groups served elsewhere after ",
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                frozen_at)
              .count(),
          " ms");
  {
    std::lock_guard lock(survivor.mu);
    for (auto& [g, w] : survivor.writers)
      CHECK(w->write(test::trip_batch(2 * 100 + static_cast<std::uint64_t>(g))).ok());
  }

  // Awake: every write it tries is refused by Kafka as fenced.
  zombie.signal(SIGCONT);
  zombie.send("write 3");
  answers = zombie.lines_until("done", 60s);
  REQUIRE(!answers.empty());
  CHECK(answers.back() == "done");
  std::set<std::string> fenced;
  for (const auto& a : answers) {
    MESSAGE("the woken owner: ", a);
    if (a == "done" || a.rfind("revoked ", 0) == 0) continue;
    CHECK_MESSAGE(a.rfind("fenced ", 0) == 0, "not fenced: ", a);
    fenced.insert(a);
  }
  CHECK(fenced.size() == groups);

  // read_committed, each shard group holds the zombie's first trip and the survivor's.
  for (int g = 0; g < groups; ++g) {
    test::temp_dir dir;
    auto s = open_store(dir.sub("db"));
    auto st = restore_shard_group(*s, survivor.log, g, 30s);
    REQUIRE(st.ok());
    auto trips = s->load_entities(entity_kind::trip);
    REQUIRE(trips.ok());
    std::set<std::uint64_t> ids;
    for (const auto& e : *trips) ids.insert(e.id);
    const auto gg = static_cast<std::uint64_t>(g);
    CHECK(ids == std::set<std::uint64_t>{100 + gg, 200 + gg});
  }
}
