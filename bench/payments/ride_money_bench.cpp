// ride_money_bench: what a ride's payments add to the trip transitions they ride
// on (issue 11's target: <= 1 ms at the p99 of request and completion). Each
// transition is committed as trip_actor's durably() builds it — snapshot,
// journal entry, trip event, and engine/trip_money.hpp's transfer chain (hold at
// request, capture at completion) — in one synced store::commit from
// concurrent callers, open loop at the dispatch_load shape (100 rides/s, six
// transitions each). Four setups, interleaved in each run on fresh directories:
//   none    the batch without its money (the trip path if there were no payments);
//   ledger  with the transfer chain (the ledger's checks and rows in the batch);
//   node    as a node with [payments] on: the chain, the store's commit listener
//           (fraud desk, ride charger queue), and the ride charger's worker making
//           the sandbox PSP calls (durable journal) and committing their records,
//           synced, into the same store while the trips run (every rider has a card);
//   rocksdb the floor: a plain RocksDB synced WriteBatch of the same three rows
//           per transition, same callers and pacing (no ledger, no outbox).
// Prints per-run p50/p99 of request and completion, then medians over the runs
// and the difference node - none at p99 (what payments add). `--only=<setup>`
// runs one setup (e.g. under strace -c, to count the syncs each one makes).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "payments/fraud_desk.hpp"
#include "payments/payment_service.hpp"
#include "payments/ride_charger.hpp"
#include "payments/sandbox_psp.hpp"
#include "rideshard/engine/trip_money.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/token_vault.hpp"
#include "rideshard/schemas/events.hpp"

using namespace rideshard;
using clock_type = std::chrono::steady_clock;

