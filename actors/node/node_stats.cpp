// node_stats: series resolved once at start-up, so the actor hot paths only
// touch atomics (prometheus-cpp counters) and never the family locks.
#include "node/node_stats.hpp"

#include <algorithm>
#include <chrono>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace rideshard::node {
namespace {

constexpr std::array<const char*, 5> outcome_names{"accepted", "declined", "timed_out", "busy",
                                                   "withdrawn"};
constexpr std::string_view pending_queue = "matcher_pending";
constexpr std::array<const char*, 3> unrouted_names{"frame", "close", "request"};

}  // namespace

node_stats::node_stats(gateway::metrics* m) : m_(m) {
  static_assert(static_cast<std::size_t>(trip_state::expired) + 1 == states);
  if (!m_) return;
  auto& reg = m_->registry();
  offers_made_ = &prometheus::BuildCounter()
                      .Name("rideshard_offers_made_total")
                      .Help("Offers shown to a driver")
                      .Register(reg)
                      .Add({});
  unowned_ = &prometheus::BuildCounter()
                  .Name("rideshard_cluster_unowned_total")
                  .Help(
                      "Cluster mode: requests refused (unavailable) because their trip or "
                      "shard belongs to a shard group another node serves")
                  .Register(reg)
                  .Add({});
  no_driver_ = &prometheus::BuildCounter()
                    .Name("rideshard_no_driver_cancels_total")
                    .Help(
                        "Requested trips the system cancelled with reason no_driver_available: "
                        "nobody within the region's max_radius_m for [matching] "
                        "no_driver_timeout_ms (the rider gets a cancelled trip_status)")
                    .Register(reg)
                    .Add({});
  auto& fam = prometheus::BuildCounter()
                  .Name("rideshard_offer_outcomes_total")
                  .Help(
                      "How offers ended: accepted, declined, timed_out, busy (refused by the "
                      "driver actor, never shown), withdrawn (trip cancelled or expired)")
                  .Register(reg);
  for (std::size_t i = 0; i < outcomes; ++i)
    outcomes_[i] = &fam.Add({{"outcome", outcome_names[i]}});
  auto& unrouted = prometheus::BuildCounter()
                       .Name("rideshard_cluster_unrouted_total")
                       .Help(
                           "Cluster: session frames (what=frame) or closes (close) for a node no "
                           "route is known to (dropped), messages for a shard group no node "
                           "owns (request, refused with a typed error)")
                       .Register(reg);
  for (std::size_t i = 0; i < unrouted_names.size(); ++i)
    unrouted_counters_[i] = &unrouted.Add({{"what", unrouted_names[i]}});
  for (std::size_t i = 0; i < states; ++i) publish(static_cast<trip_state>(i));
  m_->set_queue_depth(pending_queue, 0);
}

void node_stats::unowned() {
  if (unowned_) unowned_->Increment();
}

void node_stats::error(errc code) {
  if (m_) m_->error(code);
}

void node_stats::no_driver_cancel() {
  if (no_driver_) no_driver_->Increment();
}

void node_stats::analytics_dropped(std::size_t events) {
  if (m_) m_->outbox_dropped("journal_backlog", static_cast<double>(events));
}

void node_stats::publish(trip_state s) {
  const auto i = static_cast<std::size_t>(s);
  if (!m_ || i >= states) return;
  // Load and set under one lock: otherwise two actors could publish out of
  // order and leave a stale value until the next transition.
  std::lock_guard<std::mutex> lock{publish_mu_};
  m_->set_trips(s, static_cast<double>(trips_[i].load()));
}

void node_stats::trip_started(trip_state s) {
  if (!m_) return;
  trips_[static_cast<std::size_t>(s)].fetch_add(1);
  publish(s);
}

void node_stats::trip_moved(trip_state from, trip_state to) {
  if (!m_ || from == to) return;
  trips_[static_cast<std::size_t>(from)].fetch_sub(1);
  trips_[static_cast<std::size_t>(to)].fetch_add(1);
  publish(from);
  publish(to);
}

void node_stats::trip_stopped(trip_state s) {
  if (!m_) return;
  trips_[static_cast<std::size_t>(s)].fetch_sub(1);
  publish(s);
}

std::int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void node_stats::offer_made(std::int64_t request_in_us) {
  if (!m_) return;
  offers_made_->Increment();
  if (request_in_us <= 0) return;
  // A wall clock stepping back must not make a negative latency.
  const auto us = std::max<std::int64_t>(0, wall_clock_us() - request_in_us);
  m_->observe_request_to_offer(std::chrono::microseconds(us));
}

void node_stats::offer_closed(offer_outcome o) {
  if (m_) outcomes_[static_cast<std::size_t>(o)]->Increment();
}

void node_stats::pending_requests(std::int64_t delta) {
  if (m_ && delta != 0) m_->add_queue_depth(pending_queue, static_cast<double>(delta));
}

void node_stats::unrouted(std::string_view what) {
  unrouted_.fetch_add(1);
  if (!m_) return;
  for (std::size_t i = 0; i < unrouted_names.size(); ++i)
    if (what == unrouted_names[i]) unrouted_counters_[i]->Increment();
}

std::int64_t node_stats::trips(trip_state s) const {
  return trips_[static_cast<std::size_t>(s)].load();
}

}  // namespace rideshard::node
