// fleet_index: the per-shard index of fed drivers and the merged nearby query.
#include "node/fleet_index.hpp"

#include <algorithm>

namespace rideshard::node {

std::uint32_t fleet_index::apply(std::vector<driver_position>& samples, std::int64_t now_ms,
                                 const std::function<bool(driver_id)>& is_live,
                                 const std::function<void(errc, std::string)>& reject) {
  const auto live_end = std::stable_partition(
      samples.begin(), samples.end(), [&](const driver_position& p) { return !is_live(p.id); });
  for (auto it = live_end; it != samples.end(); ++it)
    reject(errc::duplicate_id,
           to_string(it->id) + " is connected as a driver; its app owns its position");
  const auto n = static_cast<std::size_t>(live_end - samples.begin());
  if (n == 0) return 0;
  if (!index_) {
    spatial_index_config cfg;
    cfg.bounds = bounds_;
    auto idx = spatial_index::create(cfg);
    if (!idx) {
      reject(idx.code(), idx.err().message);
      return 0;
    }
    index_.emplace(std::move(*idx));
  }
  // The facade checked ids, coordinates and region; anything the index still
  // refuses is counted as one rejection with the index's message.
  if (auto ok = index_->upsert_batch(samples.data(), n); !ok) {
    reject(ok.code(), ok.err().message);
    return 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    last_seen_[samples[i].id] = now_ms;
    seen_.emplace_back(now_ms, samples[i].id);
  }
  return static_cast<std::uint32_t>(n);
}

void fleet_index::forget(driver_id d) {
  if (index_ && index_->contains(d)) (void)index_->remove(d);
  last_seen_.erase(d);
}

std::size_t fleet_index::expire(std::int64_t cutoff_ms) {
  std::size_t gone = 0;
  while (!seen_.empty() && seen_.front().first < cutoff_ms) {
    const auto [at, d] = seen_.front();
    seen_.pop_front();
    auto it = last_seen_.find(d);
    if (it == last_seen_.end() || it->second != at) continue;  // seen again since
    last_seen_.erase(it);
    if (index_ && index_->contains(d)) (void)index_->remove(d);
    ++gone;
  }
  return gone;
}

result<void> fleet_index::nearest(const spatial_index& live, lat_lng center, double radius_m,
                                  std::size_t k, std::vector<neighbor>& out) {
  if (auto ok = live.nearest(center, radius_m, k, out); !ok) return ok;
  if (!index_ || index_->size() == 0) return {};
  if (auto ok = index_->nearest(center, radius_m, k, scratch_); !ok) return ok;
  if (scratch_.empty()) return {};
  const auto mid = out.size();
  out.insert(out.end(), scratch_.begin(), scratch_.end());
  auto closer = [](const neighbor& a, const neighbor& b) {
    return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
  };
  std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(mid), out.end(),
                     closer);
  // No id is in both indices: feeds for live drivers are refused and a driver
  // that comes online is forgotten here (region_matcher).
  if (out.size() > k) out.resize(k);
  return {};
}

}  // namespace rideshard::node
