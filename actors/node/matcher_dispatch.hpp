// The dispatcher of a region_matcher: pending ride requests, sequential offers
// (one driver at a time, widening radius, across shard edges), reservations of
// other shards' drivers, parked requests, and (matcher_batch.cpp) batched
// windows. The ranking itself is the engine's (sequential_dispatch,
// batch_assign). Private to the matcher's files.
#pragma once

#include "node/matcher_state.hpp"

namespace rideshard::node {

// ---- handlers (region_matcher.cpp routes the messages here) ------------------

void on_dispatch(matcher_self self, const dispatch_request& r);
void on_redispatch(matcher_self self, redispatch_request& r);
void on_offer_closed(matcher_self self, const offer_closed& c);
void on_trip_finished(matcher_self self, const trip_finished& f);
void on_parked_retry(matcher_self self);
void on_no_driver_check(matcher_self self);
void on_batch_window(matcher_self self);

/// Gives parked requests a go at newly available drivers (batched mode: arms
/// the next window if any request waits).
void retry_parked(matcher_self self);
/// Keeps the node-wide matcher_pending gauge in step with this matcher's book.
void sync_pending(matcher_self self);

// ---- shared by matcher_dispatch.cpp and matcher_batch.cpp --------------------

bool batched(const matcher_self self);
/// Sequential mode: the next offer now; batched mode: wait for the next window.
void try_offer(matcher_self self, trip_id trip);
/// Offers `trip` to the next sequential candidate, or parks it when none is left.
void sequential_offer(matcher_self self, trip_id trip);
/// Offers `trip` to our driver `d` (removed from the index now).
void send_local_offer(matcher_self self, pending_request& p, driver_id d,
                      const caf::actor& driver_actor, double eta_s);
/// Asks `owner` to hand over its driver `d` for `trip`, then offers it.
void reserve_remote(matcher_self self, pending_request& p, trip_id trip, driver_id d, double eta_s,
                    matcher_handle owner);
/// Arms no_driver_check (every dispatch_options::no_driver_check) unless armed
/// or no_driver_timeout is off.
void arm_no_driver_check(matcher_self self);
/// A driver of `available` within radius_m of p's pickup that p may still get.
bool someone_within(const pending_request& p, const spatial_index& available, double radius_m);
/// Batched mode: solve the waiting requests after batch_window_ms (once per window).
void arm_window(matcher_self self);
/// Batched mode: one window.
void solve_window(matcher_self self);

}  // namespace rideshard::node
