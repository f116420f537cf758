// surge_engine: per-cell ring of time buckets (requests, latest supply sample),
// an EMA folded once per completed bucket, and a provisional EMA step for the
// current bucket so a spike shows within one bucket, not one bucket late.
#include "rideshard/engine/surge.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace rideshard {
namespace {

bool finite_in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

result<void> bad(const std::string& what) { return {errc::bad_config, "surge " + what}; }

}  // namespace

result<void> validate(const surge_config& c) {
  if (c.bucket_ms <= 0) return bad("bucket_ms must be > 0");
  if (c.window_ms < c.bucket_ms || c.window_ms % c.bucket_ms != 0)
    return bad("window_ms must be a positive multiple of bucket_ms");
  if (c.window_ms / c.bucket_ms > 1024) return bad("window_ms / bucket_ms must be <= 1024");
  if (c.cell_level < 0 || c.cell_level > max_cell_level)
    return bad("cell_level must be in [0, 28]");
  if (!finite_in(c.threshold_ratio, 0, 1e6)) return bad("threshold_ratio must be in [0, 1e6]");
  if (!finite_in(c.slope, 0, 1e6)) return bad("slope must be in [0, 1e6]");
  if (c.min_requests < 0) return bad("min_requests must be >= 0");
  if (c.step_permille < 1 || c.step_permille > 1000 || 1000 % c.step_permille != 0)
    return bad("step_permille must divide 1000");
  if (c.cap_permille < 1000 || c.cap_permille > 50000 || c.cap_permille % c.step_permille != 0)
    return bad("cap_permille must be in [1000, 50000] and a multiple of step_permille");
  if (!(c.smoothing_alpha > 0.0 && c.smoothing_alpha <= 1.0))
    return bad("smoothing_alpha must be in (0, 1]");
  return {};
}

result<surge_engine> surge_engine::create(const surge_config& cfg) {
  if (auto r = validate(cfg); !r) return r.err();
  return surge_engine{cfg};
}

result<cell_id> surge_engine::cell_for(lat_lng p) const {
  if (auto r = validate(p); !r) return r.err();
  return cell_of(p, cfg_.cell_level);
}

result<void> surge_engine::check_time(std::int64_t now_ms) {
  if (now_ms < 0) return {errc::invalid_argument, "surge time must be >= 0 ms"};
  const std::int64_t b = now_ms / cfg_.bucket_ms;
  if (b < clock_bucket_)
    return {errc::stale_timestamp,
            "surge time " + std::to_string(now_ms) + " ms is before the current bucket"};
  clock_bucket_ = b;
  return {};
}

double surge_engine::raw_at(const cell_state& st, std::int64_t end_bucket) const {
  const auto n = static_cast<std::int64_t>(st.ring.size());
  std::int64_t requests = 0;
  std::int64_t supply = 0;
  std::int64_t supply_bucket = -1;
  for (const bucket& b : st.ring) {
    if (b.index <= end_bucket - n || b.index > end_bucket) continue;
    requests += b.requests;
    if (b.supply >= 0 && b.index > supply_bucket) {
      supply = b.supply;
      supply_bucket = b.index;
    }
  }
  if (requests < cfg_.min_requests) return 1.0;
  const double ratio =
      static_cast<double>(requests) / static_cast<double>(std::max<std::int64_t>(1, supply));
  if (ratio <= cfg_.threshold_ratio) return 1.0;
  return 1.0 + cfg_.slope * (ratio - cfg_.threshold_ratio);
}

void surge_engine::advance(cell_state& st, std::int64_t now_bucket) const {
  if (st.ema_bucket < 0) st.ema_bucket = now_bucket - 1;
  const double alpha = cfg_.smoothing_alpha;
  const auto n = static_cast<std::int64_t>(st.ring.size());
  // Data never lies beyond ema_bucket + 1 (the bucket current at the last touch),
  // so windows ending at or after ema_bucket + 1 + n are empty: raw == 1 there.
  const std::int64_t first = st.ema_bucket + 1;
  const std::int64_t last = now_bucket - 1;
  const std::int64_t loop_last = std::min(last, first + n - 1);
  for (std::int64_t e = first; e <= loop_last; ++e)
    st.ema = alpha * raw_at(st, e) + (1.0 - alpha) * st.ema;
  if (last > loop_last)
    st.ema = 1.0 + (st.ema - 1.0) * std::pow(1.0 - alpha, static_cast<double>(last - loop_last));
  st.ema_bucket = std::max(st.ema_bucket, last);
}

