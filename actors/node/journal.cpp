// journal: group commit of trip transitions into the store on a detached actor.
#include "node/journal.hpp"

#include <cstdint>
#include <utility>
#include <vector>

#include "node/log_sink.hpp"

namespace rideshard::node {
namespace {

struct pending_commit {
  batch_ptr batch;
  caf::response_promise promise;
};

struct journal_state {
  persistence::store* store = nullptr;
  node_stats* stats = nullptr;
  std::vector<pending_commit> pending;
  /// Analytics batches (event_atom) for the next flush; nobody waits for them.
  std::vector<batch_ptr> events;
  std::size_t max_events = default_max_pending_events;
  std::uint64_t events_dropped = 0;  ///< refused: `events` was full
  std::uint64_t events_failed = 0;   ///< batches whose commit failed
  bool flush_queued = false;
  static inline const char* name = "journal";
};
using journal_self = caf::stateful_actor<journal_state, journal_handle::base>;

commit_outcome outcome_of(const result<persistence::commit_receipt>& r) {
  if (r) return {};
  return {r.err().code, r.err().message};
}

void schedule_flush(journal_self* self) {
  auto& st = self->state;
  if (st.flush_queued) return;
  st.flush_queued = true;
  self->send(self, flush_atom::value);
}

void events_failed(journal_self* self, std::size_t batches, const error& e) {
  auto& st = self->state;
  st.events_failed += batches;
  logger().error("event=analytics_commit_failed batches={} failed_total={} code={} msg=\"{}\"",
                 batches, st.events_failed, to_string(e.code), e.message);
  if (st.stats) st.stats->error(errc::storage_error);
}

// A flush with analytics events: the same single synced batch carries the
// commits and the events. If it fails, every commit is retried alone (as in
// flush) and the events once more as one batch; a commit never waits on them.
void flush_with_events(journal_self* self, std::vector<pending_commit> batch,
                       std::vector<batch_ptr> events) {
  auto& st = self->state;
  persistence::write_batch evs;
  for (auto& e : events) evs.append(persistence::write_batch(*e));
  if (batch.empty()) {
    if (auto r = st.store->commit(evs); !r) events_failed(self, events.size(), r.err());
    return;
  }
  persistence::write_batch merged;
  for (auto& p : batch) merged.append(persistence::write_batch(*p.batch));
  merged.append(persistence::write_batch(evs));
  auto r = st.store->commit(merged);
  if (r) {
    for (auto& p : batch) p.promise.deliver(commit_outcome{});
    return;
  }
  logger().warn("event=group_commit_failed batches={} events={} code={} msg=\"{}\"", batch.size(),
                events.size(), to_string(r.err().code), r.err().message);
  for (auto& p : batch) p.promise.deliver(outcome_of(st.store->commit(*p.batch)));
  if (auto re = st.store->commit(evs); !re) events_failed(self, events.size(), re.err());
}

// Commits everything pending as one synced batch. The mailbox is FIFO, so the
// flush message runs after every commit that arrived before it.
void flush(journal_self* self) {
  auto& st = self->state;
  st.flush_queued = false;
  auto batch = std::move(st.pending);
  st.pending.clear();
  auto events = std::move(st.events);
  st.events.clear();
  if (!events.empty()) return flush_with_events(self, std::move(batch), std::move(events));
  if (batch.empty()) return;
  if (batch.size() == 1) {
    auto r = st.store->commit(*batch.front().batch);
    batch.front().promise.deliver(outcome_of(r));
    return;
  }
  persistence::write_batch merged;
  for (auto& p : batch) {
    auto copy = *p.batch;  // keep the originals for the one-by-one fallback
    merged.append(std::move(copy));
  }
  auto r = st.store->commit(merged);
  if (r) {
    for (auto& p : batch) p.promise.deliver(commit_outcome{});
    return;
  }
  // One bad batch must not fail its neighbours: retry each on its own.
  logger().warn("event=group_commit_failed batches={} code={} msg=\"{}\"", batch.size(),
                to_string(r.err().code), r.err().message);
  for (auto& p : batch) p.promise.deliver(outcome_of(st.store->commit(*p.batch)));
}

journal_handle::behavior_type journal_actor(journal_self* self, persistence::store* s,
                                            node_stats* stats, std::size_t max_events) {
  self->state.store = s;
  self->state.stats = stats;
  self->state.max_events = max_events;
  return {
      [=](commit_atom, batch_ptr& b) -> caf::result<commit_outcome> {
        auto& st = self->state;
        st.pending.push_back({std::move(b), self->make_response_promise()});
        schedule_flush(self);
        return st.pending.back().promise;
      },
      [=](event_atom, batch_ptr& b) {
        auto& st = self->state;
        if (!b || b->empty()) return;
        if (st.events.size() >= st.max_events) {
          // Analytics samples, not acknowledged state: shed load, keep counting.
          if (st.stats) st.stats->analytics_dropped(b->events().size());
          if (st.events_dropped++ % 1000 == 0)
            logger().warn("event=analytics_events_dropped pending={} dropped_total={}",
                          st.events.size(), st.events_dropped);
          return;
        }
        st.events.push_back(std::move(b));
        schedule_flush(self);
      },
      [=](flush_atom) { flush(self); },
  };
}

}  // namespace

journal_handle spawn_journal(caf::actor_system& sys, persistence::store& s, node_stats* stats,
                             std::size_t max_pending_events) {
  return sys.spawn<caf::detached>(journal_actor, &s, stats,
                                  max_pending_events == 0 ? std::size_t{1} : max_pending_events);
}

}  // namespace rideshard::node
