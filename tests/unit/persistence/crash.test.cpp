// The core durability promise: a child process commits batches and acknowledges
// each one on a pipe only after commit() returns; the parent SIGKILLs it at a
// seeded random point, reopens the store and checks every acknowledged batch is
// there in full, and every batch (acknowledged or not) is all-or-nothing —
// ledger holds and captures included, with the ledger invariants intact.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <random>
#include <set>

#include "rideshard/engine/ride_money.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/store.hpp"
#include "store_support.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using rideshard::test::tag;

namespace {

constexpr int events_per_batch = 3;

/// Ride k's money rides in batches 2k-1 (hold of 1000+2k-1) and 2k (capture of 900).
ride_parties ride_of(std::uint64_t n) {
  return {money_domain::trip, (n + 1) / 2, rider_id{1}, driver_id{2}};
}

/// Batch n: a marker snapshot (id n), a shared "counter" snapshot, a journal entry
/// for trip n % 16 + 1 at sequence n, three outbox events and a ledger chain.
write_batch batch_for(std::uint64_t n) {
  write_batch b;
  const money_rules rules;
  if (n % 2 == 1)
    b.add_transfers({*hold_transfer(ride_of(n), static_cast<std::int64_t>(1000 + n),
                                    static_cast<std::int64_t>(n), rules)});
  else
    b.add_transfers(*capture_transfers(ride_of(n), static_cast<std::int64_t>(1000 + n - 1), 900,
                                       static_cast<std::int64_t>(n), rules));
  b.put_entity(entity_kind::rider, n, n, tag(n));
  b.put_entity(entity_kind::driver, 1, n, tag(n));
  b.append_journal(trip_id{n % 16 + 1}, n, tag(n));
  for (int e = 0; e < events_per_batch; ++e)
    b.add_event({"crash.topic",
                 "k" + std::to_string(n % 16),
                 std::to_string(n) + "/" + std::to_string(e),
                 {}});
  return b;
}

[[noreturn]] void child_main(const std::string& path, std::uint64_t first, int ack_fd) {
  store_options o;
  o.path = path;
  auto s = store::open(o);
  if (!s) _exit(3);
  for (std::uint64_t n = first;; ++n) {
    if (!(*s)->commit(batch_for(n)).ok()) _exit(4);
    if (::write(ack_fd, &n, sizeof n) != sizeof n) _exit(5);
  }
}

// The child re-executes this binary (a fresh process: no RocksDB threads copied
// by fork) and lands here, before doctest's main, when this variable is set.
constexpr const char* child_env = "RIDESHARD_CRASH_CHILD";  // "<fd> <first> <path>"
const bool child_hook = [] {
  if (const char* spec = std::getenv(child_env)) {
    char* rest = nullptr;
    const int fd = static_cast<int>(std::strtol(spec, &rest, 10));
    const std::uint64_t first = std::strtoull(rest, &rest, 10);
    child_main(rest + 1, first, fd);
  }
  return false;
}();

/// Reads one ack; false on EOF or when none comes within 30 s (a stuck child).
bool read_ack(int fd, std::uint64_t& n) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 30'000) <= 0) return false;
  return ::read(fd, &n, sizeof n) == sizeof n;
}

/// Runs one child from batch `first`, kills it after `kill_after` acks; returns acks.
std::vector<std::uint64_t> run_and_kill(const std::string& path, std::uint64_t first,
                                        int kill_after, unsigned extra_us) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string spec = std::to_string(fds[1]) + " " + std::to_string(first) + " " + path;
    ::setenv(child_env, spec.c_str(), 1);
    ::execl("/proc/self/exe", "/proc/self/exe", static_cast<char*>(nullptr));
    _exit(6);
  }
  ::close(fds[1]);
  std::vector<std::uint64_t> acks;
  std::uint64_t n = 0;
  while (static_cast<int>(acks.size()) < kill_after && read_ack(fds[0], n)) acks.push_back(n);
  if (extra_us) ::usleep(extra_us);  // land the kill somewhere inside the next commit
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CHECK_MESSAGE(WIFSIGNALED(status), "child exited early with status ", WEXITSTATUS(status));
  while (read_ack(fds[0], n)) acks.push_back(n);  // acks still in the pipe
  ::close(fds[0]);
  return acks;
}

std::uint64_t seed() { return test::seed_or(20261122); }

}  // namespace

TEST_CASE("SIGKILL at random points loses no acknowledged batch and tears none") {
  test::temp_dir dir;
  const auto path = dir.sub("db");
  std::mt19937_64 rng(seed());
  INFO("seed ", seed());
  std::uint64_t next = 1;
  std::set<std::uint64_t> acked;
  int torn_window_hits = 0;  // rounds killed inside a commit whose write had landed
  for (int round = 0; round < 6; ++round) {
    const int kill_after = std::uniform_int_distribution<int>(5, 120)(rng);
    const unsigned extra_us = std::uniform_int_distribution<unsigned>(0, 3000)(rng);
    auto acks = run_and_kill(path, next, kill_after, extra_us);
    REQUIRE(static_cast<int>(acks.size()) >= kill_after);
    for (auto a : acks) acked.insert(a);

    store_options o;
    o.path = path;
    o.create_if_missing = false;
    auto s = store::open(o);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
    // Present batches: every marker; each must be complete. Batches are numbered
    // densely, so the store holds exactly 1..last with last >= every ack.
    auto markers = (*s)->load_entities(entity_kind::rider);
    REQUIRE(markers.ok());
    const std::uint64_t last = markers->empty() ? 0 : markers->back().id;
    CHECK(markers->size() == last);
    CHECK(last >= *acked.rbegin());
    CHECK(last <= acks.back() + 1);  // at most the one commit in flight at the kill
    if (last == acks.back() + 1) ++torn_window_hits;
    auto rows = (*s)->read_outbox(0, 1'000'000);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == last * events_per_batch);
    for (std::uint64_t n = 1; n <= last; ++n) {
      const auto& m = markers->at(n - 1);
      CHECK(m.id == n);
      CHECK(m.value == tag(n));
      auto j = (*s)->journal_after(trip_id{n % 16 + 1}, n - 1);
      REQUIRE(j.ok());
      REQUIRE_FALSE(j->empty());
      CHECK(j->front().sequence == n);
      for (int e = 0; e < events_per_batch; ++e) {
        const auto& row = rows->at((n - 1) * events_per_batch + e);
        CHECK(row.sequence == (n - 1) * events_per_batch + e + 1);
        CHECK(row.event.payload == std::to_string(n) + "/" + std::to_string(e));
      }
    }
    auto counter = (*s)->load_entity(entity_kind::driver, 1);
    REQUIRE(counter.ok());
    REQUIRE(counter->has_value());
    CHECK((*counter)->sequence == last);  // the last write of the shared row wins
    CHECK((*s)->next_outbox_sequence() == last * events_per_batch + 1);
    // The money of exactly the batches present: holds open or captured once.
    ledger money(**s);
    auto inv = money.check_invariants();
    CHECK_MESSAGE(inv.ok(), (inv.ok() ? "" : inv.err().message));
    const balance rider = money.balance_of({account_kind::rider, 1});
    CHECK(rider.debits_posted == static_cast<std::int64_t>(900 * (last / 2)));
    CHECK(rider.debits_pending == (last % 2 == 1 ? static_cast<std::int64_t>(1000 + last) : 0));
    CHECK(money.open_holds().size() == last % 2);
    next = last + 1;
  }
  MESSAGE("acknowledged batches checked: ", acked.size(),
          "; rounds killed after a write landed, before its ack: ", torn_window_hits);
}
