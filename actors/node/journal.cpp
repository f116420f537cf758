// journal: group commit of trip transitions into the store on a detached actor.
#include "node/journal.hpp"

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
  std::vector<pending_commit> pending;
  bool flush_queued = false;
  static inline const char* name = "journal";
};
using journal_self = caf::stateful_actor<journal_state>;

commit_outcome outcome_of(const result<persistence::commit_receipt>& r) {
  if (r) return {};
  return {r.err().code, r.err().message};
}

// Commits everything pending as one synced batch. The mailbox is FIFO, so the
// flush message runs after every commit that arrived before it.
void flush(journal_self* self) {
  auto& st = self->state;
  st.flush_queued = false;
  auto batch = std::move(st.pending);
  st.pending.clear();
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

caf::behavior journal_actor(journal_self* self, persistence::store* s) {
  self->state.store = s;
  return {
      [=](commit_atom, batch_ptr& b) -> caf::result<commit_outcome> {
        auto& st = self->state;
        st.pending.push_back({std::move(b), self->make_response_promise()});
        if (!st.flush_queued) {
          st.flush_queued = true;
          self->send(self, flush_atom::value);
        }
        return st.pending.back().promise;
      },
      [=](flush_atom) { flush(self); },
  };
}

}  // namespace

caf::actor spawn_journal(caf::actor_system& sys, persistence::store& s) {
  return sys.spawn<caf::detached>(journal_actor, &s);
}

}  // namespace rideshard::node
