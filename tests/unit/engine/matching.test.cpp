// Matching: the sequential offer loop (ETA order, decline/timeout, widening,
// exhaustion, exclusions) and batch_assign (optimal vs brute force, beats
// greedy, maximal matching first, unmatched requests, bad input).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "rideshard/engine/matching.hpp"

using namespace rideshard;

namespace {

const lat_lng origin{40.7500, -73.9900};  // Midtown
constexpr double m_per_deg = 111195.0;
constexpr double pi = 3.14159265358979323846;

// The point `east` / `north` metres from origin (flat-earth, fine at city scale).
lat_lng at(double east, double north) {
  return {origin.lat + north / m_per_deg,
          origin.lng + east / (m_per_deg * std::cos(origin.lat * pi / 180.0))};
}

spatial_index make_index() {
  spatial_index_config cfg;
  cfg.bounds = {{40.49, -74.26}, {40.92, -73.70}};
  auto idx = spatial_index::create(cfg);
  REQUIRE(idx.ok());
  return std::move(idx).value();
}

void put(spatial_index& idx, std::uint64_t id, lat_lng p) {
  REQUIRE(idx.upsert(driver_id{id}, p).ok());
}

// distance / 10 m/s, except that drivers listed in `slow` take `factor` times longer.
struct test_eta final : eta_model {
  std::map<std::uint64_t, double> factor;  // by rounded east offset in metres
  double estimate_s(lat_lng from, lat_lng to) const override {
    const double s = distance_m(from, to) / 10.0;
    const double east =
        std::round((from.lng - origin.lng) * m_per_deg * std::cos(origin.lat * pi / 180.0));
    auto it = factor.find(static_cast<std::uint64_t>(std::max(0.0, east)));
    return it == factor.end() ? s : s * it->second;
  }
};

sequential_dispatch dispatch(const sequential_config& cfg = {}) {
  auto d = sequential_dispatch::create(trip_id{1}, origin, cfg);
  REQUIRE(d.ok());
  return std::move(d).value();
}

constexpr std::int64_t now = 1'700'000'000'000;

}  // namespace

// ---------------------------------------------------------------- sequential

TEST_CASE("sequential: offers go by ETA, decline and timeout move to the next") {
  spatial_index idx = make_index();
  put(idx, 1, at(300, 0));  // nearest, but slow (a river in the way)
  put(idx, 2, at(500, 0));
  put(idx, 3, at(800, 0));
  test_eta eta;
  eta.factor[300] = 4.0;  // 120 s, vs 50 s and 80 s
  sequential_dispatch d = dispatch();

  auto o1 = d.next_offer(idx, eta, now);
  REQUIRE(o1.ok());
  CHECK(o1->driver == driver_id{2});
  CHECK(o1->eta_s == doctest::Approx(50.0).epsilon(0.01));
  CHECK(o1->deadline_ms == now + 15000);
  CHECK(o1->attempt == 1);
  CHECK(o1->radius_m == 1500);
  CHECK(d.state() == sequential_dispatch::phase::offering);
  CHECK(d.next_offer(idx, eta, now).code() == errc::illegal_transition);  // one at a time
  CHECK(d.decline(driver_id{3}).code() == errc::not_offered_to_driver);
  REQUIRE(d.decline(driver_id{2}).ok());

  auto o2 = d.next_offer(idx, eta, now + 1000);
  REQUIRE(o2.ok());
  CHECK(o2->driver == driver_id{3});
  CHECK(o2->attempt == 2);
  CHECK(d.expire(now + 1000 + 14999).code() == errc::illegal_transition);  // not yet due
  CHECK(d.accept(driver_id{3}, now + 1000 + 15001).code() == errc::offer_expired);
  REQUIRE(d.expire(now + 1000 + 15000).ok());

  auto o3 = d.next_offer(idx, eta, now + 20000);
  REQUIRE(o3.ok());
  CHECK(o3->driver == driver_id{1});
  CHECK(o3->eta_s == doctest::Approx(120.0).epsilon(0.01));
  auto acc = d.accept(driver_id{1}, now + 21000);
  REQUIRE(acc.ok());
  CHECK(acc->driver == driver_id{1});
  CHECK(d.state() == sequential_dispatch::phase::accepted);
  CHECK(d.offers_made() == 3);
  CHECK(d.next_offer(idx, eta, now + 22000).code() == errc::illegal_transition);
  CHECK(d.decline(driver_id{1}).code() == errc::illegal_transition);
}

