// Batched assignment (LEMON min-cost flow) at 50x50 .. 500x500 against a greedy
// nearest-first baseline on the same candidates, and the sequential next-offer cost.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <tuple>
#include <vector>

#include "rideshard/engine/eta.hpp"
#include "rideshard/engine/matching.hpp"
#include "rideshard/engine/spatial_index.hpp"

using namespace rideshard;

namespace {

const bounding_box nyc{{40.49, -74.26}, {40.92, -73.70}};
const bounding_box midtown{{40.740, -74.005}, {40.785, -73.950}};  // ~5 km x 4.6 km

template <class T>
T must(result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "bench setup failed: %s\n", r.err().message.c_str());
    std::abort();
  }
  return std::move(r).value();
}

lat_lng random_in(const bounding_box& b, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> lat(b.south_west.lat, b.north_east.lat);
  std::uniform_real_distribution<double> lng(b.south_west.lng, b.north_east.lng);
  return {lat(rng), lng(rng)};
}

// nd drivers and nr requests, uniform in `area`, seeded: every run sees the same city.
struct instance {
  spatial_index index;
  std::vector<batch_request> requests;
  straight_line_eta eta;
};

instance make_instance(std::size_t nr, std::size_t nd, const bounding_box& area,
                       std::uint64_t seed) {
  spatial_index_config icfg;
  icfg.bounds = nyc;
  instance in{must(spatial_index::create(icfg)), {}, must(straight_line_eta::create({}))};
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < nd; ++i)
    if (!in.index.upsert(driver_id{i + 1}, random_in(area, rng)).ok()) std::abort();
  for (std::size_t i = 0; i < nr; ++i)
    in.requests.push_back({trip_id{i + 1}, random_in(area, rng)});
  return in;
}

batch_config bench_config() {
  batch_config cfg;
  cfg.k = 16;
  cfg.max_radius_m = 8000;
  return cfg;
}

// Greedy nearest-first on the same candidate edges: the usual naive baseline.
std::pair<std::size_t, double> greedy_assign(const instance& in, const batch_config& cfg) {
  std::vector<std::tuple<double, std::size_t, driver_id>> edges;
  std::vector<neighbor> hits;
  for (std::size_t r = 0; r < in.requests.size(); ++r) {
    if (!in.index.nearest(in.requests[r].pickup, cfg.max_radius_m, cfg.k, hits).ok()) std::abort();
    for (const neighbor& n : hits)
      edges.emplace_back(in.eta.estimate_s(n.pos, in.requests[r].pickup), r, n.id);
  }
  std::sort(edges.begin(), edges.end());
  std::vector<bool> r_used(in.requests.size());
  std::vector<bool> d_used(in.index.size() + 1);
  std::size_t matched = 0;
  double total = 0;
  for (const auto& [eta, r, d] : edges) {
    if (r_used[r] || d_used[d.value]) continue;
    r_used[r] = d_used[d.value] = true;
    ++matched;
    total += eta;
  }
  return {matched, total};
}

// Args: (requests, drivers). Counters: matched requests and their mean pickup ETA.
instance bench_instance(const benchmark::State& state, const bounding_box& area) {
  const auto nr = static_cast<std::size_t>(state.range(0));
  const auto nd = static_cast<std::size_t>(state.range(1));
  return make_instance(nr, nd, area, 42 + nr * 7919 + nd);
}

void run_batch(benchmark::State& state, const bounding_box& area) {
  const instance in = bench_instance(state, area);
  const batch_config cfg = bench_config();
  assignment last;
  for (auto _ : state) {
    auto a = batch_assign(in.requests, in.index, in.eta, cfg);
    if (!a.ok()) state.SkipWithError(a.err().message.c_str());
    benchmark::DoNotOptimize(a);
    last = std::move(a).value();
  }
  state.counters["matched"] = static_cast<double>(last.matches.size());
  state.counters["mean_eta_s"] =
      last.matches.empty() ? 0.0
                           : last.total_eta_ds / 10.0 / static_cast<double>(last.matches.size());
}

void run_greedy(benchmark::State& state, const bounding_box& area) {
  const instance in = bench_instance(state, area);
  const batch_config cfg = bench_config();
  std::pair<std::size_t, double> last;
  for (auto _ : state) {
    last = greedy_assign(in, cfg);
    benchmark::DoNotOptimize(last);
  }
  state.counters["matched"] = static_cast<double>(last.first);
  state.counters["mean_eta_s"] =
      last.first == 0 ? 0.0 : last.second / static_cast<double>(last.first);
}

// Requests and drivers spread over all of NYC (sparse: few candidates per request).
void BM_batch_assign_nyc(benchmark::State& s) { run_batch(s, nyc); }
void BM_greedy_assign_nyc(benchmark::State& s) { run_greedy(s, nyc); }
// All in Midtown (dense: every request has k = 16 candidates; the solver's hard case).
void BM_batch_assign_midtown(benchmark::State& s) { run_batch(s, midtown); }
void BM_greedy_assign_midtown(benchmark::State& s) { run_greedy(s, midtown); }

// Sequential: one request's first offer (index query, ETA ranking) among n drivers
// in Midtown, then a chain of k = 8 offers with a decline after each.
void BM_sequential_first_offer(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const instance in = make_instance(1000, n, midtown, 7 + n);
  std::size_t i = 0;
  for (auto _ : state) {
    const batch_request& r = in.requests[i++ % in.requests.size()];
    auto d = must(sequential_dispatch::create(r.trip, r.pickup, sequential_config{}));
    auto o = d.next_offer(in.index, in.eta, 0);
    benchmark::DoNotOptimize(o);
  }
}

void BM_sequential_offer_chain8(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const instance in = make_instance(1000, n, midtown, 7 + n);
  std::size_t i = 0;
  for (auto _ : state) {
    const batch_request& r = in.requests[i++ % in.requests.size()];
    auto d = must(sequential_dispatch::create(r.trip, r.pickup, sequential_config{}));
    for (int j = 0; j < 8; ++j) {
      auto o = d.next_offer(in.index, in.eta, j * 15000);
      if (!o.ok() || !d.decline(o->driver).ok()) break;
    }
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 8);
}

}  // namespace

// (requests, drivers). 200 x 400 lets both methods match everyone, so the mean
// ETAs compare directly; at n x n greedy also leaves requests unmatched.
#define RIDESHARD_SIZES Args({50, 50})->Args({200, 200})->Args({500, 500})->Args({200, 400})
BENCHMARK(BM_batch_assign_nyc)->RIDESHARD_SIZES->Unit(benchmark::kMillisecond)->MinTime(0.2);
BENCHMARK(BM_greedy_assign_nyc)
    ->Args({200, 200})
    ->Args({200, 400})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.2);
BENCHMARK(BM_batch_assign_midtown)->RIDESHARD_SIZES->Unit(benchmark::kMillisecond)->MinTime(0.2);
BENCHMARK(BM_greedy_assign_midtown)
    ->Args({200, 200})
    ->Args({200, 400})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.2);
BENCHMARK(BM_sequential_first_offer)
    ->Arg(200)
    ->Arg(5000)
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.2);
BENCHMARK(BM_sequential_offer_chain8)
    ->Arg(200)
    ->Arg(5000)
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.2);

BENCHMARK_MAIN();
