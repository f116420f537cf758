// shard_ownership: a librdkafka consumer-group member on its own thread; the
// group's rebalances become assigned/revoked calls to the node.
#include "rideshard/persistence/shard_ownership.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "kafka_conf.hpp"
#include "rideshard/persistence/outbox_relay.hpp"

namespace rideshard::persistence {
namespace {

constexpr auto admin_timeout = std::chrono::seconds(15);
constexpr int poll_ms = 100;  // how quickly the thread notices stop()

std::vector<int> groups_of(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<int> out;
  for (int i = 0; parts && i < parts->cnt; ++i) out.push_back(parts->elems[i].partition);
  std::sort(out.begin(), out.end());
  return out;
}

/// The topic exists with exactly `options.shard_groups` partitions afterwards.
result<void> ensure_topic(const ownership_options& o) {
  if (auto r = create_topics(o.bootstrap, {{o.topic, o.shard_groups, o.replication_factor, {}}},
                             admin_timeout);
      !r)
    return r;
  auto n = topic_partitions(o.bootstrap, o.topic, admin_timeout);
  if (!n) return n.err();
  if (*n != o.shard_groups)
    return error{errc::bad_config, o.topic + " has " + std::to_string(*n) +
                                       " partitions, the cluster is configured for " +
                                       std::to_string(o.shard_groups) + " shard groups"};
  return {};
}

}  // namespace

struct shard_ownership::impl {
  ownership_options options;
  ownership_listener listener;
  rd_kafka_t* rk = nullptr;
  std::atomic<bool> running{false};
  std::thread thread;
  std::mutex stop_mu;     // one stop() joins the thread; a concurrent one waits for it
  mutable std::mutex mu;  // guards owned, rebalances, last_error
  std::vector<int> owned;
  std::vector<int> assigning;  // in an assigned callback, not yet taken (holds())
  std::uint64_t rebalances = 0;
  std::string last_error;

  ~impl() {
    if (rk) rd_kafka_destroy(rk);
  }

  void note_error(std::string what) {
    std::lock_guard lock(mu);
    last_error = std::move(what);
  }

