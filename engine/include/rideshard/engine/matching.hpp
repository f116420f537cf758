// Driver matching: sequential offers (one driver at a time, best ETA first,
// widening radius) and batched assignment (min total pickup ETA over a window of
// requests, solved optimally as a min-cost flow with LEMON). Deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_set>
#include <vector>

#include "rideshard/engine/eta.hpp"
#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/spatial_index.hpp"

namespace rideshard {

// ---------------------------------------------------------------- sequential

/// Sequential-offer tuning. Region configs load this struct.
struct sequential_config {
  std::size_t k = 8;                      ///< offers per radius stage before widening
  double initial_radius_m = 1500;         ///< first search radius
  double radius_growth = 2.0;             ///< next radius = min(radius * growth, max_radius_m)
  double max_radius_m = 8000;             ///< last stage; exhausting it means no driver
  std::int64_t offer_timeout_ms = 15000;  ///< a driver must answer within this
};

/// Checks k >= 1, 0 < initial <= max radius, growth > 1, timeout > 0, all finite.
/// Errors: invalid_k, invalid_radius, bad_config.
[[nodiscard]] result<void> validate(const sequential_config& cfg);

/// One offer to one driver.
struct offer {
  driver_id driver;
  double eta_s = 0;              ///< pickup ETA by the eta_model
  double distance_m = 0;         ///< great-circle distance to pickup
  double radius_m = 0;           ///< radius stage that produced the offer
  std::int64_t deadline_ms = 0;  ///< now + offer_timeout_ms
  std::uint32_t attempt = 0;     ///< 1 for the first offer of this request
};

/// The offer loop of ONE ride request. Not thread-safe: owned by its matcher.
///
/// Protocol (the matcher drives it):
///   1. o = next_offer(available, eta, now): the best driver by pickup ETA among the
///      k best candidates within the current radius, skipping excluded drivers.
///      The dispatch does not touch the index: the matcher must remove o.driver from
///      `available` before the next dispatch runs (a driver holds one offer at most),
///      then send the offer with o.deadline_ms.
///   2. Exactly one of accept(d, now) / decline(d) / expire(now) closes the offer.
///      After decline/expire the matcher puts the driver back into `available`;
///      this dispatch never offers it again. Then go to 1.
///   3. next_offer() returns no_driver_available once max_radius_m is exhausted
///      (the request should fail or wait for a retry; the dispatch is finished).
/// Each radius stage makes up to k offers (or fewer if it runs out of candidates),
/// then the radius grows. Candidates are re-ranked on every call, so drivers that
/// moved or became available meanwhile are seen.
class sequential_dispatch {
 public:
  enum class phase : std::uint8_t { idle, offering, accepted, exhausted };

  /// Errors: invalid_coordinate (pickup), as validate(sequential_config).
  [[nodiscard]] static result<sequential_dispatch> create(trip_id trip, lat_lng pickup,
                                                          const sequential_config& cfg);

  /// Never offer `d` (e.g. blocked by this rider). Allowed in any phase.
  void exclude(driver_id d) { excluded_.insert(d); }
  bool is_excluded(driver_id d) const { return excluded_.count(d) != 0; }

  /// Produces the next offer (see the protocol above).
  /// Errors: illegal_transition (an offer is open, or accepted/exhausted),
  /// no_driver_available (stages exhausted; phase becomes exhausted).
  [[nodiscard]] result<offer> next_offer(const spatial_index& available, const eta_model& eta,
                                         std::int64_t now_ms);

  /// The driver accepts. Errors: not_offered_to_driver, offer_expired (now >
  /// deadline: call expire() then next_offer()), illegal_transition (no open offer).
  [[nodiscard]] result<offer> accept(driver_id d, std::int64_t now_ms);
  /// The driver declines. Errors: not_offered_to_driver, illegal_transition.
  [[nodiscard]] result<void> decline(driver_id d);
  /// Closes the open offer as timed out. Errors: illegal_transition (no open
  /// offer, or now_ms < deadline).
  [[nodiscard]] result<void> expire(std::int64_t now_ms);

  phase state() const noexcept { return phase_; }
  const std::optional<offer>& current() const noexcept { return current_; }
  trip_id trip() const noexcept { return trip_; }
  lat_lng pickup() const noexcept { return pickup_; }
  double radius_m() const noexcept { return radius_m_; }
  std::uint32_t offers_made() const noexcept { return offers_made_; }

 private:
  sequential_dispatch(trip_id trip, lat_lng pickup, const sequential_config& cfg);
  result<std::optional<offer>> best_at_radius(const spatial_index& available,
                                              const eta_model& eta) const;
  bool widen();

