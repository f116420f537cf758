// shard_index: available drivers of one shard, location batching into the
// index, fed drivers, and the answers to neighbours' probes and reservations.
#include "node/shard_index.hpp"

#include <algorithm>

namespace rideshard::node {
namespace {

spatial_index make_index(const bounding_box& bounds) {
  spatial_index_config cfg;
  cfg.bounds = bounds;
  return spatial_index::create(cfg).value();
}

}  // namespace

shard_index::shard_index(const bounding_box& bounds, std::size_t buffer_max, shard_pricing& pricing)
    : index_(make_index(bounds)), fleet_(bounds), positions_(buffer_max), pricing_(pricing) {}

// A driver is (still) available at pos with its actor.
void shard_index::took_position(driver_id d, lat_lng pos, const caf::actor& actor) {
  actors_[d] = actor;
  fleet_.forget(d);  // its app owns it now
  pricing_.supply_changed(d, pos);
}

bool shard_index::flush(bool timed) {
  if (!timed && positions_.empty()) return false;
  positions_.drain(drained_);
  if (drained_.empty()) return false;
  batch_.clear();
  const auto& bounds = index_.config().bounds;
  for (auto& u : drained_) {
    if (!u.actor) {
      remove(u.driver);
    } else if (u.driver.valid() && validate(u.pos) && bounds.contains(u.pos)) {
      batch_.push_back(driver_position{u.driver, u.pos});
    } else {
      u.actor = nullptr;  // rejected, as a single upsert would be
    }
  }
  bool added = false;
  if (!batch_.empty()) {
    if (!index_.upsert_batch(batch_)) {  // unexpected: fall back to single upserts
      for (auto& u : drained_)
        if (u.actor && !index_.upsert(u.driver, u.pos)) u.actor = nullptr;
    }
    for (auto& u : drained_) {
      if (!u.actor) continue;
      took_position(u.driver, u.pos, u.actor);
      added = true;
    }
  }
  drained_.clear();  // drop the actor handles now
  return added;
}

void shard_index::remove(driver_id d) {
  if (index_.contains(d)) (void)index_.remove(d);
  pricing_.supply_changed(d, std::nullopt);
}

void shard_index::put_back(driver_id d, lat_lng pos) {
  if (!actors_.count(d) || index_.contains(d)) return;
  if (index_.upsert(d, pos)) pricing_.supply_changed(d, pos);
}

reserve_answer shard_index::reserve(driver_id d) {
  reserve_answer a;
  auto pos = index_.position(d);
  auto da = actors_.find(d);
  if (!pos || da == actors_.end()) return a;
  remove(d);
  a.ok = true;
  a.pos = *pos;
  a.driver_actor = da->second;
  return a;
}

shard_probe_answer shard_index::probe(const shard_probe& p) {
  shard_probe_answer a;
  a.hits.resize(p.queries.size());
  for (std::size_t i = 0; i < p.queries.size(); ++i) {
    const auto& q = p.queries[i];
    auto& out = a.hits[i];
    const auto k = std::min(q.k, index_.config().max_k);
    if (k == 0) continue;
    if (q.with_fleet) {
      if (!fleet_.nearest(index_, q.center, q.radius_m, k, out)) out.clear();
      continue;
    }
    if (!index_.nearest(q.center, q.radius_m, k, out)) out.clear();
    // Only drivers we can hand out (indexed with an actor).
    out.erase(std::remove_if(out.begin(), out.end(),
                             [this](const neighbor& n) { return !has_actor(n.id); }),
              out.end());
  }
  return a;
}

fleet_applied shard_index::feed(fleet_upsert& u, std::int64_t now_ms, node_stats& stats) {
  for (auto d : u.forget) fleet_.forget(d);  // moved to another shard
  auto live = [this](driver_id d) { return has_actor(d); };
  fleet_applied a;
  auto reject = [&](errc code, std::string why) {
    stats.error(code);
    a.rejected.add(code, std::move(why));
  };
  a.accepted = fleet_.apply(u.samples, now_ms, live, reject);
  return a;
}

result<double> shard_index::nearby(lat_lng center, double radius_m, std::size_t k,
                                   std::vector<neighbor>& out) {
  if (auto ok = fleet_.nearest(index_, center, radius_m, k, out); !ok) return ok.err();
  return out.size() >= k && k > 0 ? out.back().distance_m : radius_m;
}

const caf::actor* shard_index::actor_of(driver_id d) const {
  auto it = actors_.find(d);
  return it == actors_.end() ? nullptr : &it->second;
}

}  // namespace rideshard::node