TEST_CASE("sequential: the radius widens stage by stage, then no driver") {
  spatial_index idx = make_index();
  put(idx, 1, at(1000, 0));   // stage 1500
  put(idx, 2, at(0, 2500));   // stage 3000
  put(idx, 3, at(-5000, 0));  // stage 6000
  put(idx, 4, at(0, -7500));  // stage 8000 (capped growth: 6000 * 2 -> 8000)
  put(idx, 5, at(9000, 0));   // never: beyond max_radius_m
  test_eta eta;
  sequential_dispatch d = dispatch();
  const std::pair<std::uint64_t, double> expected[] = {{1, 1500}, {2, 3000}, {3, 6000}, {4, 8000}};
  std::int64_t t = now;
  for (const auto& [id, radius] : expected) {
    auto o = d.next_offer(idx, eta, t);
    REQUIRE(o.ok());
    CHECK(o->driver == driver_id{id});
    CHECK(o->radius_m == radius);
    REQUIRE(d.decline(o->driver).ok());
    t += 5000;
  }
  auto none = d.next_offer(idx, eta, t);
  CHECK(none.code() == errc::no_driver_available);
  CHECK(d.state() == sequential_dispatch::phase::exhausted);
  CHECK(d.next_offer(idx, eta, t).code() == errc::illegal_transition);
}

TEST_CASE("sequential: at most k offers per stage before widening") {
  spatial_index idx = make_index();
  for (std::uint64_t i = 1; i <= 3; ++i) put(idx, i, at(100.0 * static_cast<double>(i), 0));
  test_eta eta;
  sequential_config cfg;
  cfg.k = 2;
  sequential_dispatch d = dispatch(cfg);
  std::vector<double> radii;
  for (int i = 0; i < 3; ++i) {
    auto o = d.next_offer(idx, eta, now);
    REQUIRE(o.ok());
    CHECK(o->driver == driver_id{static_cast<std::uint64_t>(i + 1)});
    radii.push_back(o->radius_m);
    REQUIRE(d.decline(o->driver).ok());
  }
  CHECK(radii == std::vector<double>{1500, 1500, 3000});
}

TEST_CASE("sequential: excluded, re-added and unreachable drivers are skipped") {
  spatial_index idx = make_index();
  put(idx, 1, at(100, 0));
  put(idx, 2, at(200, 0));
  put(idx, 3, at(300, 0));
  put(idx, 4, at(400, 0));
  test_eta eta;
  eta.factor[300] = INFINITY;  // no route from driver 3
  sequential_dispatch d = dispatch();
  d.exclude(driver_id{1});
  CHECK(d.is_excluded(driver_id{1}));

  auto o = d.next_offer(idx, eta, now);
  REQUIRE(o.ok());
  CHECK(o->driver == driver_id{2});
  // The matcher takes the offered driver out of availability, and puts it back
  // after the decline: this dispatch must still never offer it again.
  REQUIRE(idx.remove(driver_id{2}).ok());
  REQUIRE(d.decline(driver_id{2}).ok());
  put(idx, 2, at(200, 0));
  auto o2 = d.next_offer(idx, eta, now);
  REQUIRE(o2.ok());
  CHECK(o2->driver == driver_id{4});
  REQUIRE(d.decline(driver_id{4}).ok());
  CHECK(d.next_offer(idx, eta, now).code() == errc::no_driver_available);
}

TEST_CASE("sequential: an empty index is no_driver_available") {
  spatial_index idx = make_index();
  test_eta eta;
  sequential_dispatch d = dispatch();
  CHECK(d.next_offer(idx, eta, now).code() == errc::no_driver_available);
}

TEST_CASE("sequential: bad input is a typed error") {
  sequential_config ok;
  CHECK(sequential_dispatch::create(trip_id{1}, lat_lng{NAN, 0}, ok).code() ==
        errc::invalid_coordinate);
  CHECK(sequential_dispatch::create(trip_id{1}, lat_lng{0, 181}, ok).code() ==
        errc::invalid_coordinate);
  auto bad = [](auto mutate) {
    sequential_config c;
    mutate(c);
    return sequential_dispatch::create(trip_id{1}, origin, c).code();
  };
  CHECK(bad([](sequential_config& c) { c.k = 0; }) == errc::invalid_k);
  CHECK(bad([](sequential_config& c) { c.initial_radius_m = 0; }) == errc::invalid_radius);
  CHECK(bad([](sequential_config& c) { c.max_radius_m = NAN; }) == errc::invalid_radius);
  CHECK(bad([](sequential_config& c) { c.initial_radius_m = 9000; }) == errc::invalid_radius);
  CHECK(bad([](sequential_config& c) { c.radius_growth = 1.0; }) == errc::bad_config);
  CHECK(bad([](sequential_config& c) { c.offer_timeout_ms = 0; }) == errc::bad_config);
  sequential_dispatch d = dispatch();
  CHECK(d.expire(now).code() == errc::illegal_transition);
  CHECK(d.accept(driver_id{1}, now).code() == errc::illegal_transition);
}

