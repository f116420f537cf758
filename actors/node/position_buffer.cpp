// position_buffer: a matcher's last-write-wins buffer of driver positions.
#include "node/position_buffer.hpp"

#include <utility>

namespace rideshard::node {

position_buffer::deposit_status position_buffer::put(driver_id d, lat_lng pos, caf::actor actor,
                                                     bool urgent) {
  return store(d, pos, std::move(actor), urgent);
}

position_buffer::deposit_status position_buffer::withdraw(driver_id d) {
  return store(d, lat_lng{}, caf::actor{}, false);
}

position_buffer::deposit_status position_buffer::store(driver_id d, lat_lng pos, caf::actor actor,
                                                       bool urgent) {
  deposit_status out;
  const bool avail = static_cast<bool>(actor);
  ++counts_.deposits;
  if (auto it = at_.find(d); it != at_.end()) {
    auto& slot = items_[it->second];
    if (static_cast<bool>(slot.actor) != avail) {
      if (avail)
        ++available_;
      else
        --available_;
    }
    slot.pos = pos;
    slot.actor = std::move(actor);
    ++counts_.coalesced;
  } else {
    if (avail && available_ >= max_) {
      ++counts_.dropped;
      out.accepted = false;
      return out;
    }
    at_.emplace(d, items_.size());
    items_.push_back(position_update{d, pos, std::move(actor)});
    if (avail) ++available_;
  }
  if (urgent && !kick_pending_) out.kick = kick_pending_ = true;
  return out;
}

void position_buffer::drain(std::vector<position_update>& out) {
  out.clear();
  kick_pending_ = false;
  if (items_.empty()) return;
  items_.swap(out);
  at_.clear();
  available_ = 0;
  ++counts_.flushes;
  counts_.drained += out.size();
}

position_buffer::counters position_buffer::stats() const { return counts_; }

std::optional<flush_schedule::clock::duration> flush_schedule::on_deposit(clock::time_point now,
                                                                          bool waiting) {
  if (waiting) {
    // An armed timer due at least as early serves (a long one armed just before
    // the request began to wait does not).
    if (soon_due_ || (late_due_ && *late_due_ <= now + soon_)) return std::nullopt;
    soon_due_ = now + soon_;
    return soon_;
  }
  if (soon_due_ || late_due_) return std::nullopt;
  late_due_ = now + late_;
  return late_;
}

void flush_schedule::on_timed_flush(clock::time_point now) {
  if (soon_due_ && now >= *soon_due_) soon_due_.reset();
  if (late_due_ && now >= *late_due_) late_due_.reset();
}

}  // namespace rideshard::node
