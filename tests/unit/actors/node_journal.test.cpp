// The journal actor (node/journal.hpp) on a real store: commits that arrive
// while one is on its way to disk go to the disk together as one batch; when
// such a merged batch is refused, each commit is retried alone, so one bad
// batch fails only its own caller; analytics batches beyond the bound are
// dropped while acknowledged commits never are. The journal is held inside a
// commit by the store's commit listener (a gate the test opens), so what
// queues meanwhile is decided by the test, not by timing.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <memory>
#include <string>
#include <vector>

#include "gateway/metrics.hpp"
#include "node/journal.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "rideshard/persistence/topics.hpp"
#include "store_fixture.hpp"

using namespace rideshard;
using namespace rideshard::node;
using namespace rideshard::test;
using namespace std::chrono_literals;

namespace {

/// A batch that writes one entity (id) and nothing else.
batch_ptr entity_batch(std::uint64_t id) {
  auto b = std::make_shared<persistence::write_batch>();
  b->put_entity(persistence::entity_kind::trip, id, 1, {1, 2, 3});
  return b;
}

/// An analytics batch: one quote-topic event.
batch_ptr analytics_batch(int n) {
  auto b = std::make_shared<persistence::write_batch>();
  b->add_event({persistence::quotes_topic, "c-" + std::to_string(n), "q", {}});
  return b;
}

bool stored(persistence::store& s, std::uint64_t id) {
  auto e = s.load_entity(persistence::entity_kind::trip, id);
  REQUIRE(e.ok());
  return e->has_value();
}

struct journal_fixture {
  temp_dir dir;
  std::unique_ptr<persistence::store> store = open_store(dir.path);
  commit_gate gate;
  gateway::metrics metrics;
  node_stats stats{&metrics};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  journal_handle journal;

  explicit journal_fixture(std::size_t max_events = default_max_pending_events,
                           std::chrono::milliseconds event_delay = default_event_flush_delay) {
    gate.attach(*store);
    sys = std::make_unique<caf::actor_system>(cfg);
    journal = spawn_journal(*sys, *store, &stats, max_events, nullptr, 0, event_delay);
  }
  ~journal_fixture() {
    gate.open();
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    sys->await_all_actors_done();
    // ~actor_system joins the detached journal's thread, which lives until the
    // last handle to it is gone.
    journal = nullptr;
    sys.reset();  // before the store goes
  }

  /// Holds the journal inside a commit of its own (entity `id`): everything
  /// sent to it from now on queues until gate.open().
  void hold_journal(caf::scoped_actor& self, std::uint64_t id) {
    gate.close();
    self->send(journal, commit_atom::value, entity_batch(id));
    REQUIRE(gate.wait_holding());
  }
};

commit_outcome answer(caf::scoped_actor& self) {
  commit_outcome out{errc::unavailable, "no answer"};
  self->receive([&](commit_outcome& o) { out = std::move(o); },
                caf::after(std::chrono::seconds(10)) >> [] {});
  return out;
}

}  // namespace

TEST_CASE("commits that queue behind one on its way to disk are written as one batch") {
  journal_fixture f;
  caf::scoped_actor self{*f.sys};
  f.hold_journal(self, 1);
  for (std::uint64_t id = 2; id <= 5; ++id)
    self->send(f.journal, commit_atom::value, entity_batch(id));
  f.gate.open();
  for (int i = 0; i < 5; ++i) CHECK(answer(self).code == errc::ok);
  // The held commit, then the four that queued behind it together.
  CHECK(f.gate.count() == 2);
  for (std::uint64_t id = 1; id <= 5; ++id) CHECK(stored(*f.store, id));
}

