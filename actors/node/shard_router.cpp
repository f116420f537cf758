// shard_router: the facade's forwarding and lookups through the shard directory.
#include "node/shard_router.hpp"

namespace rideshard::node {

shard_router::shard_router(caf::actor_system& sys, context_ptr ctx)
    : sys_(sys), ctx_(std::move(ctx)) {
  dir_ = spawn_shard_directory(sys_, ctx_, counters_);
  ctx_->directory = caf::actor_cast<caf::actor>(dir_);
}

matcher_handle shard_router::matcher_at(lat_lng p) {
  auto key = shard_of(p);
  if (!key) return {};
  return matcher(*key);
}

matcher_handle shard_router::matcher(const shard_key& key) {
  {
    std::lock_guard<std::mutex> lock{mu_};
    // Cluster mode: a shard group that left this node took its matchers along.
    if (const auto epoch = ctx_->groups->epoch(); epoch != epoch_) {
      matchers_.clear();
      epoch_ = epoch;
    }
    if (auto it = matchers_.find(key); it != matchers_.end()) return it->second;
  }
  matcher_handle m;
  caf::scoped_actor self{sys_};
  self->request(dir_, ctx_->opts.query_timeout, shard_atom::value, key)
      .receive([&](matcher_handle& h) { m = std::move(h); }, [](caf::error&) {});
  if (!m) return m;
  std::lock_guard<std::mutex> lock{mu_};
  return matchers_.emplace(key, m).first->second;
}

std::vector<shard_key> shard_router::shard_keys() const {
  std::vector<shard_key> out;
  caf::scoped_actor self{sys_};
  self->request(dir_, ctx_->opts.query_timeout, keys_atom::value)
      .receive([&](std::vector<shard_key>& keys) { out = std::move(keys); }, [](caf::error&) {});
  return out;
}

trip_handle shard_router::revive_trip(const rideshard::trip& t) {
  trip_init init;
  init.id = t.id;
  init.rider = t.rider;
  init.pickup = t.pickup;
  init.dropoff = t.dropoff;
  init.recovered = t;
  trip_handle out;
  caf::scoped_actor self{sys_};
  self->request(dir_, caf::infinite, create_atom::value, std::move(init))
      .receive([&](trip_handle& a) { out = std::move(a); }, [](caf::error&) {});
  return out;
}

trip_handle shard_router::trip(trip_id id) const {
  trip_handle out;
  caf::scoped_actor self{sys_};
  self->request(dir_, ctx_->opts.query_timeout, lookup_atom::value, id)
      .receive([&](trip_handle& a) { out = std::move(a); }, [](caf::error&) {});
  return out;
}

int shard_router::running_actors() const {
  int n = 0;
  for (const auto& c : counters_->running) n += c.load();
  return n;
}

std::string shard_router::running_summary() const {
  const auto& c = counters_->running;
  return "matchers=" + std::to_string(c[0].load()) + " drivers=" + std::to_string(c[1].load()) +
         " riders=" + std::to_string(c[2].load()) + " trips=" + std::to_string(c[3].load());
}

void shard_router::stop_all() {
  {
    std::lock_guard<std::mutex> lock{mu_};
    matchers_.clear();
  }
  caf::scoped_actor self{sys_};
  self->request(dir_, caf::infinite, stop_atom::value).receive([](bool) {}, [](caf::error&) {});
}

void shard_router::close() { caf::anon_send_exit(dir_, caf::exit_reason::user_shutdown); }

}  // namespace rideshard::node
