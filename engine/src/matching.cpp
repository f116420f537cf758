// Matching: sequential_dispatch (offer loop of one request) and batch_assign
// (optimal min-total-pickup-ETA assignment as a LEMON NetworkSimplex min-cost flow).
#include "rideshard/engine/matching.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

// LEMON 1.3.1 trips a false -Wmaybe-uninitialized under GCC 12 (clang has no such
// warning and would refuse the unknown name: the fuzz build uses clang).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <lemon/maps.h>
#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace rideshard {
namespace {

bool positive_finite(double v) { return std::isfinite(v) && v > 0; }

// Candidate (driver, pickup ETA) ordering: ETA, then distance, then id: total and
// deterministic whatever order the index returns equals in.
struct ranked {
  neighbor n;
  double eta_s = 0;
};
bool better(const ranked& a, const ranked& b) {
  if (a.eta_s != b.eta_s) return a.eta_s < b.eta_s;
  if (a.n.distance_m != b.n.distance_m) return a.n.distance_m < b.n.distance_m;
  return a.n.id < b.n.id;
}

}  // namespace

// ---------------------------------------------------------------- sequential

result<void> validate(const sequential_config& c) {
  if (c.k == 0) return {errc::invalid_k, "sequential k must be >= 1"};
  if (!positive_finite(c.initial_radius_m) || !positive_finite(c.max_radius_m) ||
      c.initial_radius_m > c.max_radius_m)
    return {errc::invalid_radius, "sequential radii must satisfy 0 < initial <= max, finite"};
  if (!std::isfinite(c.radius_growth) || c.radius_growth <= 1.0)
    return {errc::bad_config, "sequential radius_growth must be finite and > 1"};
  if (c.offer_timeout_ms <= 0) return {errc::bad_config, "sequential offer_timeout_ms must be > 0"};
  return {};
}

sequential_dispatch::sequential_dispatch(trip_id trip, lat_lng pickup, const sequential_config& cfg)
    : trip_(trip), pickup_(pickup), cfg_(cfg), radius_m_(cfg.initial_radius_m) {}

result<sequential_dispatch> sequential_dispatch::create(trip_id trip, lat_lng pickup,
                                                        const sequential_config& cfg) {
  if (auto r = validate(pickup); !r) return r.err();
  if (auto r = validate(cfg); !r) return r.err();
  return sequential_dispatch{trip, pickup, cfg};
}

result<std::optional<offer>> sequential_dispatch::best_at_radius(const spatial_index& available,
                                                                 const eta_model& eta) const {
  // Over-fetch by distance (2k plus the excluded drivers that may crowd the front)
  // so that a driver slightly farther but faster by ETA can still win.
  const std::size_t want = std::min(available.config().max_k, 2 * cfg_.k + excluded_.size());
  auto hits = available.nearest(pickup_, radius_m_, want);
  if (!hits) return hits.err();
  std::optional<ranked> best;
  for (const neighbor& n : *hits) {
    if (excluded_.count(n.id) != 0) continue;
    const ranked c{n, eta.estimate_s(n.pos, pickup_)};
    if (!std::isfinite(c.eta_s)) continue;
    if (!best || better(c, *best)) best = c;
  }
  if (!best) return std::optional<offer>{};
  offer o;
  o.driver = best->n.id;
  o.eta_s = best->eta_s;
  o.distance_m = best->n.distance_m;
  o.radius_m = radius_m_;
  return std::optional<offer>{o};
}

bool sequential_dispatch::widen() {
  if (radius_m_ >= cfg_.max_radius_m) return false;
  radius_m_ = std::min(radius_m_ * cfg_.radius_growth, cfg_.max_radius_m);
  offers_at_radius_ = 0;
  return true;
}

result<offer> sequential_dispatch::next_offer(const spatial_index& available, const eta_model& eta,
                                              std::int64_t now_ms) {
  if (phase_ != phase::idle)
    return {errc::illegal_transition, "next_offer needs no open offer and an unfinished dispatch"};
  for (;;) {
    if (offers_at_radius_ < cfg_.k) {
      auto best = best_at_radius(available, eta);
      if (!best) return best.err();
      if (best->has_value()) {
        offer o = **best;
        o.deadline_ms = now_ms + cfg_.offer_timeout_ms;
        o.attempt = ++offers_made_;
        ++offers_at_radius_;
        excluded_.insert(o.driver);
        current_ = o;
        phase_ = phase::offering;
        return o;
      }
    }
    if (!widen()) {
      phase_ = phase::exhausted;
      return {errc::no_driver_available, "no driver within " + std::to_string(cfg_.max_radius_m) +
                                             " m after " + std::to_string(offers_made_) +
                                             " offers"};
    }
  }
}

result<offer> sequential_dispatch::accept(driver_id d, std::int64_t now_ms) {
  if (phase_ != phase::offering) return {errc::illegal_transition, "no open offer to accept"};
  if (d != current_->driver)
    return {errc::not_offered_to_driver, to_string(d) + " does not hold the open offer"};
  if (now_ms > current_->deadline_ms) return {errc::offer_expired, "the offer has expired"};
  phase_ = phase::accepted;
  return *current_;
}

