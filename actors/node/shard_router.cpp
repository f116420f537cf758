// shard_router: shard lookup and the entity directory (spawn, revive, release).
#include "node/shard_router.hpp"

#include <algorithm>

#include "node/driver_actor.hpp"
#include "node/region_matcher.hpp"
#include "node/rider_actor.hpp"
#include "node/shard_search.hpp"
#include "node/trip_actor.hpp"

namespace rideshard::node {

shard_router::shard_router(caf::actor_system& sys, context_ptr ctx)
    : sys_(sys), ctx_(std::move(ctx)) {}

std::optional<shard_key> shard_router::shard_of(lat_lng p) const {
  if (!validate(p)) return std::nullopt;
  for (std::size_t i = 0; i < ctx_->regions.size(); ++i) {
    const region& r = ctx_->regions[i];
    if (!r.bounds.contains(p)) continue;
    auto cell = cell_of(p, r.shard_level);
    if (!cell) return std::nullopt;
    return shard_key{i, *cell};
  }
  return std::nullopt;
}

matcher_handle shard_router::matcher_at(lat_lng p) {
  auto key = shard_of(p);
  if (!key) return {};
  return matcher(*key);
}

matcher_handle shard_router::matcher(const shard_key& key) {
  std::lock_guard<std::mutex> lock{mu_};
  return shard_locked(key).matcher;
}

shard_handle shard_router::shard_at(lat_lng p) {
  auto key = shard_of(p);
  if (!key) return {};
  std::lock_guard<std::mutex> lock{mu_};
  return shard_locked(*key);
}

shard_handle shard_router::shard_locked(const shard_key& key) {
  auto it = matchers_.find(key);
  if (it != matchers_.end()) return {it->second, positions_[key]};
  if (stopped_) return {};
  auto buf = std::make_shared<position_buffer>(ctx_->opts.location_buffer_max);
  auto m = track(spawn_region_matcher(sys_, ctx_, key.region, key.cell, buf), 0);
  matchers_.emplace(key, m);
  positions_[key] = buf;
  return {m, std::move(buf)};
}

position_buffer::counters shard_router::location_stats() const {
  std::vector<std::shared_ptr<position_buffer>> bufs;
  {
    std::lock_guard<std::mutex> lock{mu_};
    for (const auto& kv : positions_) bufs.push_back(kv.second);
  }
  position_buffer::counters sum;
  for (const auto& b : bufs) {
    auto c = b->stats();
    sum.deposits += c.deposits;
    sum.coalesced += c.coalesced;
    sum.dropped += c.dropped;
    sum.flushes += c.flushes;
    sum.drained += c.drained;
  }
  return sum;
}

std::vector<shard_key> shard_router::shard_keys() const {
  std::lock_guard<std::mutex> lock{mu_};
  std::vector<shard_key> out;
  for (const auto& kv : matchers_) out.push_back(kv.first);
  return out;
}

std::vector<matcher_handle> shard_router::neighbours(const shard_key& own, lat_lng center,
                                                     double radius_m) {
  if (own.region >= ctx_->regions.size()) return {};
  const region& r = ctx_->regions[own.region];
  bool overflow = false;
  auto cells = cells_within(center, radius_m, r.shard_level, r.bounds, overflow);
  std::vector<std::pair<double, matcher_handle>> found;
  {
    std::lock_guard<std::mutex> lock{mu_};
    if (!overflow) {
      for (auto c : cells) {
        if (c == own.cell) continue;
        auto it = matchers_.find(shard_key{own.region, c});
        if (it != matchers_.end()) found.emplace_back(distance_to_cell_m(center, c), it->second);
      }
    } else {  // a huge circle: scan the live shards of the region instead
      for (auto it = matchers_.lower_bound(shard_key{own.region, cell_id{0}});
           it != matchers_.end() && it->first.region == own.region; ++it) {
        if (it->first.cell == own.cell) continue;
        auto d = distance_to_cell_m(center, it->first.cell);
        if (d <= radius_m) found.emplace_back(d, it->second);
      }
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<matcher_handle> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

driver_handle shard_router::driver_locked(driver_id id) {
  if (stopped_) return {};
  auto& slot = drivers_[id];
  if (!slot) slot = track(spawn_driver_actor(sys_, ctx_, id), 1);
  return slot;
}

rider_handle shard_router::rider_locked(rider_id id) {
  if (stopped_) return {};
  auto& slot = riders_[id];
  if (!slot) slot = track(spawn_rider_actor(sys_, ctx_, id), 2);
  return slot;
}

bool shard_router::release_driver(driver_id id, const driver_handle& self) {
  std::lock_guard<std::mutex> lock{mu_};
  auto it = drivers_.find(id);
  if (it == drivers_.end() || it->second != self) return false;
  drivers_.erase(it);
  return true;
}

bool shard_router::release_rider(rider_id id, const rider_handle& self) {
  std::lock_guard<std::mutex> lock{mu_};
  auto it = riders_.find(id);
  if (it == riders_.end() || it->second != self) return false;
  riders_.erase(it);
  return true;
}

trip_handle shard_router::create_trip(trip_id id, rider_id rider, rider_handle rider_actor,
                                      lat_lng pickup, lat_lng dropoff,
                                      std::optional<schemas::quote> quoted, std::uint64_t reply_seq,
                                      std::int64_t request_in_us) {
  trip_init init{id,        rider,         std::move(rider_actor),
                 pickup,    dropoff,       std::move(quoted),
                 reply_seq, request_in_us, std::nullopt};
  // Spawned outside the lock: the trip's start-up asks the router for its shard.
  {
    std::lock_guard<std::mutex> lock{mu_};
    if (stopped_) return {};
  }
  auto t = track(spawn_trip_actor(sys_, ctx_, std::move(init)), 3);
  std::lock_guard<std::mutex> lock{mu_};
  if (stopped_) {  // shutdown raced the spawn
    caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
    return {};
  }
  trips_.emplace(id, t);
  return t;
}

trip_handle shard_router::revive_trip(const rideshard::trip& t) {
  trip_init init{t.id, t.rider, rider(t.rider), t.pickup, t.dropoff, std::nullopt, 0, {}, t};
  {
    std::lock_guard<std::mutex> lock{mu_};
    if (stopped_) return {};
  }
  auto a = track(spawn_trip_actor(sys_, ctx_, std::move(init)), 3);
  std::lock_guard<std::mutex> lock{mu_};
  if (stopped_) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    return {};
  }
  trips_.emplace(t.id, a);
  return a;
}

driver_handle shard_router::driver(driver_id id) {
  std::lock_guard<std::mutex> lock{mu_};
  return driver_locked(id);
}

rider_handle shard_router::rider(rider_id id) {
  std::lock_guard<std::mutex> lock{mu_};
  return rider_locked(id);
}

trip_handle shard_router::trip(trip_id id) {
  std::lock_guard<std::mutex> lock{mu_};
  auto it = trips_.find(id);
  return it == trips_.end() ? trip_handle{} : it->second;
}

void shard_router::release_trip(trip_id id) {
  std::lock_guard<std::mutex> lock{mu_};
  trips_.erase(id);
}

template <class Handle>
Handle shard_router::track(Handle a, int kind) {
  if (!a) return a;
  auto counts = running_;
  ++(*counts)[kind];
  a->attach_functor([counts, kind] { --(*counts)[kind]; });
  return a;
}

int shard_router::running_actors() const {
  int n = 0;
  for (const auto& c : *running_) n += c.load();
  return n;
}

std::string shard_router::running_summary() const {
  const auto& c = *running_;
  return "matchers=" + std::to_string(c[0].load()) + " drivers=" + std::to_string(c[1].load()) +
         " riders=" + std::to_string(c[2].load()) + " trips=" + std::to_string(c[3].load());
}

std::size_t shard_router::live_entities() const {
  std::lock_guard<std::mutex> lock{mu_};
  return drivers_.size() + riders_.size() + trips_.size();
}

void shard_router::stop_all() {
  std::lock_guard<std::mutex> lock{mu_};
  stopped_ = true;
  auto stop = [](auto& map) {
    for (auto& kv : map) caf::anon_send_exit(kv.second, caf::exit_reason::user_shutdown);
    map.clear();
  };
  stop(matchers_);
  stop(drivers_);
  stop(riders_);
  stop(trips_);
}

}  // namespace rideshard::node