namespace {

enum class setup { none, ledger, node, rocksdb };
const char* name_of(setup s) {
  switch (s) {
    case setup::none:
      return "none";
    case setup::ledger:
      return "ledger";
    case setup::node:
      return "node";
    case setup::rocksdb:
      return "rocksdb";
  }
  return "?";
}

struct latencies {
  std::vector<double> request, complete;  ///< ms, sorted after the run
  int errors = 0;
  std::size_t psp_backlog_end = 0;  ///< node: rides still waiting for the PSP when the load ended
};

constexpr std::int64_t t0_ms = 1'750'000'000'000;
constexpr int steps = 6;  // requested, offered, accepted, arrived, started, completed
constexpr const char* vault_key_hex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

const trip_state states[steps] = {trip_state::requested,   trip_state::offered,
                                  trip_state::accepted,    trip_state::driver_arrived,
                                  trip_state::in_progress, trip_state::completed};
const schemas::trip_event_type types[steps] = {
    schemas::trip_event_type::requested, schemas::trip_event_type::offered,
    schemas::trip_event_type::accepted,  schemas::trip_event_type::driver_arrived,
    schemas::trip_event_type::started,   schemas::trip_event_type::completed};

// The batch trip_actor's durably() commits for step `i` of trip `t` (t moved to it).
result<persistence::write_batch> transition_batch(const trip& before, const trip& t, int i,
                                                  bool money, const money_rules& rules) {
  persistence::write_batch b;
  b.put_trip(t);
  if (t.sequence > 0) b.append_trip_journal(t);
  auto ev = schemas::make_trip_event(t, types[i], before.state, t0_ms + i * 60'000);
  ev.currency = "usd";
  if (t.state == trip_state::completed) ev.fare_minor = t.quoted_fare_minor;
  if (auto ok = b.add_trip_event(ev); !ok) return ok.err();
  if (!money) return b;
  auto chain = trip_transfers(before, t, ev.fare_minor, ev.occurred_at_ms, rules);
  if (!chain) return chain.err();
  if (!chain->empty()) b.add_transfers(std::move(*chain));
  return b;
}

/// `threads` callers, each taking its trips through the six transitions on its
/// own schedule (rate/threads rides per second); latency counts from the
/// scheduled time, so a stalled commit is also charged to those queued behind it.
template <class Commit>
latencies drive(int threads, int rides_per_s, int seconds, Commit commit) {
  latencies out;
  const long per_thread = static_cast<long>(rides_per_s) * seconds * steps / threads;
  const auto interval = std::chrono::nanoseconds(1'000'000'000LL * threads / (rides_per_s * steps));
  std::vector<std::vector<double>> req(static_cast<std::size_t>(threads));
  std::vector<std::vector<double>> done(static_cast<std::size_t>(threads));
  std::atomic<int> errors{0};
  const auto start = clock_type::now() + std::chrono::milliseconds(50);
  std::vector<std::thread> pool;
  for (int th = 0; th < threads; ++th)
    pool.emplace_back([&, th] {
      auto next = start + interval * th / threads;
      trip t, before;
      for (long n = 0; n < per_thread; ++n) {
        const int i = static_cast<int>(n % steps);
        if (i == 0) {
          t = trip{};
          t.id = trip_id{static_cast<std::uint64_t>(th) * 10'000'000 +
                         static_cast<std::uint64_t>(n / steps) + 1};
          t.rider = rider_id{static_cast<std::uint64_t>(th) + 1};
          t.pickup = {40.758, -73.9855};
          t.dropoff = {40.7061, -74.0087};
          t.pin = "4821";
          t.quoted_fare_minor = 1500 + static_cast<std::int64_t>(n % 700);
          t.requested_at_ms = t0_ms;
          before = t;
        } else {
          before = t;
          t.sequence = static_cast<std::uint64_t>(i);
          if (i == 1) t.driver = driver_id{static_cast<std::uint64_t>(th) + 1};
        }
        t.state = states[i];
        std::this_thread::sleep_until(next);
        if (!commit(before, t, i)) ++errors;
        const double ms =
            std::chrono::duration<double, std::milli>(clock_type::now() - next).count();
        if (i == 0) req[static_cast<std::size_t>(th)].push_back(ms);
        if (i == steps - 1) done[static_cast<std::size_t>(th)].push_back(ms);
        next += interval;
      }
    });
  for (auto& p : pool) p.join();
  for (auto& v : req) out.request.insert(out.request.end(), v.begin(), v.end());
  for (auto& v : done) out.complete.insert(out.complete.end(), v.begin(), v.end());
  std::sort(out.request.begin(), out.request.end());
  std::sort(out.complete.begin(), out.complete.end());
  out.errors = errors.load();
  return out;
}

latencies run_store(const bench::scratch_dir& dir, setup s, int threads, int rate, int seconds) {
  persistence::store_options so;
  so.path = dir.sub("db");
  auto store = persistence::store::open(so);
  if (!store) std::fprintf(stderr, "open: %s\n", store.err().message.c_str()), std::exit(1);
  money_rules rules;
  rules.tax_permille = 80;
  rules.commission_permille = 250;

  // The node's payments (node_payments.cpp): vault, durable sandbox PSP, the
  // service with every rider's card, fraud desk and ride charger on the listener.
  std::unique_ptr<persistence::token_vault> vault;
  std::unique_ptr<payments::sandbox_psp> psp;
  std::unique_ptr<payments::payment_service> service;
  std::unique_ptr<payments::fraud_desk> fraud;
  std::unique_ptr<payments::ride_charger> rides;
  std::atomic<std::uint64_t> ids{1};
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  if (s == setup::node) {
    persistence::vault_options vo;
    vo.path = dir.sub("vault");
    vo.key = *persistence::parse_vault_key(vault_key_hex);
    auto v = persistence::token_vault::open(vo);
    auto p = payments::sandbox_psp::open_durable(dir.sub("psp.journal"));
    if (!v || !p) std::fprintf(stderr, "vault or PSP did not open\n"), std::exit(1);
    vault = std::move(*v);
    psp = std::move(*p);
    payments::payment_options po;
    po.rules = rules;
    po.now_ms = now_ms;
    po.next_id = [&ids] { return ids++; };
    auto svc = payments::payment_service::open(**store, *vault, *psp, po);
    if (!svc) std::fprintf(stderr, "service: %s\n", svc.err().message.c_str()), std::exit(1);
    service = std::move(*svc);
    for (int r = 1; r <= threads; ++r)
      if (auto m = service->add_method(rider_id{static_cast<std::uint64_t>(r)},
                                       card_input{"4242424242424242", 12, 2040, "123"});
          !m)
        std::fprintf(stderr, "card: %s\n", m.err().message.c_str()), std::exit(1);
    payments::fraud_options fo;
    fo.now_ms = now_ms;
    fo.next_id = [&ids] { return ids++; };
    auto fd = payments::fraud_desk::open(**store, fo);
    payments::ride_charger_options ro;
    ro.now_ms = now_ms;
    auto rc = payments::ride_charger::open(**store, *vault, *service, *psp, ro);
    if (!fd || !rc) std::fprintf(stderr, "fraud desk or charger did not open\n"), std::exit(1);
    fraud = std::move(*fd);
    rides = std::move(*rc);
    (*store)->set_commit_listener([f = fraud.get(), r = rides.get()](const auto& b) {
      f->committed(b);
      r->committed(b);
    });
    rides->start();
  }
  const bool money = s != setup::none;
  auto out = drive(threads, rate, seconds, [&](const trip& before, const trip& t, int i) {
    auto b = transition_batch(before, t, i, money, rules);
    return b.ok() && (*store)->commit(*b).ok();
  });
  if (rides) {
    out.psp_backlog_end = rides->backlog();
    rides->stop();
    (*store)->set_commit_listener(nullptr);
  }
  return out;
}

// The floor: the same three rows (snapshot, journal entry, event) per
// transition into a plain RocksDB, one synced WriteBatch each.
latencies run_rocksdb(const bench::scratch_dir& dir, int threads, int rate, int seconds) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, dir.sub("plain"), &raw).ok())
    std::fprintf(stderr, "rocksdb open failed\n"), std::exit(1);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::atomic<std::uint64_t> seq{0};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  money_rules rules;
  return drive(threads, rate, seconds, [&](const trip& before, const trip& t, int i) {
    auto b = transition_batch(before, t, i, false, rules);
    if (!b) return false;
    rocksdb::WriteBatch wb;
    rocksdb::Status st;
    auto bytes = [](const std::vector<std::uint8_t>& v) {
      return rocksdb::Slice(reinterpret_cast<const char*>(v.data()), v.size());
    };
    const std::string id = std::to_string(t.id.value);
    for (const auto& e : b->entities())
      if (st.ok()) st = wb.Put("e" + id, bytes(e.value));
    for (const auto& j : b->journal())
      if (st.ok()) st = wb.Put("j" + id + "-" + std::to_string(j.sequence), bytes(j.value));
    for (const auto& ev : b->events())
      if (st.ok()) st = wb.Put("o" + std::to_string(seq++), ev.payload);
    return st.ok() && db->Write(wo, &wb).ok();
  });
}

}  // namespace

