// What a cluster-mode acknowledgement costs: changelog_writer::write of one
// transition (trip snapshot + trip event) per transaction, sequentially
// (latency p50/p99, transactions/s), and of GROUP transitions per transaction
// (transitions/s, as a journal's group commit would); against an idempotent
// non-transactional producer sending the same two records and flushing (acks=all)
// in the same run: the price of the transaction itself.
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <string>

#include "bench_support.hpp"
#include "changelog_bench_support.hpp"
#include "rideshard/persistence/outbox_relay.hpp"
#include "rideshard/persistence/trip_changelog.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

constexpr const char* events = "bench.trip-events";

write_batch transition(std::uint64_t id) {
  trip t;
  t.id = trip_id{id};
  t.rider = rider_id{id};
  t.pickup = {40.75, -73.98};
  t.dropoff = {40.70, -74.0};
  t.pin = "4821";
  t.sequence = 2;
  write_batch b;
  b.put_trip(t);
  const auto key = to_string(t.id);
  b.add_event({events,
               key,
               "{\"event_type\":\"offered\",\"trip_id\":" + std::to_string(id) + "}",
               {{"ce_id", key + "-2"}}});
  return b;
}

struct run_result {
  double p50_ms = 0, p99_ms = 0, per_s = 0;
};

run_result summarize(std::vector<double> ms, double seconds, double items) {
  std::sort(ms.begin(), ms.end());
  return {bench::quantile(ms, 0.5), bench::quantile(ms, 0.99), items / seconds};
}

/// One transition per transaction, `n` in a row.
run_result single(changelog_writer& w, long n, std::uint64_t first) {
  std::vector<double> ms;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    const auto s = std::chrono::steady_clock::now();
    if (!w.write(transition(first + static_cast<std::uint64_t>(i)))) return {};
    ms.push_back(bench::seconds_since(s) * 1000);
  }
  return summarize(ms, bench::seconds_since(t0), static_cast<double>(n));
}

/// `group` transitions per transaction, `n` transitions in all.
run_result grouped(changelog_writer& w, long n, long group, std::uint64_t first) {
  std::vector<double> ms;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; i += group) {
    write_batch b;
    for (long j = i; j < i + group && j < n; ++j)
      b.append(transition(first + static_cast<std::uint64_t>(j)));
    const auto s = std::chrono::steady_clock::now();
    if (!w.write(b)) return {};
    ms.push_back(bench::seconds_since(s) * 1000);
  }
  return summarize(ms, bench::seconds_since(t0), static_cast<double>(n));
}

/// The peer: the same two records per transition, idempotent producer, flush each.
run_result idempotent(const std::string& bootstrap, const std::string& changelog, long n) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] :
       {std::pair<const char*, const char*>{"bootstrap.servers", bootstrap.c_str()},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", "lz4"},
        {"linger.ms", "1"}})
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) return {};
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) return {};
  std::vector<double> ms;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    const auto b = transition(static_cast<std::uint64_t>(9'000'000 + i));
    const auto s = std::chrono::steady_clock::now();
    const auto& snap = b.entities().at(0).value;
    const auto key = to_string(trip_id{b.entities().at(0).id});
    const auto& ev = b.events().at(0);
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(changelog.c_str()), RD_KAFKA_V_PARTITION(0),
                      RD_KAFKA_V_KEY(key.data(), key.size()),
                      RD_KAFKA_V_VALUE(const_cast<std::uint8_t*>(snap.data()), snap.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(events), RD_KAFKA_V_KEY(ev.key.data(), ev.key.size()),
                      RD_KAFKA_V_VALUE(const_cast<char*>(ev.payload.data()), ev.payload.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(rk, 10000);
    ms.push_back(bench::seconds_since(s) * 1000);
  }
  const double secs = bench::seconds_since(t0);
  rd_kafka_destroy(rk);
  return summarize(ms, secs, static_cast<double>(n));
}

}  // namespace

int main(int argc, char** argv) {
  const long n = bench::arg_long(argc, argv, "transitions", 300);
  const long group = bench::arg_long(argc, argv, "group", 50);
  const long runs = bench::arg_long(argc, argv, "runs", 5);
  bench::scratch_dir dir("changelog-commit-bench");
  if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  bench::kafka_broker kafka(dir.sub("kafka"));
  if (int status = 0; !bench::kafka_up(kafka, dir, status)) return status;
  changelog_options o;
  auto w = bench::open_bench_changelog(o, kafka.bootstrap(), {{events, 3, 1, {}}});
  if (!w) return 1;
  (void)single(*w, 20, 1);  // warm-up (JIT, connections), untimed
  std::printf("%ld transitions (trip snapshot + trip event) per run, broker %s, %ld runs\n\n", n,
              o.bootstrap.c_str(), runs);
  std::printf(
      "  run   1 per transaction: p50 / p99 ms, txn/s   %ld per transaction: "
      "transitions/s   idempotent, flush each: p50 / p99 ms\n",
      group);
  std::vector<double> p50, p99, tps, grouped_tps, peer50, peer99;
  for (long r = 0; r < runs; ++r) {
    const auto base = static_cast<std::uint64_t>(1'000'000 * (r + 1));
    const auto a = single(*w, n, base);
    const auto b = grouped(*w, n, group, base + 500'000);
    const auto c = idempotent(o.bootstrap, o.topic, n);
    if (a.per_s <= 0 || b.per_s <= 0 || c.per_s <= 0)
      return std::fprintf(stderr, "run %ld failed\n", r + 1), 1;
    std::printf("  %3ld   %10.2f / %6.2f, %6.0f   %29.0f   %21.2f / %6.2f\n", r + 1, a.p50_ms,
                a.p99_ms, a.per_s, b.per_s, c.p50_ms, c.p99_ms);
    p50.push_back(a.p50_ms);
    p99.push_back(a.p99_ms);
    tps.push_back(a.per_s);
    grouped_tps.push_back(b.per_s);
    peer50.push_back(c.p50_ms);
    peer99.push_back(c.p99_ms);
  }
  std::printf("median %9.2f / %6.2f, %6.0f   %29.0f   %21.2f / %6.2f\n", bench::median(p50),
              bench::median(p99), bench::median(tps), bench::median(grouped_tps),
              bench::median(peer50), bench::median(peer99));
  bench::write_result("changelog_commit_bench",
                      "{\"transitions\": " + std::to_string(n) + ", \"group\": " +
                          std::to_string(group) + ", \"single_p50_ms\": " + bench::json_array(p50) +
                          ", \"single_p99_ms\": " + bench::json_array(p99) +
                          ", \"single_txn_per_s\": " + bench::json_array(tps) +
                          ", \"grouped_transitions_per_s\": " + bench::json_array(grouped_tps) +
                          ", \"idempotent_p50_ms\": " + bench::json_array(peer50) +
                          ", \"idempotent_p99_ms\": " + bench::json_array(peer99) + "}");
  return 0;
}
