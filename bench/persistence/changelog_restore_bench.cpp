// Trip changelog restore: TRIPS trip snapshots written to one shard group's
// changelog partition in transactions of BATCH, then restore_shard_group into a
// fresh synced store, RUNS times; against a bare read_committed consumer reading
// the same partition to its end in the same run (the peer: Kafka's side alone).
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

trip make_trip(std::uint64_t id) {
  trip t;
  t.id = trip_id{id};
  t.rider = rider_id{id};
  t.driver = driver_id{id % 5000 + 1};
  t.state = trip_state::accepted;
  t.pickup = {40.70 + static_cast<double>(id % 1000) * 1e-4, -73.98};
  t.dropoff = {40.75, -74.0};
  t.pin = "4821";
  t.requested_at_ms = 1'800'000'000'000 + static_cast<std::int64_t>(id);
  t.accepted_at_ms = t.requested_at_ms + 9000;
  t.offers_made = 1;
  t.sequence = 3;
  t.quoted_fare_minor = 2489;
  return t;
}

/// Records read from partition 0 of `topic`, read_committed, to its end; 0 on error.
long bare_read(const std::string& bootstrap, const std::string& topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : {std::pair<const char*, std::string>{"bootstrap.servers", bootstrap},
                             {"group.id", "bench-bare-read"},
                             {"isolation.level", "read_committed"},
                             {"enable.partition.eof", "true"},
                             {"enable.auto.commit", "false"}})
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) return 0;
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) return 0;
  rd_kafka_poll_set_consumer(rk);
  auto* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  long n = 0;
  bool eof = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      eof = true;
    else if (!m->err)
      ++n;
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return eof ? n : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const long trips = bench::arg_long(argc, argv, "trips", 100000);
  const long batch = bench::arg_long(argc, argv, "batch", 1000);
  const long runs = bench::arg_long(argc, argv, "runs", 5);
  bench::scratch_dir dir("changelog-bench");
  if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  bench::kafka_broker kafka(dir.sub("kafka"));
  if (int status = 0; !bench::kafka_up(kafka, dir, status)) return status;

  changelog_options o;
  auto w = bench::open_bench_changelog(o, kafka.bootstrap());
  if (!w) return 1;
  const auto t0 = std::chrono::steady_clock::now();
  for (long first = 1; first <= trips; first += batch) {
    write_batch b;
    for (long id = first; id < first + batch && id <= trips; ++id)
      b.put_trip(make_trip(static_cast<std::uint64_t>(id)));
    if (auto r = w->write(b); !r)
      return std::fprintf(stderr, "write: %s\n", r.err().message.c_str()), 1;
  }
  const double write_s = bench::seconds_since(t0);
  std::printf(
      "%ld trip snapshots (%zu bytes each) written in transactions of %ld: %.2f s "
      "(%.0f trips/s)\nbroker %s, %ld runs; the store is synced (as on a node)\n\n",
      trips, schemas::encode_trip_record(make_trip(1)).size(), batch, write_s,
      static_cast<double>(trips) / write_s, o.bootstrap.c_str(), runs);
  std::printf(
      "  run   bare read_committed read (rec/s)   restore into the store (trips/s)   ratio\n");
  std::vector<double> bare, restore, ratio;
  for (long r = 0; r < runs; ++r) {
    const auto b0 = std::chrono::steady_clock::now();
    const long n = bare_read(o.bootstrap, o.topic);
    const double bare_s = bench::seconds_since(b0);
    store_options so;
    so.path = dir.sub("db" + std::to_string(r));
    auto s = store::open(so);
    if (!s) return std::fprintf(stderr, "store: %s\n", s.err().message.c_str()), 1;
    const auto r0 = std::chrono::steady_clock::now();
    auto st = restore_shard_group(**s, o, 0, std::chrono::seconds(300));
    const double restore_s = bench::seconds_since(r0);
    if (!st || n != trips || static_cast<long>(st->snapshots) != trips)
      return std::fprintf(stderr, "run %ld: read %ld, restored %s\n", r + 1, n,
                          st ? std::to_string(st->snapshots).c_str() : st.err().message.c_str()),
             1;
    bare.push_back(static_cast<double>(n) / bare_s);
    restore.push_back(static_cast<double>(trips) / restore_s);
    ratio.push_back(restore.back() / bare.back());
    std::printf("  %3ld   %32.0f   %32.0f   %5.2f\n", r + 1, bare.back(), restore.back(),
                ratio.back());
  }
  std::printf("median %32.0f   %32.0f   %5.2f\n", bench::median(bare), bench::median(restore),
              bench::median(ratio));
  bench::write_result(
      "changelog_restore_bench",
      "{\"trips\": " + std::to_string(trips) +
          ", \"write_trips_per_s\": " + std::to_string(static_cast<double>(trips) / write_s) +
          ", \"bare_read_per_s\": " + bench::json_array(bare) +
          ", \"restore_trips_per_s\": " + bench::json_array(restore) +
          ", \"median_restore_trips_per_s\": " + std::to_string(bench::median(restore)) +
          ", \"median_ratio\": " + std::to_string(bench::median(ratio)) + "}");
  return 0;
}