  void on_assigned(rd_kafka_t* k, rd_kafka_topic_partition_list_t* parts) {
    const auto groups = groups_of(parts);
    {
      std::lock_guard lock(mu);
      assigning = groups;
    }
    // The user restores and starts serving first; the assignment is taken only after.
    if (!groups.empty()) listener.assigned(groups);
    {
      std::lock_guard lock(mu);
      ++rebalances;
      if (!options.cooperative) owned.clear();
      owned.insert(owned.end(), groups.begin(), groups.end());
      std::sort(owned.begin(), owned.end());
      owned.erase(std::unique(owned.begin(), owned.end()), owned.end());
    }
    if (options.cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(k, parts)) {
        note_error(std::string("incremental_assign: ") + rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else if (auto err = rd_kafka_assign(k, parts)) {
      note_error(std::string("assign: ") + rd_kafka_err2str(err));
    }
    std::lock_guard lock(mu);
    assigning.clear();
  }

  void on_revoked(rd_kafka_t* k, rd_kafka_topic_partition_list_t* parts) {
    const auto groups = groups_of(parts);
    // Serving stops before the group may hand these shard groups to another member.
    if (!groups.empty()) listener.revoked(groups, rd_kafka_assignment_lost(k) != 0);
    {
      std::lock_guard lock(mu);
      ++rebalances;
      auto gone = [&](int g) { return std::binary_search(groups.begin(), groups.end(), g); };
      owned.erase(std::remove_if(owned.begin(), owned.end(), gone), owned.end());
    }
    if (options.cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(k, parts)) {
        note_error(std::string("incremental_unassign: ") + rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      (void)rd_kafka_assign(k, nullptr);
    }
  }

  static void on_rebalance(rd_kafka_t* k, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) return self->on_assigned(k, parts);
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) return self->on_revoked(k, parts);
    self->note_error(std::string("rebalance: ") + rd_kafka_err2str(err));
    self->on_revoked(k, parts);  // whatever happened, nothing is served without the group
  }

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<impl*>(opaque)->note_error(
        reason ? reason : rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
  }

  result<void> make_consumer() {
    const auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()); };
    auto conf =
        kafka::make_conf({{"bootstrap.servers", options.bootstrap},
                          {"group.id", options.group},
                          {"client.id", options.member},
                          {"partition.assignment.strategy",
                           options.cooperative ? "cooperative-sticky" : "roundrobin"},
                          {"session.timeout.ms", ms(options.session_timeout)},
                          {"heartbeat.interval.ms", ms(options.heartbeat_interval)},
                          {"max.poll.interval.ms", ms(options.max_callback_time)},
                          // The topic holds no records: membership is all this consumer is for.
                          {"enable.auto.commit", "false"},
                          {"enable.auto.offset.store", "false"},
                          {"auto.offset.reset", "latest"}},
                         options.consumer_config);
    if (!conf) return conf.err();
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_rebalance_cb(*conf, &impl::on_rebalance);
    rd_kafka_conf_set_error_cb(*conf, &impl::on_error);
    auto rk_or = kafka::new_consumer(*conf);
    if (!rk_or) return rk_or.err();
    rk = *rk_or;
    rd_kafka_poll_set_consumer(rk);
    auto* subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, options.topic.c_str(), RD_KAFKA_PARTITION_UA);
    auto err = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) return error{errc::broker_error, std::string("subscribe: ") + rd_kafka_err2str(err)};
    return {};
  }

  void run() {
    while (running) {
      // Rebalance callbacks run inside this poll.
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, poll_ms)) {
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          note_error(std::string("consumer: ") + rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
      }
    }
    // librdkafka 2.0.2 can assert when a cooperative consumer is closed in the
    // middle of its first rebalance (confluentinc/librdkafka#4312, fixed in
    // 2.2.1): before closing, let the join finish (bounded by the session timeout).
    const auto joined = [&] {
      std::lock_guard lock(mu);
      return rebalances > 0;
    };
    const auto deadline = std::chrono::steady_clock::now() + options.session_timeout;
    while (options.cooperative && !joined() && std::chrono::steady_clock::now() < deadline)
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, poll_ms)) rd_kafka_message_destroy(m);
    // Leaves the group; the final revoke runs here, on this thread.
    if (auto err = rd_kafka_consumer_close(rk))
      note_error(std::string("close: ") + rd_kafka_err2str(err));
  }
};

shard_ownership::shard_ownership(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

shard_ownership::~shard_ownership() { stop(); }

result<std::unique_ptr<shard_ownership>> shard_ownership::start(const ownership_options& options,
                                                                ownership_listener listener) {
  if (options.bootstrap.empty()) return error{errc::invalid_argument, "kafka bootstrap is empty"};
  if (options.shard_groups < 1) return error{errc::invalid_argument, "shard_groups must be >= 1"};
  if (!listener.assigned || !listener.revoked)
    return error{errc::invalid_argument, "ownership listener needs assigned and revoked"};
  if (auto r = ensure_topic(options); !r) return r.err();
  auto p = std::make_unique<impl>();
  p->options = options;
  p->listener = std::move(listener);
  if (auto r = p->make_consumer(); !r) return r.err();
  p->running = true;
  p->thread = std::thread([d = p.get()] { d->run(); });
  return std::unique_ptr<shard_ownership>(new shard_ownership(std::move(p)));
}

void shard_ownership::stop() {
  std::lock_guard lock(impl_->stop_mu);
  impl_->running = false;
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool shard_ownership::holds(int shard_group) const {
  rd_kafka_t* rk = impl_->rk;
  if (!impl_->running || rd_kafka_assignment_lost(rk)) return false;
  {
    // Assigned but not taken yet: the callback has returned or is running.
    std::lock_guard lock(impl_->mu);
    const auto& a = impl_->assigning;
    if (std::find(a.begin(), a.end(), shard_group) != a.end()) return true;
  }
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (rd_kafka_assignment(rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  const bool found = rd_kafka_topic_partition_list_find(parts, impl_->options.topic.c_str(),
                                                        shard_group) != nullptr;
  rd_kafka_topic_partition_list_destroy(parts);
  return found;
}

std::vector<int> shard_ownership::owned() const {
  std::lock_guard lock(impl_->mu);
  return impl_->owned;
}

ownership_stats shard_ownership::stats() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->rebalances, impl_->owned, impl_->last_error};
}

}  // namespace rideshard::persistence