TEST_CASE("a merged batch the store refuses is retried per commit: only the bad one fails") {
  journal_fixture f;
  const money_rules rules;
  const ride_parties ride{money_domain::trip, 11, rider_id{1}, driver_id{1}};
  {  // a hold the bad batch will contradict (same transfer id, another amount)
    persistence::write_batch b;
    b.add_transfers({*hold_transfer(ride, 2500, 1000, rules)});
    REQUIRE(f.store->commit(b).ok());
  }
  caf::scoped_actor self{*f.sys};
  f.hold_journal(self, 1);
  const auto before = f.gate.count();
  auto bad = entity_batch(3);
  bad->add_transfers({*hold_transfer(ride, 9999, 1000, rules)});
  // Answers come back in the order of the requests.
  auto good_a = self->request(f.journal, caf::infinite, commit_atom::value, entity_batch(2));
  auto refused = self->request(f.journal, caf::infinite, commit_atom::value, bad);
  auto good_b = self->request(f.journal, caf::infinite, commit_atom::value, entity_batch(4));
  f.gate.open();
  CHECK(answer(self).code == errc::ok);  // the held commit
  auto code_of = [](auto& handle) {
    errc code = errc::unavailable;
    handle.receive([&](commit_outcome& o) { code = o.code; }, [](caf::error&) {});
    return code;
  };
  CHECK(code_of(good_a) == errc::ok);
  CHECK(code_of(refused) == errc::transfer_exists);
  CHECK(code_of(good_b) == errc::ok);
  CHECK(f.gate.count() == before + 2);  // the merged batch failed; two retries succeeded
  CHECK(stored(*f.store, 2));
  CHECK_FALSE(stored(*f.store, 3));
  CHECK(stored(*f.store, 4));
}

std::vector<std::string> quote_keys(persistence::store& s) {
  auto rows = s.read_outbox(0, 100);
  REQUIRE(rows.ok());
  std::vector<std::string> keys;
  for (auto& r : *rows)
    if (r.event.topic == persistence::quotes_topic) keys.push_back(r.event.key);
  return keys;
}

TEST_CASE("analytics batches wait for the next commit and are written with it, in one write") {
  journal_fixture f{default_max_pending_events, std::chrono::hours(1)};  // no timed flush here
  caf::scoped_actor self{*f.sys};
  f.hold_journal(self, 1);
  for (int n = 0; n < 3; ++n) self->send(f.journal, event_atom::value, analytics_batch(n));
  f.gate.open();
  CHECK(answer(self).code == errc::ok);  // the held commit
  // The events wait (nobody does): the next commit takes them along.
  self->send(f.journal, commit_atom::value, entity_batch(2));
  CHECK(answer(self).code == errc::ok);
  CHECK(quote_keys(*f.store) == std::vector<std::string>{"c-0", "c-1", "c-2"});
  CHECK(f.gate.count() ==
        2);  // the held commit, then commit 2 with the events: no write of their own
}

TEST_CASE("analytics batches with no commit to ride along are written after the delay") {
  journal_fixture f{default_max_pending_events, 20ms};
  caf::scoped_actor self{*f.sys};
  f.hold_journal(self, 1);  // the three queue, so they are all there before the timer
  for (int n = 0; n < 3; ++n) self->send(f.journal, event_atom::value, analytics_batch(n));
  f.gate.open();
  CHECK(answer(self).code == errc::ok);  // the held commit
  REQUIRE(f.gate.wait_count(2));
  CHECK(quote_keys(*f.store) == std::vector<std::string>{"c-0", "c-1", "c-2"});
  CHECK(f.gate.count() == 2);  // the held commit, then one write for the three
}

TEST_CASE("analytics batches beyond the bound are dropped; commits behind them are not") {
  journal_fixture f{2};  // at most two analytics batches wait for a flush
  caf::scoped_actor self{*f.sys};
  f.hold_journal(self, 1);
  for (int n = 0; n < 5; ++n) self->send(f.journal, event_atom::value, analytics_batch(n));
  // FIFO mailbox: this commit is handled after all five, and answered after
  // the flush that writes the events kept.
  self->send(f.journal, commit_atom::value, entity_batch(2));
  f.gate.open();
  CHECK(answer(self).code == errc::ok);
  CHECK(answer(self).code == errc::ok);
  CHECK(stored(*f.store, 2));
  auto rows = f.store->read_outbox(0, 100);
  REQUIRE(rows.ok());
  std::vector<std::string> keys;
  for (auto& r : *rows)
    if (r.event.topic == persistence::quotes_topic) keys.push_back(r.event.key);
  CHECK(keys == std::vector<std::string>{"c-0", "c-1"});    // the first two; three dropped
  CHECK(f.metrics.outbox_dropped("journal_backlog") == 3);  // one event per batch
}
