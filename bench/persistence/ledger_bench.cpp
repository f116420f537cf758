// Ledger throughput in synced batches: rides' money (hold, then capture split
// driver/platform/tax: 5 transfers per ride) committed through store::commit
// with fsynced WAL, in two shapes — large batches from one caller, and one ride
// step per commit from many callers (group commit). Reports transfers/s and the
// ratio to the disk's own fdatasync rate measured in the same run; medians of 5.
#include <time.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "bench_support.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/store.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using clock_type = std::chrono::steady_clock;

namespace {

const money_rules rules = [] {
  money_rules r;
  r.tax_permille = 80;
  return r;
}();

ride_parties ride(std::uint64_t n) {
  return {money_domain::trip, n, rider_id{n % 10'000 + 1}, driver_id{n % 2'000 + 1}};
}

std::unique_ptr<store> open_synced(const std::string& path) {
  store_options o;
  o.path = path;
  o.sync = true;  // the subject: a posted transfer is fsynced
  auto s = store::open(o);
  if (!s) std::fprintf(stderr, "open: %s\n", s.err().message.c_str()), std::exit(1);
  return std::move(*s);
}

// Process CPU seconds: a figure that other load on the machine distorts less than wall time.
double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct run_result {
  double transfers_per_s = 0;
  double cpu_us_per_transfer = 0;
  std::uint64_t transfers = 0;
  int errors = 0;
};

/// One caller: `rides` rides, `per_batch` rides per commit — first a batch of
/// their holds, then a batch of their captures.
run_result batched(const std::string& path, std::uint64_t rides, std::uint64_t per_batch) {
  auto s = open_synced(path);
  run_result r;
  const auto t0 = clock_type::now();
  const double cpu0 = cpu_seconds();
  for (std::uint64_t first = 1; first <= rides; first += per_batch) {
    const std::uint64_t last = std::min(rides, first + per_batch - 1);
    write_batch holds, captures;
    for (std::uint64_t n = first; n <= last; ++n) {
      holds.add_transfers({*hold_transfer(ride(n), 2000, 1, rules)});
      auto chain = *capture_transfers(ride(n), 2000, 1800, 2, rules);
      r.transfers += 1 + chain.size();
      captures.add_transfers(std::move(chain));
    }
    if (!s->commit(holds).ok() || !s->commit(captures).ok()) ++r.errors;
  }
  r.transfers_per_s = static_cast<double>(r.transfers) / bench::seconds_since(t0);
  r.cpu_us_per_transfer = (cpu_seconds() - cpu0) * 1e6 / static_cast<double>(r.transfers);
  if (!ledger(*s).check_invariants().ok()) ++r.errors;
  return r;
}

/// `threads` callers for `seconds`: each commits one ride step per batch (the
/// shape of trip transitions), hold then capture; group commit shares fsyncs.
run_result concurrent(const std::string& path, int threads, double seconds) {
  auto s = open_synced(path);
  std::atomic<std::uint64_t> transfers{0};
  std::atomic<int> errors{0};
  const auto t0 = clock_type::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (std::uint64_t i = 0; bench::seconds_since(t0) < seconds; ++i) {
        const std::uint64_t n = static_cast<std::uint64_t>(t) * 100'000'000 + i + 1;
        write_batch hold, capture;
        hold.add_transfers({*hold_transfer(ride(n), 2000, 1, rules)});
        auto chain = *capture_transfers(ride(n), 2000, 1800, 2, rules);
        const auto count = 1 + chain.size();
        capture.add_transfers(std::move(chain));
        if (!s->commit(hold).ok() || !s->commit(capture).ok()) ++errors;
        transfers += count;
      }
    });
  for (auto& th : pool) th.join();
  run_result r;
  r.transfers = transfers;
  r.transfers_per_s = static_cast<double>(r.transfers) / bench::seconds_since(t0);
  r.errors = errors;
  if (!ledger(*s).check_invariants().ok()) ++r.errors;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const auto rides = static_cast<std::uint64_t>(bench::arg_long(argc, argv, "rides", 100'000));
  const auto per_batch = static_cast<std::uint64_t>(bench::arg_long(argc, argv, "batch", 1000));
  const int threads = static_cast<int>(bench::arg_long(argc, argv, "threads", 64));
  const double seconds = static_cast<double>(bench::arg_long(argc, argv, "seconds", 5));
  const int runs = static_cast<int>(bench::arg_long(argc, argv, "runs", 5));
  std::printf(
      "ledger: synced commits of ride money (hold + capture/split = 5 transfers/ride)\n"
      "  A: %llu rides, %llu rides per batch, one caller\n"
      "  B: %d callers, one ride step per commit, %.0f s\n\n",
      static_cast<unsigned long long>(rides), static_cast<unsigned long long>(per_batch), threads,
      seconds);
  std::printf(
      "  run   fdatasync/s   A transfers/s   A per fsync   A CPU us/transfer   B transfers/s   "
      "B per fsync\n");
  std::vector<double> fsyncs, a_rate, b_rate, a_ratio, b_ratio, a_cpu;
  for (int r = 0; r < runs; ++r) {
    bench::scratch_dir dir("ledger-bench");
    if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
    const auto probe = bench::fdatasync_floor(dir.sub("probe"), 300);
    double sum_ms = 0;
    for (double v : probe) sum_ms += v;
    const double fsync_per_s = probe.empty() ? 0 : 1000.0 * probe.size() / sum_ms;
    const auto a = batched(dir.sub("a"), rides, per_batch);
    const auto b = concurrent(dir.sub("b"), threads, seconds);
    if (a.errors || b.errors) return std::fprintf(stderr, "errors: %d/%d\n", a.errors, b.errors), 1;
    fsyncs.push_back(fsync_per_s);
    a_rate.push_back(a.transfers_per_s);
    b_rate.push_back(b.transfers_per_s);
    a_ratio.push_back(a.transfers_per_s / fsync_per_s);
    b_ratio.push_back(b.transfers_per_s / fsync_per_s);
    a_cpu.push_back(a.cpu_us_per_transfer);
    std::printf("  %3d   %11.0f   %13.0f   %11.1f   %17.2f   %13.0f   %11.1f\n", r + 1, fsync_per_s,
                a.transfers_per_s, a_ratio.back(), a_cpu.back(), b.transfers_per_s, b_ratio.back());
  }
  std::printf("  med   %11.0f   %13.0f   %11.1f   %17.2f   %13.0f   %11.1f\n",
              bench::median(fsyncs), bench::median(a_rate), bench::median(a_ratio),
              bench::median(a_cpu), bench::median(b_rate), bench::median(b_ratio));
  std::printf("  target >= 50,000 transfers/s in synced batches (A): %s\n",
              bench::median(a_rate) >= 50'000 ? "met" : "MISSED");
  char json[512];
  std::snprintf(json, sizeof json,
                "{\"bench\": \"ledger\", \"rides\": %llu, \"batch\": %llu, \"threads\": %d, "
                "\"median_fdatasync_per_s\": %.1f, \"median_batched_transfers_per_s\": %.1f, "
                "\"median_batched_per_fsync\": %.2f, \"median_batched_cpu_us_per_transfer\": %.3f, "
                "\"median_concurrent_transfers_per_s\": "
                "%.1f, \"median_concurrent_per_fsync\": %.2f, ",
                static_cast<unsigned long long>(rides), static_cast<unsigned long long>(per_batch),
                threads, bench::median(fsyncs), bench::median(a_rate), bench::median(a_ratio),
                bench::median(a_cpu), bench::median(b_rate), bench::median(b_ratio));
  bench::write_result(
      "ledger", std::string(json) + "\"batched_transfers_per_s\": " + bench::json_array(a_rate) +
                    ", \"concurrent_transfers_per_s\": " + bench::json_array(b_rate) + "}");
  return 0;
}