result<void> sequential_dispatch::decline(driver_id d) {
  if (phase_ != phase::offering) return {errc::illegal_transition, "no open offer to decline"};
  if (d != current_->driver)
    return {errc::not_offered_to_driver, to_string(d) + " does not hold the open offer"};
  phase_ = phase::idle;
  current_.reset();
  return {};
}

result<void> sequential_dispatch::expire(std::int64_t now_ms) {
  if (phase_ != phase::offering) return {errc::illegal_transition, "no open offer to expire"};
  if (now_ms < current_->deadline_ms)
    return {errc::illegal_transition, "the offer is still open until its deadline"};
  phase_ = phase::idle;
  current_.reset();
  return {};
}

// ------------------------------------------------------------------- batched

namespace {

// ETAs above this (~3 years) count as unreachable; it bounds the penalty below.
constexpr std::int64_t max_cost_ds = 1'000'000'000;
constexpr std::int64_t max_waited_ms = 3'600'000;  // caps the fairness term

struct candidate_edge {
  std::size_t request = 0;
  std::size_t driver = 0;  ///< dense index into the batch's driver table
  std::int64_t cost_ds = 0;
  double eta_s = 0;
};

struct candidate_graph {
  std::vector<driver_id> drivers;
  std::vector<candidate_edge> edges;  ///< grouped by request, best first
  std::int64_t max_cost_ds = 0;
};

result<void> check_batch(const std::vector<batch_request>& requests, const batch_config& cfg) {
  if (auto r = validate(cfg); !r) return r;
  if (requests.empty()) return {errc::invalid_argument, "batch_assign needs at least one request"};
  if (requests.size() > cfg.max_requests)
    return {errc::invalid_argument,
            "batch of " + std::to_string(requests.size()) + " requests exceeds max_requests"};
  std::unordered_set<trip_id> seen;
  seen.reserve(requests.size());
  for (const batch_request& r : requests) {
    if (auto v = validate(r.pickup); !v) return v;
    if (!seen.insert(r.trip).second)
      return {errc::duplicate_id, to_string(r.trip) + " appears twice in the batch"};
  }
  return {};
}

result<candidate_graph> collect_candidates(const std::vector<batch_request>& requests,
                                           const spatial_index& available, const eta_model& eta,
                                           const batch_config& cfg) {
  candidate_graph g;
  std::unordered_map<driver_id, std::size_t> dense;
  dense.reserve(requests.size() * 2);
  g.edges.reserve(requests.size() * cfg.k);
  std::vector<neighbor> hits;  // reused across requests: no allocation per query
  std::vector<ranked> row;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (auto r = available.nearest(requests[i].pickup, cfg.max_radius_m, cfg.k, hits); !r)
      return r.err();
    row.clear();
    for (const neighbor& n : hits) {
      const double s = eta.estimate_s(n.pos, requests[i].pickup);
      if (std::isfinite(s) && s >= 0 && s * 10.0 <= static_cast<double>(max_cost_ds))
        row.push_back({n, s});
    }
    std::sort(row.begin(), row.end(), better);
    for (const ranked& c : row) {
      auto [it, fresh] = dense.try_emplace(c.n.id, g.drivers.size());
      if (fresh) g.drivers.push_back(c.n.id);
      const std::int64_t cost = std::llround(c.eta_s * 10.0);
      g.edges.push_back({i, it->second, cost, c.eta_s});
      g.max_cost_ds = std::max(g.max_cost_ds, cost);
    }
  }
  return g;
}

}  // namespace

result<void> validate(const batch_config& c) {
  if (c.k == 0) return {errc::invalid_k, "batch k must be >= 1"};
  if (!positive_finite(c.max_radius_m))
    return {errc::invalid_radius, "batch max_radius_m must be > 0"};
  // The bound keeps requests^2 * max_cost_ds (the flow cost scale) inside int64.
  if (c.max_requests == 0 || c.max_requests > 20000)
    return {errc::bad_config, "batch max_requests must be in [1, 20000]"};
  if (c.wait_weight < 0 || c.wait_weight > 1000)
    return {errc::bad_config, "batch wait_weight must be in [0, 1000]"};
  if (c.max_windows_lost > 1000)
    return {errc::bad_config, "batch max_windows_lost must be in [0, 1000]"};
  if (c.leave_out_s < 0 || c.leave_out_s > 86400)
    return {errc::bad_config, "batch leave_out_s must be in [0, 86400]"};
  return {};
}