result<surge_engine::cell_state*> surge_engine::touch(cell_id cell, std::int64_t now_ms) {
  if (cell_level(cell) != cfg_.cell_level)
    return {errc::invalid_argument,
            "surge cell is not at level " + std::to_string(cfg_.cell_level)};
  if (auto r = check_time(now_ms); !r) return r.err();
  auto [it, inserted] = cells_.try_emplace(cell.value);
  cell_state& st = it->second;
  if (inserted) st.ring.resize(static_cast<std::size_t>(cfg_.window_ms / cfg_.bucket_ms));
  advance(st, clock_bucket_);
  return &st;
}

result<void> surge_engine::record_request(cell_id cell, std::int64_t now_ms) {
  auto st = touch(cell, now_ms);
  if (!st) return st.err();
  const std::int64_t b = now_ms / cfg_.bucket_ms;
  bucket& slot = (*st)->ring[static_cast<std::size_t>(b) % (*st)->ring.size()];
  if (slot.index != b) slot = bucket{b, 0, -1};
  ++slot.requests;
  return {};
}

result<void> surge_engine::record_supply(cell_id cell, std::int64_t available_drivers,
                                         std::int64_t now_ms) {
  if (available_drivers < 0)
    return {errc::invalid_argument,
            "surge supply must be >= 0, got " + std::to_string(available_drivers)};
  auto st = touch(cell, now_ms);
  if (!st) return st.err();
  const std::int64_t b = now_ms / cfg_.bucket_ms;
  bucket& slot = (*st)->ring[static_cast<std::size_t>(b) % (*st)->ring.size()];
  if (slot.index != b) slot = bucket{b, 0, -1};
  slot.supply = available_drivers;
  return {};
}

cell_surge surge_engine::view(cell_id cell, const cell_state& st, std::int64_t now_bucket) const {
  const double alpha = cfg_.smoothing_alpha;
  const double provisional = alpha * raw_at(st, now_bucket) + (1.0 - alpha) * st.ema;
  const double capped = std::min(provisional * 1000.0, static_cast<double>(cfg_.cap_permille));
  const auto p = static_cast<std::int64_t>(std::floor(capped + 0.5));
  const std::int64_t step = cfg_.step_permille;
  std::int64_t q = (p + step / 2) / step * step;
  q = std::clamp<std::int64_t>(q, 1000, cfg_.cap_permille);

  cell_surge out;
  out.cell = cell;
  out.multiplier_permille = static_cast<std::int32_t>(q);
  const auto n = static_cast<std::int64_t>(st.ring.size());
  std::int64_t supply_bucket = -1;
  for (const bucket& b : st.ring) {
    if (b.index <= now_bucket - n || b.index > now_bucket) continue;
    out.requests_in_window += b.requests;
    if (b.supply >= 0 && b.index > supply_bucket) {
      out.available_drivers = b.supply;
      supply_bucket = b.index;
    }
  }
  return out;
}

result<std::int32_t> surge_engine::multiplier_permille(cell_id cell, std::int64_t now_ms) {
  if (cell_level(cell) != cfg_.cell_level)
    return {errc::invalid_argument,
            "surge cell is not at level " + std::to_string(cfg_.cell_level)};
  auto it = cells_.find(cell.value);
  if (it == cells_.end()) {
    if (auto r = check_time(now_ms); !r) return r.err();
    return std::int32_t{1000};  // an untracked cell has never surged
  }
  auto st = touch(cell, now_ms);
  if (!st) return st.err();
  return view(cell, **st, clock_bucket_).multiplier_permille;
}

result<std::vector<cell_surge>> surge_engine::snapshot(std::int64_t now_ms) {
  if (auto r = check_time(now_ms); !r) return r.err();
  std::vector<cell_surge> out;
  out.reserve(cells_.size());
  for (auto& [key, st] : cells_) {
    advance(st, clock_bucket_);
    out.push_back(view(cell_id{key}, st, clock_bucket_));
  }
  std::sort(out.begin(), out.end(),
            [](const cell_surge& a, const cell_surge& b) { return a.cell < b.cell; });
  return out;
}

std::size_t surge_engine::prune(std::int64_t now_ms) {
  const std::int64_t now_bucket = std::max(clock_bucket_, now_ms / cfg_.bucket_ms);
  clock_bucket_ = now_bucket;
  const double tolerance = cfg_.step_permille / 2000.0;  // half a step, as a multiplier
  std::size_t dropped = 0;
  for (auto it = cells_.begin(); it != cells_.end();) {
    cell_state& st = it->second;
    advance(st, now_bucket);
    const auto n = static_cast<std::int64_t>(st.ring.size());
    const bool idle = std::none_of(st.ring.begin(), st.ring.end(), [&](const bucket& b) {
      return b.index > now_bucket - n && b.index <= now_bucket;
    });
    if (idle && std::abs(st.ema - 1.0) < tolerance) {
      it = cells_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace rideshard