  trip_id trip_;
  lat_lng pickup_;
  sequential_config cfg_;
  phase phase_ = phase::idle;
  std::optional<offer> current_;
  std::unordered_set<driver_id> excluded_;  ///< offered + explicitly excluded drivers
  double radius_m_ = 0;
  std::size_t offers_at_radius_ = 0;
  std::uint32_t offers_made_ = 0;
};

// ------------------------------------------------------------------- batched

/// Batched-assignment tuning. Region configs load this struct.
struct batch_config {
  std::size_t k = 16;               ///< candidate drivers per request (nearest by distance)
  double max_radius_m = 5000;       ///< candidates farther than this are ignored
  std::size_t max_requests = 5000;  ///< larger batches are rejected (invalid_argument)
  /// When not every request can be matched, leaving one out costs its wait times
  /// this: a second of waiting weighs as much as `wait_weight` seconds of pickup
  /// ETA. At 1 a far rider loses round after round to nearer newcomers until the
  /// request expires; at 14 the in-process city at peak (`rideshard quality`,
  /// seeds 42, 1, 7, 2024) keeps batched 10.6-12% below sequential in mean pickup
  /// ETA with as many matches and no more expired requests than sequential.
  std::int64_t wait_weight = 14;
  /// A request left out of this many windows although a driver was in reach
  /// (batch_request::windows_lost) is served first: it is matched whenever some
  /// maximum matching can include it, whatever the pickup ETAs. Bounds how many
  /// windows a far rider can lose to nearer ones. 0: off (ETA and wait only).
  std::uint32_t max_windows_lost = 3;
  /// 0: the number of matches comes first (every driver in reach is used).
  /// > 0: leaving a request out of a window costs only this many seconds of
  /// pickup ETA (plus its wait term), so a driver farther than that from every
  /// request is kept for a nearer one in a later window, ours or a neighbour
  /// shard's. Requests at max_windows_lost still come first.
  std::int64_t leave_out_s = 0;
};

/// Checks 1 <= k, 0 < max_radius_m (finite), 1 <= max_requests <= 20000,
/// 0 <= wait_weight <= 1000, max_windows_lost <= 1000, 0 <= leave_out_s <= 86400.
/// Errors: invalid_k, invalid_radius, bad_config.
[[nodiscard]] result<void> validate(const batch_config& cfg);

/// One pending request of the batch window.
struct batch_request {
  trip_id trip;
  lat_lng pickup;
  /// How long the rider has waited already (>= 0, capped at one hour). When not
  /// every request can be matched, a second of waiting outweighs
  /// batch_config::wait_weight seconds of pickup ETA in choosing who is left
  /// out, so old requests are not starved by a stream of new ones nearer the
  /// same drivers.
  std::int64_t waited_ms = 0;
  /// Earlier windows this request was left out of with a candidate driver
  /// (assignment::left_out; the caller counts). At batch_config::max_windows_lost
  /// it is served first.
  std::uint32_t windows_lost = 0;
};

/// A request matched to a driver.
struct batch_match {
  std::size_t request_index = 0;  ///< index into the requests passed in
  trip_id trip;
  driver_id driver;
  double eta_s = 0;  ///< pickup ETA by the eta_model
};

/// The solver's answer. Every request index appears exactly once in either
/// `matches` (ordered by request_index) or `unmatched` (ascending).
struct assignment {
  std::vector<batch_match> matches;
  std::vector<std::size_t> unmatched;
  /// The unmatched requests that had a candidate driver (lost it to others), ascending.
  std::vector<std::size_t> left_out;
  std::int64_t total_eta_ds = 0;  ///< sum of matched pickup ETAs, deciseconds (the cost)
};

/// Assigns drivers from `available` to `requests` so that (1) the number of
/// matches is maximal, (2) among those, as many requests at max_windows_lost as
/// possible are matched and (3) the total pickup ETA (integer deciseconds) plus
/// the wait terms of the requests left out is minimal — an exact min-cost flow
/// (LEMON NetworkSimplex) on source -> request -> candidate driver -> sink, each
/// request also having an "unmatched" arc whose penalty exceeds any ETA saving
/// (with leave_out_s > 0, only a starved request's does: (1) holds for them,
/// the others are matched only where that beats leave_out_s). Candidate edges: each
/// request's k nearest drivers within max_radius_m; drivers with a non-finite ETA
/// are skipped. Pure: does not modify `available` (the matcher removes matched
/// drivers and sends offers). Equal-cost ties are broken deterministically.
/// Errors: invalid_argument (empty batch, > max_requests), invalid_coordinate,
/// duplicate_id (same trip twice), as validate(batch_config); internal (solver).
[[nodiscard]] result<assignment> batch_assign(const std::vector<batch_request>& requests,
                                              const spatial_index& available, const eta_model& eta,
                                              const batch_config& cfg);

}  // namespace rideshard
