// journal: group commit of trip transitions into the store on a detached actor.
#include "node/journal.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "node/log_sink.hpp"
#include "rideshard/engine/shard_group.hpp"
#include "rideshard/persistence/shard_group_host.hpp"

namespace rideshard::node {
namespace {

struct pending_commit {
  batch_ptr batch;
  caf::response_promise promise;
};

struct journal_state {
  persistence::store* store = nullptr;
  /// Cluster mode: trip batches go through their shard group's Kafka
  /// transaction first (shard_group_host::write); null: the store alone.
  persistence::shard_group_host* host = nullptr;
  int groups = 0;
  node_stats* stats = nullptr;
  std::vector<pending_commit> pending;
  /// Analytics batches (event_atom) for the next flush; nobody waits for them.
  std::vector<batch_ptr> events;
  std::size_t max_events = default_max_pending_events;
  std::uint64_t events_dropped = 0;  ///< refused: `events` was full
  std::uint64_t events_failed = 0;   ///< batches whose commit failed
  std::chrono::milliseconds event_delay = default_event_flush_delay;
  bool flush_queued = false;
  /// When the delayed flush for `events` on its way is due (none: not armed).
  std::optional<std::chrono::steady_clock::time_point> event_flush_due;
  static inline const char* name = "journal";
};
using journal_self = caf::stateful_actor<journal_state, journal_handle::base>;

commit_outcome outcome_of(const result<persistence::commit_receipt>& r) {
  if (r) return {};
  return {r.err().code, r.err().message};
}

commit_outcome outcome_of(const result<void>& r) {
  if (r) return {};
  return {r.err().code, r.err().message};
}

void events_failed(journal_self* self, std::size_t batches, const error& e);

// The shard group of a trip batch: its trip's (a trip actor's batch holds one trip).
int group_of(const persistence::write_batch& b, int groups) {
  for (const auto& e : b.entities())
    if (e.kind == persistence::entity_kind::trip) return shard_group_of(e.id, groups);
  for (const auto& j : b.journal()) return shard_group_of(j.trip.value, groups);
  return 0;
}

// Cluster mode: one Kafka transaction (then one local commit) per shard group
// of this group commit. A failed merged write is retried batch by batch, as
// flush does, except when fenced: the group is not ours, each would be too.
void commit_group(journal_self* self, int group, std::vector<pending_commit>& batch) {
  auto& host = *self->state.host;
  if (batch.size() == 1) {
    batch.front().promise.deliver(outcome_of(host.write(group, *batch.front().batch)));
    return;
  }
  persistence::write_batch merged;
  for (auto& p : batch) {
    auto copy = *p.batch;
    merged.append(std::move(copy));
  }
  auto r = host.write(group, merged);
  if (r || r.code() == errc::fenced) {
    for (auto& p : batch) p.promise.deliver(outcome_of(r));
    return;
  }
  logger().warn("event=group_commit_failed shard_group={} batches={} code={} msg=\"{}\"", group,
                batch.size(), to_string(r.err().code), r.err().message);
  for (auto& p : batch) p.promise.deliver(outcome_of(host.write(group, *p.batch)));
}

void flush_groups(journal_self* self, std::vector<pending_commit> batch,
                  std::vector<batch_ptr> events) {
  auto& st = self->state;
  if (!events.empty()) {  // analytics stay local: the outbox relay publishes them
    persistence::write_batch evs;
    for (auto& e : events) evs.append(persistence::write_batch(*e));
    if (auto r = st.store->commit(evs); !r) events_failed(self, events.size(), r.err());
  }
  std::map<int, std::vector<pending_commit>> by_group;
  for (auto& p : batch) by_group[group_of(*p.batch, st.groups)].push_back(std::move(p));
  for (auto& g : by_group) commit_group(self, g.first, g.second);
}

void schedule_flush(journal_self* self) {
  auto& st = self->state;
  if (st.flush_queued) return;
  st.flush_queued = true;
  self->send(self, flush_atom::value);
}

// Analytics only: a flush within event_delay, unless a commit's flush (which
// takes the events along) comes first. A delayed flush that finds nothing is a
// no-op. At most one is on its way: a commit's flush does not disarm it (else
// every commit followed by an event armed one more timer, a wake-up of CAF's
// clock thread and of this one), only its own arrival does. Its due time is
// taken before CAF's (same steady clock), so it always finds it passed.
void schedule_event_flush(journal_self* self) {
  auto& st = self->state;
  if (st.flush_queued || st.event_flush_due) return;
  if (st.event_delay.count() <= 0) return schedule_flush(self);
  st.event_flush_due = std::chrono::steady_clock::now() + st.event_delay;
  self->delayed_send(self, st.event_delay, flush_atom::value);
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
  if (st.event_flush_due && std::chrono::steady_clock::now() >= *st.event_flush_due)
    st.event_flush_due.reset();  // (a flush_atom from elsewhere when due: the timer's is a no-op)
  auto batch = std::move(st.pending);
  st.pending.clear();
  auto events = std::move(st.events);
  st.events.clear();
  if (st.host) return flush_groups(self, std::move(batch), std::move(events));
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
                                            node_stats* stats, std::size_t max_events,
                                            persistence::shard_group_host* host, int groups,
                                            std::chrono::milliseconds event_delay) {
  self->state.store = s;
  self->state.event_delay = event_delay;
  self->state.host = host;
  self->state.groups = groups;
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
        schedule_event_flush(self);
      },
      [=](flush_atom) { flush(self); },
  };
}

}  // namespace

journal_handle spawn_journal(caf::actor_system& sys, persistence::store& s, node_stats* stats,
                             std::size_t max_pending_events, persistence::shard_group_host* host,
                             int shard_groups, std::chrono::milliseconds event_flush_delay) {
  return sys.spawn<caf::detached>(journal_actor, &s, stats,
                                  max_pending_events == 0 ? std::size_t{1} : max_pending_events,
                                  host, shard_groups, event_flush_delay);
}

}  // namespace rideshard::node
