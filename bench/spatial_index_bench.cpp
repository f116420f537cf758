// Spatial index at New York scale (100k and 1M drivers, uniform and hotspot):
// GPS-update throughput, k=10-within-2-km query latency (p50/p99), bytes/driver.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "rideshard/engine/spatial_index.hpp"

using namespace rideshard;

namespace {

constexpr bounding_box nyc{{40.49, -74.26}, {40.92, -73.70}};
constexpr double m_per_deg = 111'195.08;
constexpr double pi = 3.14159265358979323846;
constexpr std::size_t move_stream_length = std::size_t{1} << 20;
constexpr std::size_t query_count = 100'000;

lat_lng offset_m(lat_lng p, double north_m, double east_m) {
  return {p.lat + north_m / m_per_deg, p.lng + east_m / (m_per_deg * std::cos(p.lat * pi / 180))};
}

// Drivers and riders: uniform over the box, or 60% around five gaussian
// hotspots (Midtown, FiDi, Downtown Brooklyn, LaGuardia, JFK) and 40% uniform.
struct city_sampler {
  bool hotspot = false;
  lat_lng operator()(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> unit(0, 1);
    std::normal_distribution<double> g(0, 1);
    struct spot {
      lat_lng centre;
      double sigma_m, weight;
    };
    static const spot spots[] = {{{40.754, -73.984}, 1500, 0.30},
                                 {{40.708, -74.011}, 1000, 0.20},
                                 {{40.693, -73.990}, 1200, 0.15},
                                 {{40.776, -73.874}, 800, 0.15},
                                 {{40.641, -73.778}, 1200, 0.20}};
    for (;;) {
      lat_lng p{nyc.south_west.lat + unit(rng) * (nyc.north_east.lat - nyc.south_west.lat),
                nyc.south_west.lng + unit(rng) * (nyc.north_east.lng - nyc.south_west.lng)};
      if (hotspot && unit(rng) < 0.6) {
        double pick = unit(rng);
        const spot* s = spots;
        while (pick > s->weight && s + 1 != std::end(spots)) pick -= (s++)->weight;
        p = offset_m(s->centre, g(rng) * s->sigma_m, g(rng) * s->sigma_m);
      }
      if (nyc.contains(p)) return p;
    }
  }
};

struct fleet {
  spatial_index index;
  std::vector<driver_position> moves;  // a random-walk stream of GPS updates
  std::vector<lat_lng> queries;        // riders, distributed like the drivers
  std::size_t cursor = 0;
};

spatial_index make_index() {
  spatial_index_config cfg;
  cfg.bounds = nyc;
  auto r = spatial_index::create(cfg);
  if (!r) {
    std::fprintf(stderr, "create failed: %s\n", r.err().message.c_str());
    std::abort();
  }
  return std::move(r).value();
}

// Built once per (size, layout) and shared by every benchmark and repetition.
fleet& get_fleet(std::size_t drivers, bool hotspot) {
  static std::map<std::pair<std::size_t, bool>, std::unique_ptr<fleet>> cache;
  auto& slot = cache[{drivers, hotspot}];
  if (slot) return *slot;
  slot = std::make_unique<fleet>(fleet{make_index(), {}, {}, 0});
  fleet& f = *slot;
  std::mt19937_64 rng(drivers * 2 + hotspot);
  const city_sampler sample{hotspot};
  std::vector<lat_lng> where(drivers);
  f.index.reserve(drivers);
  for (std::size_t i = 0; i < drivers; ++i) {
    where[i] = sample(rng);
    if (!f.index.upsert(driver_id{i + 1}, where[i])) std::abort();
  }
  // Each move: a random driver steps 10-40 m in a random direction.
  std::uniform_int_distribution<std::size_t> pick(0, drivers - 1);
  std::uniform_real_distribution<double> step(10, 40), angle(0, 2 * pi);
  f.moves.reserve(move_stream_length);
  for (std::size_t m = 0; m < move_stream_length; ++m) {
    const std::size_t i = pick(rng);
    const double s = step(rng), a = angle(rng);
    lat_lng next = offset_m(where[i], s * std::cos(a), s * std::sin(a));
    if (!nyc.contains(next)) next = offset_m(where[i], -s * std::cos(a), -s * std::sin(a));
    where[i] = next;
    f.moves.push_back({driver_id{i + 1}, next});
  }
  f.queries.reserve(query_count);
  for (std::size_t q = 0; q < query_count; ++q) f.queries.push_back(sample(rng));
  return f;
}

void BM_update_batched(benchmark::State& state) {
  fleet& f = get_fleet(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
  constexpr std::size_t chunk = 1024;
  for (auto _ : state) {
    if (f.cursor + chunk > f.moves.size()) f.cursor = 0;
    auto r = f.index.upsert_batch(f.moves.data() + f.cursor, chunk);
    benchmark::DoNotOptimize(r);
    f.cursor += chunk;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * chunk));
}

void BM_update_single(benchmark::State& state) {
  fleet& f = get_fleet(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
  for (auto _ : state) {
    if (f.cursor == f.moves.size()) f.cursor = 0;
    const driver_position& m = f.moves[f.cursor++];
    auto r = f.index.upsert(m.id, m.pos);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// One iteration = 100k queries, each timed on its own with steady_clock (the
// figures include ~20 ns of clock reads); counters report the distribution.
template <bool reuse_vector>
void BM_nearest_k10_2km(benchmark::State& state) {
  fleet& f = get_fleet(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
  using clock = std::chrono::steady_clock;
  std::vector<double> ns(f.queries.size());
  std::vector<neighbor> out;
  std::size_t found = 0;
  for (auto _ : state) {
    found = 0;
    for (std::size_t q = 0; q < f.queries.size(); ++q) {
      const auto t0 = clock::now();
      if constexpr (reuse_vector) {
        auto r = f.index.nearest(f.queries[q], 2000.0, 10, out);
        benchmark::DoNotOptimize(r);
        found += out.size();
      } else {
        auto r = f.index.nearest(f.queries[q], 2000.0, 10);
        benchmark::DoNotOptimize(r);
        found += r->size();
      }
      ns[q] = std::chrono::duration<double, std::nano>(clock::now() - t0).count();
    }
  }
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double quantile) {
    return ns[static_cast<std::size_t>(quantile * static_cast<double>(ns.size() - 1))];
  };
  state.counters["p50_ns"] = at(0.50);
  state.counters["p99_ns"] = at(0.99);
  state.counters["p999_ns"] = at(0.999);
  state.counters["max_ns"] = ns.back();
  state.counters["hits_per_query"] =
      static_cast<double>(found) / static_cast<double>(f.queries.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * f.queries.size()));
}

void BM_memory(benchmark::State& state) {
  fleet& f = get_fleet(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(f.index.memory_bytes());
  state.counters["bytes_per_driver"] =
      static_cast<double>(f.index.memory_bytes()) / static_cast<double>(f.index.size());
}

void fleets(benchmark::internal::Benchmark* b) {
  b->ArgNames({"drivers", "hotspot"});
  for (std::int64_t n : {100'000, 1'000'000}) {
    for (std::int64_t hot : {0, 1}) b->Args({n, hot});
  }
}

BENCHMARK(BM_update_batched)->Apply(fleets)->MinTime(0.3);
BENCHMARK(BM_update_single)->Apply(fleets)->MinTime(0.3);
BENCHMARK_TEMPLATE(BM_nearest_k10_2km, false)
    ->Apply(fleets)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_nearest_k10_2km, true)
    ->Apply(fleets)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_memory)->Apply(fleets)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