// ------------------------------------------------------------------- batched

namespace {

std::int64_t cost_ds(double eta_s) { return std::llround(eta_s * 10.0); }

// Exhaustive search over every partial injective assignment on the same candidate
// edges batch_assign sees: lexicographic (max matches, min total deciseconds).
struct brute_best {
  std::size_t matches = 0;
  std::int64_t cost = 0;
};
brute_best brute_force(const std::vector<std::vector<std::pair<driver_id, std::int64_t>>>& edges) {
  brute_best best;
  std::vector<driver_id> used;
  std::function<void(std::size_t, std::size_t, std::int64_t)> go = [&](std::size_t r, std::size_t m,
                                                                       std::int64_t c) {
    if (r == edges.size()) {
      if (m > best.matches || (m == best.matches && c < best.cost)) best = {m, c};
      return;
    }
    go(r + 1, m, c);  // leave request r unmatched
    for (const auto& [d, w] : edges[r]) {
      if (std::find(used.begin(), used.end(), d) != used.end()) continue;
      used.push_back(d);
      go(r + 1, m + 1, c + w);
      used.pop_back();
    }
  };
  go(0, 0, 0);
  return best;
}

// Greedy baseline: repeatedly take the cheapest remaining (request, driver) edge.
std::int64_t greedy_cost(const std::vector<std::vector<std::pair<driver_id, std::int64_t>>>& edges,
                         std::size_t* matched = nullptr) {
  std::vector<std::tuple<std::int64_t, std::size_t, driver_id>> all;
  for (std::size_t r = 0; r < edges.size(); ++r)
    for (const auto& [d, w] : edges[r]) all.emplace_back(w, r, d);
  std::sort(all.begin(), all.end());
  std::vector<bool> r_used(edges.size());
  std::vector<driver_id> d_used;
  std::int64_t total = 0;
  std::size_t n = 0;
  for (const auto& [w, r, d] : all) {
    if (r_used[r] || std::find(d_used.begin(), d_used.end(), d) != d_used.end()) continue;
    r_used[r] = true;
    d_used.push_back(d);
    total += w;
    ++n;
  }
  if (matched != nullptr) *matched = n;
  return total;
}

void check_consistent(const assignment& a, std::size_t n_requests) {
  std::vector<int> seen(n_requests, 0);
  std::vector<driver_id> drivers;
  std::int64_t total = 0;
  for (const batch_match& m : a.matches) {
    ++seen[m.request_index];
    drivers.push_back(m.driver);
    total += cost_ds(m.eta_s);
  }
  for (std::size_t i : a.unmatched) ++seen[i];
  CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
  std::sort(drivers.begin(), drivers.end());
  CHECK(std::adjacent_find(drivers.begin(), drivers.end()) == drivers.end());  // one trip each
  CHECK(total == a.total_eta_ds);
  CHECK(std::is_sorted(a.unmatched.begin(), a.unmatched.end()));
}

std::vector<batch_request> requests_at(const std::vector<lat_lng>& pickups) {
  std::vector<batch_request> out;
  for (std::size_t i = 0; i < pickups.size(); ++i) out.push_back({trip_id{100 + i}, pickups[i]});
  return out;
}

}  // namespace