int main(int argc, char** argv) {
  // 100 rides/s x 6 transitions = dispatch_load's 100 requests/s; 32 callers so a
  // slow fsync grows the next commit group instead of capping the rate.
  const int rate = static_cast<int>(bench::arg_long(argc, argv, "rides-per-s", 100));
  const int threads = static_cast<int>(bench::arg_long(argc, argv, "threads", 32));
  const int seconds = static_cast<int>(bench::arg_long(argc, argv, "seconds", 10));
  const int runs = static_cast<int>(bench::arg_long(argc, argv, "runs", 5));
  std::string only;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]).rfind("--only=", 0) == 0) only = argv[i] + 7;
  if (rate < 1 || threads < 1 || seconds < 1 || runs < 1 || rate * steps < threads)
    return std::fprintf(stderr, "ride_money_bench: --rides-per-s, --threads, --seconds, --runs\n"),
           2;
  std::printf(
      "synced trip transitions with and without their payments: %d rides/s (%d transitions/s) "
      "from %d threads, %d s per setup, %d runs\n\n",
      rate, rate * steps, threads, seconds, runs);
  std::printf(
      "  run  setup     request p50/p99 (ms)   complete p50/p99 (ms)   errors  psp backlog\n");
  const setup order[] = {setup::none, setup::ledger, setup::node, setup::rocksdb};
  std::vector<double> p99_req[4], p99_done[4], p50_req[4], p50_done[4];
  for (int r = 0; r < runs; ++r) {
    for (int k = 0; k < 4; ++k) {
      // Rotate the order each run so drift on a shared machine spreads evenly.
      const setup s = order[(k + r) % 4];
      if (!only.empty() && only != name_of(s)) continue;
      bench::scratch_dir dir("ride-money");
      if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
      auto l = s == setup::rocksdb ? run_rocksdb(dir, threads, rate, seconds)
                                   : run_store(dir, s, threads, rate, seconds);
      const auto i = static_cast<std::size_t>(s);
      p50_req[i].push_back(bench::quantile(l.request, 0.5));
      p99_req[i].push_back(bench::quantile(l.request, 0.99));
      p50_done[i].push_back(bench::quantile(l.complete, 0.5));
      p99_done[i].push_back(bench::quantile(l.complete, 0.99));
      std::printf("  %3d  %-8s  %8.3f / %8.3f     %8.3f / %8.3f      %5d  %10zu\n", r + 1,
                  name_of(s), p50_req[i].back(), p99_req[i].back(), p50_done[i].back(),
                  p99_done[i].back(), l.errors, l.psp_backlog_end);
      if (l.errors) return 1;
    }
  }
  std::printf("\n  medians of %d runs\n", runs);
  for (auto s : order) {
    const auto i = static_cast<std::size_t>(s);
    if (p99_req[i].empty()) continue;  // not run (--only)
    std::printf("  med  %-8s  %8.3f / %8.3f     %8.3f / %8.3f\n", name_of(s),
                bench::median(p50_req[i]), bench::median(p99_req[i]), bench::median(p50_done[i]),
                bench::median(p99_done[i]));
  }
  if (!only.empty()) return 0;
  const auto none = static_cast<std::size_t>(setup::none);
  const auto node = static_cast<std::size_t>(setup::node);
  const double add_req = bench::median(p99_req[node]) - bench::median(p99_req[none]);
  const double add_done = bench::median(p99_done[node]) - bench::median(p99_done[none]);
  std::printf("  payments add at p99: request %+.3f ms, complete %+.3f ms (target <= 1 ms: %s)\n",
              add_req, add_done, add_req <= 1.0 && add_done <= 1.0 ? "met" : "MISSED");
  char head[256];
  std::snprintf(head, sizeof head,
                "{\"bench\": \"ride_money\", \"rides_per_s\": %d, \"threads\": %d, "
                "\"seconds\": %d, \"added_p99_request_ms\": %.4f, \"added_p99_complete_ms\": "
                "%.4f, \"target_ms\": 1.0",
                rate, threads, seconds, add_req, add_done);
  std::string json = head;
  for (auto s : order) {
    const auto i = static_cast<std::size_t>(s);
    json += std::string(", \"") + name_of(s) +
            "\": {\"p99_request_ms\": " + bench::json_array(p99_req[i]) +
            ", \"p99_complete_ms\": " + bench::json_array(p99_done[i]) +
            ", \"p50_request_ms\": " + bench::json_array(p50_req[i]) +
            ", \"p50_complete_ms\": " + bench::json_array(p50_done[i]) + "}";
  }
  bench::write_result("ride_money", json + "}");
  return 0;
}
