// Recovery of 1M entity states: fill a store with trip and driver snapshots,
// close it, then time open + load_entities + decode, five times (target <= 2 s).
#include <cstdio>
#include <ctime>
#include <random>

#include "bench_support.hpp"
#include "rideshard/persistence/store.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using rideshard::bench::seconds_since;

namespace {

trip sample_trip(std::uint64_t id, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> lat(40.60, 40.85), lng(-74.05, -73.85);
  trip t;
  t.id = trip_id{id};
  t.rider = rider_id{id * 7 + 1};
  t.driver = driver_id{id % 50000 + 1};
  t.pickup = {lat(rng), lng(rng)};
  t.dropoff = {lat(rng), lng(rng)};
  t.state = static_cast<trip_state>(rng() % 6);
  t.sequence = 1 + rng() % 6;
  t.pin = "4821";
  t.requested_at_ms = 1718000000000 + static_cast<std::int64_t>(id);
  return t;
}

schemas::driver_record sample_driver(std::uint64_t id, std::mt19937_64& rng) {
  schemas::driver_record d;
  d.id = driver_id{id};
  d.status = static_cast<schemas::driver_status>(rng() % 3);
  d.last_position = lat_lng{40.6 + (rng() % 25000) * 1e-5, -74.05 + (rng() % 20000) * 1e-5};
  d.last_seen_ms = 1718000000000 + static_cast<std::int64_t>(rng() % 86400000);
  d.trips_completed = static_cast<std::uint32_t>(rng() % 5000);
  return d;
}

/// CPU seconds this process has used (all threads): less sensitive than wall
/// time to other work on a shared machine.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct run_times {
  double open_s, load_s, decode_s, total_s, cpu_s;
  std::size_t entities;
};

run_times recover(const std::string& path) {
  run_times r{};
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  store_options o;
  o.path = path;
  o.create_if_missing = false;
  auto s = store::open(o);
  if (!s) std::fprintf(stderr, "open: %s\n", s.err().message.c_str()), std::exit(1);
  r.open_s = seconds_since(t0);
  double load = 0, decode = 0;
  std::size_t decoded = 0;
  for (auto kind : {entity_kind::trip, entity_kind::driver}) {
    auto t1 = std::chrono::steady_clock::now();
    auto snaps = (*s)->load_entities(kind);
    if (!snaps) std::fprintf(stderr, "load: %s\n", snaps.err().message.c_str()), std::exit(1);
    load += seconds_since(t1);
    t1 = std::chrono::steady_clock::now();
    for (const auto& snap : *snaps) {
      const bool ok =
          kind == entity_kind::trip
              ? schemas::decode_trip_record(snap.value.data(), snap.value.size()).ok()
              : schemas::decode_driver_record(snap.value.data(), snap.value.size()).ok();
      decoded += ok;
    }
    decode += seconds_since(t1);
    r.entities += snaps->size();
  }
  if (decoded != r.entities) std::fprintf(stderr, "decode failures\n"), std::exit(1);
  r.load_s = load;
  r.decode_s = decode;
  r.total_s = seconds_since(t0);
  r.cpu_s = cpu_seconds() - cpu0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const long trips = bench::arg_long(argc, argv, "trips", 500000);
  const long drivers = bench::arg_long(argc, argv, "drivers", 500000);
  const long runs = bench::arg_long(argc, argv, "runs", 5);
  bench::scratch_dir dir("recovery-bench");
  if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  const std::string path = dir.sub("db");

  std::mt19937_64 rng(42);
  const auto fill_t0 = std::chrono::steady_clock::now();
  {
    store_options o;
    o.path = path;
    o.sync = false;  // the fill is set-up, not the subject
    auto s = store::open(o);
    if (!s) return std::fprintf(stderr, "open: %s\n", s.err().message.c_str()), 1;
    write_batch b;
    auto flush = [&] {
      if (b.empty()) return;
      if (auto c = (*s)->commit(b); !c)
        std::fprintf(stderr, "%s\n", c.err().message.c_str()), std::exit(1);
      b = write_batch{};
    };
    for (long i = 1; i <= trips; ++i) {
      b.put_trip(sample_trip(static_cast<std::uint64_t>(i), rng));
      if (i % 1000 == 0) flush();
    }
    for (long i = 1; i <= drivers; ++i) {
      b.put_driver(sample_driver(static_cast<std::uint64_t>(i), rng));
      if (i % 1000 == 0) flush();
    }
    flush();
  }
  std::printf("filled %ld trips + %ld drivers in %.1f s (unsynced)\n", trips, drivers,
              seconds_since(fill_t0));

  std::vector<double> total, open, load, decode, cpu;
  std::printf("\n  run   open (s)   load (s)   decode (s)   total (s)   cpu (s)   entities\n");
  for (long i = 0; i < runs; ++i) {
    auto r = recover(path);
    std::printf("  %3ld   %8.3f   %8.3f   %10.3f   %9.3f   %7.3f   %8zu\n", i + 1, r.open_s,
                r.load_s, r.decode_s, r.total_s, r.cpu_s, r.entities);
    cpu.push_back(r.cpu_s);
    total.push_back(r.total_s);
    open.push_back(r.open_s);
    load.push_back(r.load_s);
    decode.push_back(r.decode_s);
  }
  const double med = bench::median(total);
  std::printf("  med   %8.3f   %8.3f   %10.3f   %9.3f   %7.3f   target <= 2 s: %s\n",
              bench::median(open), bench::median(load), bench::median(decode), med,
              bench::median(cpu), med <= 2.0 ? "met" : "MISSED");
  char json[512];
  std::snprintf(json, sizeof json,
                "{\"bench\": \"recovery\", \"entities\": %ld, \"runs\": %ld, "
                "\"median_total_s\": %.4f, \"median_open_s\": %.4f, \"median_load_s\": %.4f, "
                "\"median_decode_s\": %.4f, \"median_cpu_s\": %.4f, \"target_s\": 2.0, ",
                trips + drivers, runs, med, bench::median(open), bench::median(load),
                bench::median(decode), bench::median(cpu));
  bench::write_result("recovery",
                      std::string(json) + "\"total_s\": " + bench::json_array(total) + "}");
  return 0;
}