namespace {

// Solves the flow; returns, per candidate edge, whether the request takes it.
// Nodes: requests [0, nr), drivers [nr, nr + nd), sink. Each request supplies one
// unit that reaches the sink through a driver (cost = ETA) or its bypass arc.
// An augmenting path that adds a match changes at most nr edge costs by at most
// max_cost each, so penalty > nr * max_cost makes "more matches" always win.
// Each bypass additionally costs the request's wait (deciseconds) times
// wait_weight: among maximum matchings, leaving a long-waiting request out is
// dearer (fairness). Bypass costs only grow, so more matches still always win.
// A request that lost max_windows_lost windows also pays `starved` on its
// bypass. Among maximum matchings one differs from another by alternating
// paths that swap one matched request for another and change at most nr edge
// costs: starved > nr * max_cost + the largest wait term makes every such
// swap that matches one more starved request a saving, so as many starved
// requests as possible are matched (the matched sets of a bipartite graph form
// a matroid: a starved request with any candidate is in some maximum matching).
// With leave_out_s, a request that is not starved costs only leave_out_s
// (deciseconds) plus its wait term to leave out: a match dearer than that is
// not made.
result<std::vector<bool>> solve_flow(const candidate_graph& cand,
                                     const std::vector<batch_request>& requests,
                                     const batch_config& cfg) {
  const std::size_t nr = requests.size();
  using graph = lemon::SmartDigraph;
  const std::size_t nd = cand.drivers.size();
  graph g;
  g.reserveNode(static_cast<int>(nr + nd + 1));
  g.reserveArc(static_cast<int>(cand.edges.size() + nr + nd));
  for (std::size_t i = 0; i < nr + nd + 1; ++i) g.addNode();
  const auto node = [&g](std::size_t i) { return g.nodeFromId(static_cast<int>(i)); };
  const graph::Node sink = node(nr + nd);
  graph::ArcMap<std::int64_t> cost(g);
  graph::NodeMap<std::int64_t> supply(g, 0);
  const std::int64_t penalty = static_cast<std::int64_t>(nr + 1) * (cand.max_cost_ds + 1);
  const auto wait_term = [&cfg](const batch_request& r) {
    return std::min<std::int64_t>(std::max<std::int64_t>(r.waited_ms, 0), max_waited_ms) / 100 *
           cfg.wait_weight;
  };
  std::int64_t max_wait_term = 0;
  for (const batch_request& r : requests) max_wait_term = std::max(max_wait_term, wait_term(r));
  const std::int64_t starved = penalty + max_wait_term;

  // Match arcs first: their ids are 0 .. edges.size() - 1, in edge order.
  for (const candidate_edge& e : cand.edges)
    cost[g.addArc(node(e.request), node(nr + e.driver))] = e.cost_ds;
  for (std::size_t i = 0; i < nr; ++i) {
    supply[node(i)] = 1;
    const bool starving =
        cfg.max_windows_lost > 0 && requests[i].windows_lost >= cfg.max_windows_lost;
    const std::int64_t left_out = starving || cfg.leave_out_s == 0
                                      ? penalty + (starving ? starved : 0)
                                      : std::min(penalty, cfg.leave_out_s * 10);
    cost[g.addArc(node(i), sink)] = left_out + wait_term(requests[i]);
  }
  for (std::size_t d = 0; d < nd; ++d) cost[g.addArc(node(nr + d), sink)] = 0;
  supply[sink] = -static_cast<std::int64_t>(nr);

  lemon::NetworkSimplex<graph, std::int64_t, std::int64_t> solver(g);
  solver.costMap(cost).supplyMap(supply).upperMap(lemon::constMap<graph::Arc>(std::int64_t{1}));
  if (solver.run() != decltype(solver)::OPTIMAL)
    return {errc::internal, "min-cost flow solver found no optimal assignment"};
  std::vector<bool> taken(cand.edges.size());
  for (std::size_t j = 0; j < taken.size(); ++j)
    taken[j] = solver.flow(g.arcFromId(static_cast<int>(j))) != 0;
  return taken;
}

}  // namespace

result<assignment> batch_assign(const std::vector<batch_request>& requests,
                                const spatial_index& available, const eta_model& eta,
                                const batch_config& cfg) {
  if (auto r = check_batch(requests, cfg); !r) return r.err();
  auto cand = collect_candidates(requests, available, eta, cfg);
  if (!cand) return cand.err();
  auto taken = solve_flow(*cand, requests, cfg);
  if (!taken) return taken.err();

  // Edges are grouped by request in request order, so matches come out sorted.
  assignment out;
  std::vector<bool> matched(requests.size(), false);
  for (std::size_t j = 0; j < taken->size(); ++j) {
    if (!(*taken)[j]) continue;
    const candidate_edge& e = cand->edges[j];
    matched[e.request] = true;
    out.matches.push_back({e.request, requests[e.request].trip, cand->drivers[e.driver], e.eta_s});
    out.total_eta_ds += e.cost_ds;
  }
  std::vector<bool> reachable(requests.size(), false);
  for (const candidate_edge& e : cand->edges) reachable[e.request] = true;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (matched[i]) continue;
    out.unmatched.push_back(i);
    if (reachable[i]) out.left_out.push_back(i);
  }
  return out;
}

}  // namespace rideshard
