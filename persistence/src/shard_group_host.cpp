// shard_group_host: fence, restore, serve on assignment; stop, mark, drop on
// revocation; writes to the changelog first, then to the store.
#include "rideshard/persistence/shard_group_host.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/outbox_relay.hpp"

namespace rideshard::persistence {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr auto admin_timeout = std::chrono::seconds(15);

/// The changelog topic exists (created as cluster_topics() makes it when
/// missing) with one partition per shard group and compaction.
result<void> check_changelog_topic(const ownership_options& own, const changelog_options& log) {
  if (log.bootstrap.empty()) return error{errc::invalid_argument, "kafka bootstrap is empty"};
  if (own.shard_groups < 1) return error{errc::invalid_argument, "shard_groups must be >= 1"};
  auto spec = cluster_topics(own.shard_groups, own.replication_factor).at(1);
  spec.name = log.topic;
  if (auto r = create_topics(log.bootstrap, {spec}, admin_timeout); !r) return r;
  auto n = topic_partitions(log.bootstrap, log.topic, admin_timeout);
  if (!n) return n.err();
  if (*n != own.shard_groups)
    return error{errc::bad_config, log.topic + " has " + std::to_string(*n) +
                                       " partitions, the cluster is configured for " +
                                       std::to_string(own.shard_groups) + " shard groups"};
  auto configs = topic_configs(log.bootstrap, log.topic, admin_timeout);
  if (!configs) return configs.err();
  const auto policy = configs->count("cleanup.policy") ? configs->at("cleanup.policy") : "";
  if (policy.find("compact") == std::string::npos)
    return error{errc::bad_config, log.topic + " has cleanup.policy=" + policy +
                                       ": the trip changelog must be compacted (a deleted "
                                       "segment would lose trips)"};
  return {};
}

}  // namespace

struct shard_group_host::impl {
  /// One served shard group. `mu` serializes its writes with its revocation.
  struct group_state {
    std::mutex mu;
    std::unique_ptr<changelog_writer> writer;  // null once revoked
    std::int64_t restored_end = 0;
    bool store_behind = false;  // a write reached Kafka but not the store: no mark
  };

  store* db = nullptr;
  changelog_options log;
  /// What start() joined with, for rejoin(); `member_mu` guards `ownership`
  /// against stop() and rejoin() at once.
  ownership_options own;
  ownership_listener callbacks;
  std::mutex member_mu;
  shard_group_listener listener;
  std::chrono::milliseconds restore_timeout{};
  // Held by the rebalance callbacks and retry_unserved: one assign/revoke at a
  // time. `assigned` is what the group gave this node (served or not), under it.
  std::mutex rebalance_mu;
  std::set<int> assigned;
  mutable std::mutex mu;  // guards groups, fenced and the counters
  std::map<int, std::shared_ptr<group_state>> groups;
  std::set<int> fenced;  // assigned, but a write found another owner had opened it
  std::uint64_t restored_records = 0, failed_groups = 0, refused_ledger_batches = 0,
                dropped_groups = 0;
  std::string last_error;
  std::unique_ptr<shard_ownership> ownership;  // last: stopped first

  void failed(int group, const error& e) {
    std::lock_guard lock(mu);
    ++failed_groups;
    last_error = "shard group " + std::to_string(group) + ": " + e.message;
  }

  /// Fences every group of `gs` first (opening its writer), then restores and
  /// serves them one by one: a previous owner is fenced without waiting behind
  /// the restores of the other groups.
  void assign(const std::vector<int>& gs, std::chrono::milliseconds timeout) {
    std::vector<std::pair<int, std::unique_ptr<changelog_writer>>> opened;
    for (int g : gs) {
      auto w = changelog_writer::open(log, g);
      if (!w)
        failed(g, w.err());
      else
        opened.emplace_back(g, std::move(*w));
    }
    for (auto& [g, w] : opened) {
      auto st = restore_shard_group(*db, log, g, timeout);
      if (!st) {
        failed(g, st.err());
        continue;
      }
      auto state = std::make_shared<group_state>();
      state->writer = std::move(w);
      state->restored_end = st->end_offset;
      {
        std::lock_guard lock(mu);
        groups[g] = state;
        fenced.erase(g);
        restored_records += st->records;
      }
      listener.serve(g, *st);
    }
  }

  /// A write found `state`'s writer fenced or in need of reopening (already
  /// reset under state->mu): the group stops being served here, with no mark.
  /// A fenced group is not reopened by retry_unserved (another node opened it)
  /// until the consumer group assigns it here again.
  void drop(int group, const std::shared_ptr<group_state>& state, bool was_fenced) {
    {
      std::lock_guard lock(mu);
      auto it = groups.find(group);
      if (it == groups.end() || it->second != state) return;  // revoked meanwhile
      groups.erase(it);
      if (was_fenced) fenced.insert(group);
      ++dropped_groups;
    }
    listener.stop(group, was_fenced);
  }