TEST_CASE("batch: optimal against brute force on seeded random instances") {
  test_eta eta;
  std::mt19937_64 rng(20240611);
  std::uniform_real_distribution<double> coord(-2500.0, 2500.0);
  const std::pair<int, int> shapes[] = {{5, 6}, {6, 4}, {4, 4}, {5, 5}, {3, 7}};
  int instances = 0;
  int greedy_worse = 0;  // proves the instances can tell optimal from greedy
  for (const auto& [nr, nd] : shapes) {
    for (int rep = 0; rep < 40; ++rep, ++instances) {
      spatial_index idx = make_index();
      for (int d = 0; d < nd; ++d)
        put(idx, 1 + static_cast<std::uint64_t>(d), at(coord(rng), coord(rng)));
      std::vector<lat_lng> pickups;
      for (int r = 0; r < nr; ++r) pickups.push_back(at(coord(rng), coord(rng)));
      batch_config cfg;
      cfg.max_radius_m = (rep % 2 == 0) ? 10000 : 2500;  // odd reps: sparse candidates
      cfg.k = (rep % 3 == 0) ? 3 : 16;
      auto a = batch_assign(requests_at(pickups), idx, eta, cfg);
      REQUIRE(a.ok());
      check_consistent(*a, pickups.size());

      std::vector<std::vector<std::pair<driver_id, std::int64_t>>> edges(pickups.size());
      for (std::size_t r = 0; r < pickups.size(); ++r) {
        auto hits = idx.nearest(pickups[r], cfg.max_radius_m, cfg.k);
        REQUIRE(hits.ok());
        for (const neighbor& n : *hits)
          edges[r].push_back({n.id, cost_ds(eta.estimate_s(n.pos, pickups[r]))});
      }
      const brute_best best = brute_force(edges);
      CAPTURE(instances);
      CHECK(a->matches.size() == best.matches);
      CHECK(a->total_eta_ds == best.cost);
      std::size_t greedy_matches = 0;
      const std::int64_t greedy = greedy_cost(edges, &greedy_matches);
      if (greedy_matches < best.matches || greedy > best.cost) ++greedy_worse;
    }
  }
  CHECK(instances == 200);
  CAPTURE(greedy_worse);
  CHECK(greedy_worse >= 10);
}

TEST_CASE("batch: beats greedy nearest-first on a crafted instance") {
  // On one east-west line: R2 (-200) D1 (0) R1 (100) D2 (400).
  // Greedy takes the shortest pair R1-D1 (100 m) and leaves R2-D2 (600 m): 700 m.
  // Optimal is R1-D2 (300 m) + R2-D1 (200 m): 500 m.
  spatial_index idx = make_index();
  put(idx, 1, at(0, 0));
  put(idx, 2, at(400, 0));
  test_eta eta;
  const std::vector<lat_lng> pickups{at(100, 0), at(-200, 0)};
  auto a = batch_assign(requests_at(pickups), idx, eta, batch_config{});
  REQUIRE(a.ok());
  check_consistent(*a, 2);
  REQUIRE(a->matches.size() == 2);
  CHECK(a->matches[0].trip == trip_id{100});
  CHECK(a->matches[0].driver == driver_id{2});
  CHECK(a->matches[1].driver == driver_id{1});
  CHECK(a->total_eta_ds == doctest::Approx(500.0).epsilon(0.01));  // 500 m at 10 m/s = 50 s

  // The greedy baseline, for the record: strictly worse.
  std::vector<std::vector<std::pair<driver_id, std::int64_t>>> edges(pickups.size());
  for (std::size_t r = 0; r < pickups.size(); ++r)
    for (std::uint64_t d = 1; d <= 2; ++d)
      edges[r].push_back(
          {driver_id{d}, cost_ds(eta.estimate_s(*idx.position(driver_id{d}), pickups[r]))});
  const std::int64_t greedy = greedy_cost(edges);
  CHECK(greedy == doctest::Approx(700.0).epsilon(0.01));
  CHECK(a->total_eta_ds < greedy);
}

TEST_CASE("batch: the number of matches comes first, then the ETA") {
  // R1 could take D1 (50 m) but then R2 (whose only candidate is D1) goes unmatched;
  // the solver must give R1 the far driver D2 so that both ride.
  spatial_index idx = make_index();
  put(idx, 1, at(0, 0));
  put(idx, 2, at(2900, 0));
  test_eta eta;
  batch_config cfg;
  cfg.max_radius_m = 3000;
  const std::vector<lat_lng> pickups{at(50, 0), at(-2000, 0)};
  auto a = batch_assign(requests_at(pickups), idx, eta, cfg);
  REQUIRE(a.ok());
  REQUIRE(a->matches.size() == 2);
  CHECK(a->matches[0].driver == driver_id{2});
  CHECK(a->matches[1].driver == driver_id{1});
  CHECK(a->unmatched.empty());
}

