// matcher_batch: batched mode of a shard's dispatcher — requests wait for a
// window of batch_window_ms, then batch_assign (engine, min total pickup ETA)
// matches them over our drivers and, near shard edges, the neighbours'. A
// request left out of batch.max_windows_lost windows with a driver in reach is
// served first in the next.
#include <algorithm>
#include <utility>

#include "node/matcher_dispatch.hpp"
#include "node/matcher_search.hpp"

namespace rideshard::node {
namespace {

// The waiting requests (no open offer, no search), oldest first, capped.
std::vector<batch_request> window_requests(matcher_self self) {
  auto& st = self->state;
  const auto now = st.ctx->now();
  std::vector<batch_request> reqs;
  for (auto& [trip, p] : st.book.pending)
    if (!p.offered.valid() && !p.searching)
      reqs.push_back({trip, p.pickup,
                      std::clamp<std::int64_t>(now - p.requested_at_ms, 0, 3'600'000),
                      p.windows_lost});
  // Oldest first (ids grow with time), so the cap keeps the longest waiting.
  std::sort(reqs.begin(), reqs.end(),
            [](const batch_request& a, const batch_request& b) { return a.trip < b.trip; });
  if (reqs.size() > st.reg->batch.max_requests) reqs.resize(st.reg->batch.max_requests);
  return reqs;
}

// The requests of this window left without an offer: one with nobody at all
// within batch.max_radius_m counts towards no_driver_timeout (from the first
// such window since its last offer); one that had candidates but lost them
// to other requests starts afresh. While such requests wait, windows repeat,
// so a driver freed in a neighbour shard (who tells only its own matcher) is
// seen within a window.
void note_nobody(matcher_self self, const std::vector<batch_request>& reqs,
                 const spatial_index& available) {
  auto& st = self->state;
  if (st.ctx->opts.no_driver_timeout.count() <= 0) return;
  bool waiting = false;
  for (const auto& r : reqs) {
    auto it = st.book.pending.find(r.trip);
    if (it == st.book.pending.end() || it->second.offered.valid()) continue;
    auto& p = it->second;
    if (someone_within(p, available, st.reg->batch.max_radius_m)) {
      p.nobody_since_ms.reset();
      continue;
    }
    if (!p.nobody_since_ms) p.nobody_since_ms = st.ctx->now();
    waiting = true;
  }
  if (!waiting) return;
  arm_no_driver_check(self);
  arm_window(self);
}

// Assigns `reqs` over `available` with batch_assign and offers each match
// (remote drivers are reserved first); the rest wait for the next window.
void assign_window(matcher_self self, const std::vector<batch_request>& reqs,
                   const spatial_index& available) {
  auto& st = self->state;
  auto solved = batch_assign(reqs, available, st.pricing->eta(), st.reg->batch);
  if (!solved) return;
  // Left out although a driver was in reach: at batch.max_windows_lost the
  // request is served first (engine/matching.hpp), so it loses boundedly often.
  // A driver kept for a nearer rider (batch.leave_out_s) stays in our index:
  // the next window comes whether or not new supply or demand arms it.
  for (auto i : solved->left_out) ++st.book.pending.at(reqs[i].trip).windows_lost;
  if (!solved->left_out.empty()) arm_window(self);
  std::vector<trip_id> fallback;
  for (const auto& m : solved->matches) {
    auto& p = st.book.pending.at(m.trip);
    // batch_assign knows no per-request exclusions: a driver this request
    // already declined or timed out on is not asked again; the request takes
    // the best other driver left (sequential ranking) after the matches.
    if (p.excluded.count(m.driver) != 0) {
      fallback.push_back(m.trip);
      continue;
    }
    if (auto ow = st.scratch.owner.find(m.driver); ow != st.scratch.owner.end()) {
      reserve_remote(self, p, m.trip, m.driver, m.eta_s, ow->second);
      continue;
    }
    const auto* da = st.drivers->actor_of(m.driver);
    if (!da) {
      fallback.push_back(m.trip);
      continue;
    }
    send_local_offer(self, p, m.driver, *da, m.eta_s);
  }
  note_nobody(self, reqs, available);
  clear_scratch(self);  // the fallback searches on its own
  for (auto t : fallback) sequential_offer(self, t);
}

}  // namespace

void arm_window(matcher_self self) {
  auto& book = self->state.book;
  if (book.window_searching) {
    book.window_rearm = true;
    return;
  }
  if (book.window_armed) return;
  book.window_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(self->state.reg->batch_window_ms),
                     batch_window{});
}

// Requests near a shard edge first probe the neighbour shards their candidate
// radius reaches (one message per neighbour).
void solve_window(matcher_self self) {
  auto& st = self->state;
  auto reqs = window_requests(self);
  if (reqs.empty()) return;
  const auto& cfg = st.reg->batch;
  std::vector<matcher_handle> targets;
  std::vector<shard_probe> probes;
  for (const auto& r : reqs) {
    for (auto& t : neighbours(st.shards, st.ctx->regions, st.key, r.pickup, cfg.max_radius_m)) {
      auto at = std::find(targets.begin(), targets.end(), t) - targets.begin();
      if (static_cast<std::size_t>(at) == targets.size()) {
        targets.push_back(t);
        probes.emplace_back();
      }
      probes[static_cast<std::size_t>(at)].queries.push_back(
          {r.pickup, cfg.max_radius_m, cfg.k, false});
    }
  }
  if (targets.empty()) return assign_window(self, reqs, st.drivers->available());
  st.book.window_searching = true;
  probe_neighbours(self, std::move(targets), std::move(probes), [self](probe_round& r) {
    auto& s = self->state;
    s.book.window_searching = false;
    auto now_reqs = window_requests(self);  // some may have been cancelled meanwhile
    if (!now_reqs.empty()) {
      const auto& c = s.reg->batch;
      for (const auto& q : now_reqs)
        if (auto local = s.drivers->available().nearest(q.pickup, c.max_radius_m, c.k))
          add_scratch(self, *local, matcher_handle{});
      for (std::size_t i = 0; i < r.targets.size(); ++i)
        for (const auto& hits : r.answers[i]) add_scratch(self, hits, r.targets[i]);
      assign_window(self, now_reqs, scratch(self));
      clear_scratch(self);
    }
    if (std::exchange(s.book.window_rearm, false)) arm_window(self);
    sync_pending(self);
  });
}

}  // namespace rideshard::node