  void revoke(int group, bool lost) {
    std::shared_ptr<group_state> state;
    {
      std::lock_guard lock(mu);
      auto it = groups.find(group);
      if (it == groups.end()) return;  // never served (open or restore failed)
      state = it->second;
      groups.erase(it);
    }
    listener.stop(group, lost);
    std::lock_guard lock(state->mu);  // a write in flight finishes first
    // No writer: a write found it fenced or its commit outcome unknown: no mark.
    if (!lost && !state->store_behind && state->writer) {
      const changelog_mark mark{state->writer->next_offset().value_or(state->restored_end),
                                now_ms()};
      if (auto r = db->set_changelog_mark(group, mark); !r) failed(group, r.err());
    }
    state->writer.reset();
  }
};

shard_group_host::shard_group_host(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

shard_group_host::~shard_group_host() { stop(); }

result<std::unique_ptr<shard_group_host>> shard_group_host::start(
    store& s, const ownership_options& ownership, const changelog_options& changelog,
    shard_group_listener listener, std::chrono::milliseconds restore_timeout) {
  if (!listener.serve || !listener.stop)
    return error{errc::invalid_argument, "shard group listener needs serve and stop"};
  if (auto r = check_changelog_topic(ownership, changelog); !r) return r.err();
  auto p = std::make_unique<impl>();
  p->db = &s;
  p->log = changelog;
  p->listener = std::move(listener);
  p->restore_timeout = restore_timeout;
  impl* d = p.get();
  ownership_listener callbacks{[d](const std::vector<int>& gs) {
                                 std::lock_guard lock(d->rebalance_mu);
                                 d->assigned.insert(gs.begin(), gs.end());
                                 d->assign(gs, d->restore_timeout);
                               },
                               [d](const std::vector<int>& gs, bool lost) {
                                 std::lock_guard lock(d->rebalance_mu);
                                 for (int g : gs) {
                                   d->assigned.erase(g);
                                   {
                                     std::lock_guard glock(d->mu);
                                     d->fenced.erase(g);
                                   }
                                   d->revoke(g, lost);
                                 }
                               }};
  p->own = ownership;
  p->callbacks = callbacks;
  auto member = shard_ownership::start(ownership, std::move(callbacks));
  if (!member) return member.err();
  p->ownership = std::move(*member);
  return std::unique_ptr<shard_group_host>(new shard_group_host(std::move(p)));
}

result<void> shard_group_host::write(int group, const write_batch& batch) {
  std::shared_ptr<impl::group_state> state;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->groups.find(group);
    if (it != impl_->groups.end()) state = it->second;
  }
  const error not_here{errc::fenced,
                       "shard group " + std::to_string(group) + " is not served by this node"};
  if (!state) return not_here;
  result<void> written;
  {
    std::lock_guard lock(state->mu);
    if (!state->writer) return not_here;  // revoked or dropped while this write waited
    // The ledger decides before Kafka does: a refused chain makes nothing visible.
    if (auto ok = ledger(*impl_->db).check(batch); !ok) {
      std::lock_guard glock(impl_->mu);
      ++impl_->refused_ledger_batches;
      return ok.err();
    }
    written = state->writer->write(batch);
    if (written) {
      // The events went to Kafka inside the transaction: the outbox (and its
      // relay) must not publish them again.
      auto local = impl_->db->commit(batch.without_events());
      if (!local) {
        state->store_behind = true;
        return local.err();
      }
      return {};
    }
    if (written.code() != errc::fenced && !state->writer->needs_reopen()) return written;
    state->writer.reset();  // later writes of this group: not served here
  }
  // Fenced (another node owns the group now) or an unknown commit outcome: stop
  // serving it here, outside the group's lock (the listener may write).
  impl_->drop(group, state, written.code() == errc::fenced);
  return written;
}

std::size_t shard_group_host::retry_unserved(std::chrono::milliseconds restore_timeout) {
  impl& d = *impl_;
  std::lock_guard lock(d.rebalance_mu);
  std::vector<int> todo;
  for (int g : d.assigned) {
    {
      std::lock_guard glock(d.mu);
      if (d.groups.count(g) != 0 || d.fenced.count(g) != 0) continue;
    }
    // `assigned` may be stale (a revocation not delivered yet): opening a group
    // this member no longer holds would fence its real owner.
    if (d.ownership && d.ownership->holds(g)) todo.push_back(g);
  }
  d.assign(todo, restore_timeout);
  std::lock_guard glock(d.mu);
  return d.groups.size();
}

void shard_group_host::stop() {
  std::lock_guard lock(impl_->member_mu);
  if (impl_->ownership) impl_->ownership->stop();
}

result<void> shard_group_host::rejoin() {
  std::lock_guard lock(impl_->member_mu);
  if (impl_->ownership) {
    impl_->ownership->stop();  // idempotent: a member that left already
    impl_->ownership.reset();
  }
  auto member = shard_ownership::start(impl_->own, impl_->callbacks);
  if (!member) return member.err();
  impl_->ownership = std::move(*member);
  return {};
}

shard_group_host_stats shard_group_host::stats() const {
  std::lock_guard lock(impl_->mu);
  shard_group_host_stats out;
  for (const auto& [g, state] : impl_->groups) out.served.push_back(g);
  out.restored_records = impl_->restored_records;
  out.failed_groups = impl_->failed_groups;
  out.refused_ledger_batches = impl_->refused_ledger_batches;
  out.dropped_groups = impl_->dropped_groups;
  out.last_error = impl_->last_error;
  return out;
}

}  // namespace rideshard::persistence