TEST_CASE("batch: fewer drivers than requests leaves the costliest unmatched") {
  spatial_index idx = make_index();
  put(idx, 7, at(0, 0));
  test_eta eta;
  const std::vector<lat_lng> pickups{at(900, 0), at(100, 0), at(0, 1500)};
  auto a = batch_assign(requests_at(pickups), idx, eta, batch_config{});
  REQUIRE(a.ok());
  check_consistent(*a, 3);
  REQUIRE(a->matches.size() == 1);
  CHECK(a->matches[0].request_index == 1);
  CHECK(a->matches[0].trip == trip_id{101});
  CHECK(a->matches[0].driver == driver_id{7});
  CHECK(a->unmatched == std::vector<std::size_t>{0, 2});

  spatial_index empty = make_index();
  auto none = batch_assign(requests_at(pickups), empty, eta, batch_config{});
  REQUIRE(none.ok());
  CHECK(none->matches.empty());
  CHECK(none->unmatched == std::vector<std::size_t>{0, 1, 2});
  CHECK(none->total_eta_ds == 0);
}

TEST_CASE("batch: a long wait outweighs a nearer newcomer, by wait_weight") {
  // One driver; a rider 1,500 m away who has waited 60 s and a new one 100 m
  // away. test_eta: 1 s per 10 m, so the far rider's pickup is 140 s longer.
  spatial_index idx = make_index();
  put(idx, 7, at(0, 0));
  test_eta eta;
  auto reqs = requests_at({at(1500, 0), at(100, 0)});
  reqs[0].waited_ms = 60'000;
  batch_config cfg;
  cfg.wait_weight = 1;  // 60 s of waiting < 140 s of ETA: the newcomer wins
  auto a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  REQUIRE(a->matches.size() == 1);
  CHECK(a->matches[0].request_index == 1);
  cfg.wait_weight = 14;  // the default: 60 s waited weighs 840 s of ETA
  CHECK(batch_config{}.wait_weight == 14);
  a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  REQUIRE(a->matches.size() == 1);
  CHECK(a->matches[0].request_index == 0);
  cfg.wait_weight = 1001;
  CHECK(batch_assign(reqs, idx, eta, cfg).code() == errc::bad_config);
}

TEST_CASE("batch: a far rider is served within max_windows_lost windows") {
  // Each window one driver frees up at the origin and a new rider asks 100 m
  // away; the first rider waits 3 km away. By pickup ETA alone (wait_weight 0)
  // the newcomer wins every window; once the far rider has lost
  // max_windows_lost windows it is matched first.
  test_eta eta;
  const auto windows_until_far_rider_served = [&eta](batch_config cfg) {
    batch_request far{trip_id{1}, at(3000, 0)};
    for (std::uint32_t window = 0; window < 20; ++window) {
      spatial_index idx = make_index();
      put(idx, 1 + window, at(0, 0));
      const std::vector<batch_request> reqs{far, {trip_id{2 + window}, at(100, 0)}};
      auto a = batch_assign(reqs, idx, eta, cfg);
      REQUIRE(a.ok());
      check_consistent(*a, 2);
      REQUIRE(a->matches.size() == 1);
      if (a->matches[0].trip == far.trip) return window;
      CHECK(a->left_out == std::vector<std::size_t>{0});
      ++far.windows_lost;  // the caller's count, as the node's matcher keeps it
    }
    return std::uint32_t{20};
  };
  batch_config cfg;
  cfg.wait_weight = 0;
  cfg.max_windows_lost = 0;  // off: the far rider loses every window
  CHECK(windows_until_far_rider_served(cfg) == 20);
  cfg.max_windows_lost = 3;
  CHECK(batch_config{}.max_windows_lost == 3);
  CHECK(windows_until_far_rider_served(cfg) == 3);
  cfg.max_windows_lost = 1;
  CHECK(windows_until_far_rider_served(cfg) == 1);

  // Nobody in reach is not a lost window.
  spatial_index empty = make_index();
  auto none = batch_assign({{trip_id{1}, at(0, 0)}}, empty, eta, cfg);
  REQUIRE(none.ok());
  CHECK(none->unmatched == std::vector<std::size_t>{0});
  CHECK(none->left_out.empty());
  cfg.max_windows_lost = 1001;
  CHECK(batch_assign({{trip_id{1}, at(0, 0)}}, empty, eta, cfg).code() == errc::bad_config);
}

