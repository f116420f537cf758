// Shard ownership handover: two members share 6 shard groups; the time until
// the survivor owns all 6 after the other (a) leaves cleanly (stop()) and (b) is
// killed with SIGKILL (a child process: no LeaveGroup, so the group waits for
// the session timeout). RUNS runs each, medians; session 6 s, heartbeat 1 s.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "bench_support.hpp"
#include "rideshard/persistence/shard_ownership.hpp"

extern char** environ;

using namespace rideshard;
using namespace rideshard::persistence;
using namespace std::chrono_literals;

namespace {

constexpr int shard_groups = 6;

/// The shard groups one member owns, as its callbacks report them.
class owned_set {
 public:
  ownership_listener listener() {
    return {[this](const std::vector<int>& g) {
              std::lock_guard lock(mu_);
              owned_.insert(g.begin(), g.end());
              cv_.notify_all();
            },
            [this](const std::vector<int>& g, bool) {
              std::lock_guard lock(mu_);
              for (int x : g) owned_.erase(x);
              cv_.notify_all();
            }};
  }
  bool wait_for_count(std::size_t n, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return owned_.size() == n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> owned_;
};

ownership_options options(const std::string& bootstrap, const std::string& topic,
                          const std::string& group, const std::string& member) {
  ownership_options o;
  o.bootstrap = bootstrap;
  o.topic = topic;
  o.group = group;
  o.member = member;
  o.shard_groups = shard_groups;
  return o;
}

/// --child=<bootstrap>,<topic>,<group>: a member that writes one byte to stdout
/// once it owns half the shard groups, then runs until it is killed.
int run_child(const std::string& spec) {
  const auto a = spec.find(','), b = spec.find(',', a + 1);
  owned_set owned;
  auto m = shard_ownership::start(
      options(spec.substr(0, a), spec.substr(a + 1, b - a - 1), spec.substr(b + 1), "child"),
      owned.listener());
  if (!m) return std::fprintf(stderr, "child: %s\n", m.err().message.c_str()), 1;
  if (!owned.wait_for_count(shard_groups / 2, 30s)) return 1;
  if (::write(1, "o", 1) != 1) return 1;
  for (;;) ::pause();
}

/// Spawns a child member; returns its pid once it owns its half, 0 on failure.
pid_t spawn_child(const std::string& spec) {
  const std::string arg = "--child=" + spec;
  char* argv[] = {const_cast<char*>("ownership_failover_bench"), const_cast<char*>(arg.c_str()),
                  nullptr};
  int fds[2];
  if (::pipe(fds) != 0) return 0;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  char byte = 0;
  pollfd p{fds[0], POLLIN, 0};
  const bool owns = rc == 0 && ::poll(&p, 1, 30000) == 1 && ::read(fds[0], &byte, 1) == 1;
  ::close(fds[0]);
  if (rc == 0 && !owns) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return owns ? pid : 0;
}

/// One run: survivor + a member that goes away by `leave` (clean) or SIGKILL.
/// Returns the seconds until the survivor owns everything, or < 0 on failure.
double one_run(const std::string& bootstrap, int run, bool kill_it) {
  const std::string topic = "bench.shard-groups." + std::to_string(run) + (kill_it ? "k" : "l");
  const std::string group = "bench-" + topic;
  owned_set survivor_owned, other_owned;
  auto survivor = shard_ownership::start(options(bootstrap, topic, group, "survivor"),
                                         survivor_owned.listener());
  if (!survivor || !survivor_owned.wait_for_count(shard_groups, 30s)) return -1;
  pid_t child = 0;
  std::unique_ptr<shard_ownership> other;
  if (kill_it) {
    child = spawn_child(bootstrap + "," + topic + "," + group);
    if (child == 0) return -1;
  } else {
    auto m =
        shard_ownership::start(options(bootstrap, topic, group, "other"), other_owned.listener());
    if (!m) return -1;
    other = std::move(*m);
  }
  // The other member took its half.
  if (!survivor_owned.wait_for_count(shard_groups / 2, 30s) ||
      (other && !other_owned.wait_for_count(shard_groups / 2, 30s)))
    return -1;
  const auto t0 = std::chrono::steady_clock::now();
  if (kill_it) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  } else {
    other->stop();
  }
  if (!survivor_owned.wait_for_count(shard_groups, 60s)) return -1;
  return bench::seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--child=", 8) == 0) return run_child(argv[i] + 8);
  const long runs = bench::arg_long(argc, argv, "runs", 5);
  bench::scratch_dir dir("ownership-bench");
  if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  bench::kafka_broker kafka(dir.sub("kafka"));
  if (int status = 0; !bench::kafka_up(kafka, dir, status)) return status;
  const auto o = options(kafka.bootstrap(), "", "", "");
  std::printf(
      "%d shard groups, two members, session timeout %lld ms, heartbeat %lld ms, %s, %ld "
      "runs\n\n  run   clean leave (s)   SIGKILL (s)\n",
      shard_groups, static_cast<long long>(o.session_timeout.count()),
      static_cast<long long>(o.heartbeat_interval.count()),
      o.cooperative ? "cooperative-sticky" : "eager roundrobin", runs);
  std::vector<double> leave, killed;
  for (long r = 0; r < runs; ++r) {
    const double l = one_run(kafka.bootstrap(), static_cast<int>(r), false);
    const double k = one_run(kafka.bootstrap(), static_cast<int>(r), true);
    if (l < 0 || k < 0) return std::fprintf(stderr, "run %ld failed\n", r + 1), 1;
    leave.push_back(l);
    killed.push_back(k);
    std::printf("  %3ld   %15.2f   %11.2f\n", r + 1, l, k);
  }
  std::printf("median %14.2f   %11.2f\n", bench::median(leave), bench::median(killed));
  bench::write_result("ownership_failover_bench",
                      "{\"session_timeout_ms\": " + std::to_string(o.session_timeout.count()) +
                          ", \"leave_s\": " + bench::json_array(leave) +
                          ", \"sigkill_s\": " + bench::json_array(killed) +
                          ", \"median_leave_s\": " + std::to_string(bench::median(leave)) +
                          ", \"median_sigkill_s\": " + std::to_string(bench::median(killed)) + "}");
  return 0;
}