TEST_CASE("batch: starved requests never cost a match") {
  // S (starved) and A both reach only D1; B reaches D1 and D2. The maximum
  // matching serves two: S takes D1 (it is starved), B takes D2.
  spatial_index idx = make_index();
  put(idx, 1, at(0, 0));
  put(idx, 2, at(2000, 0));
  test_eta eta;
  batch_config cfg;
  cfg.max_radius_m = 1500;
  std::vector<batch_request> reqs{
      {trip_id{1}, at(-1400, 0)}, {trip_id{2}, at(-100, 0)}, {trip_id{3}, at(1000, 0)}};
  reqs[0].windows_lost = cfg.max_windows_lost;
  auto a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  check_consistent(*a, 3);
  REQUIRE(a->matches.size() == 2);
  CHECK(a->matches[0].trip == trip_id{1});
  CHECK(a->matches[0].driver == driver_id{1});
  CHECK(a->matches[1].trip == trip_id{3});
  CHECK(a->matches[1].driver == driver_id{2});
  CHECK(a->left_out == std::vector<std::size_t>{1});
}

TEST_CASE("batch: leave_out_s keeps a far driver for a nearer rider, not from a starved one") {
  // One rider 3 km from the only driver: a 300 s pickup (test_eta: 10 m/s).
  spatial_index idx = make_index();
  put(idx, 1, at(0, 0));
  test_eta eta;
  std::vector<batch_request> reqs{{trip_id{1}, at(3000, 0)}};
  batch_config cfg;
  cfg.wait_weight = 0;
  CHECK(batch_config{}.leave_out_s == 0);  // default: every driver in reach is used
  auto a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  CHECK(a->matches.size() == 1);
  cfg.leave_out_s = 200;  // waiting is cheaper than a 300 s pickup
  a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  CHECK(a->matches.empty());
  CHECK(a->left_out == std::vector<std::size_t>{0});
  cfg.leave_out_s = 400;
  a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  CHECK(a->matches.size() == 1);
  cfg.leave_out_s = 200;
  reqs[0].waited_ms = 8'000;  // 80 ds x wait_weight 14 = 112 s more: 312 s > 300 s
  cfg.wait_weight = 14;
  a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  CHECK(a->matches.size() == 1);
  reqs[0].waited_ms = 0;
  reqs[0].windows_lost = cfg.max_windows_lost;  // starved: served whatever the ETA
  a = batch_assign(reqs, idx, eta, cfg);
  REQUIRE(a.ok());
  CHECK(a->matches.size() == 1);
  cfg.leave_out_s = 86401;
  CHECK(batch_assign(reqs, idx, eta, cfg).code() == errc::bad_config);
}

TEST_CASE("batch: deterministic across runs") {
  spatial_index idx = make_index();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> coord(-3000.0, 3000.0);
  for (std::uint64_t d = 1; d <= 60; ++d) put(idx, d, at(coord(rng), coord(rng)));
  std::vector<lat_lng> pickups;
  for (int r = 0; r < 50; ++r) pickups.push_back(at(coord(rng), coord(rng)));
  test_eta eta;
  auto a = batch_assign(requests_at(pickups), idx, eta, batch_config{});
  auto b = batch_assign(requests_at(pickups), idx, eta, batch_config{});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  check_consistent(*a, pickups.size());
  CHECK(a->matches.size() == 50);
  CHECK(a->total_eta_ds == b->total_eta_ds);
  for (std::size_t i = 0; i < a->matches.size(); ++i)
    CHECK(a->matches[i].driver == b->matches[i].driver);
}

TEST_CASE("batch: bad input is a typed error") {
  spatial_index idx = make_index();
  put(idx, 1, at(0, 0));
  test_eta eta;
  const batch_config ok;
  CHECK(batch_assign({}, idx, eta, ok).code() == errc::invalid_argument);
  CHECK(batch_assign({{trip_id{1}, lat_lng{NAN, -73.99}}}, idx, eta, ok).code() ==
        errc::invalid_coordinate);
  CHECK(batch_assign({{trip_id{1}, lat_lng{40.75, INFINITY}}}, idx, eta, ok).code() ==
        errc::invalid_coordinate);
  CHECK(batch_assign({{trip_id{1}, origin}, {trip_id{1}, at(10, 10)}}, idx, eta, ok).code() ==
        errc::duplicate_id);
  batch_config k0;
  k0.k = 0;
  CHECK(batch_assign({{trip_id{1}, origin}}, idx, eta, k0).code() == errc::invalid_k);
  batch_config r0;
  r0.max_radius_m = -1;
  CHECK(batch_assign({{trip_id{1}, origin}}, idx, eta, r0).code() == errc::invalid_radius);
  batch_config small;
  small.max_requests = 1;
  CHECK(batch_assign({{trip_id{1}, origin}, {trip_id{2}, origin}}, idx, eta, small).code() ==
        errc::invalid_argument);
  CHECK(validate(batch_config{}).ok());
  CHECK(validate(sequential_config{}).ok());
}
