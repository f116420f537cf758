// Outbox relay throughput vs librdkafka's own rdkafka_performance, same broker,
// same run: both publish COUNT messages of SIZE bytes with the relay's producer
// settings (idempotence, acks=all, lz4, murmur2_random). Target ratio >= 0.9.
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "bench_support.hpp"
#include "rideshard/persistence/outbox_relay.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

/// CPU seconds used by this process (all threads), and by waited-for children.
double self_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double children_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

/// CPU microseconds per message of the last run of each side (load-independent-ish).
double perf_cpu_us = 0, relay_cpu_us = 0;

/// The payload rdkafka_performance sends: its default pattern repeated to `size`.
std::string perf_payload(std::size_t size) {
  const std::string pattern = "librdkafka_performance testing!";
  std::string out;
  while (out.size() < size) out += pattern;
  out.resize(size);
  return out;
}

/// rdkafka_performance -P with the relay's settings; its final msgs/s (0 on failure).
double run_rdkafka_performance(const std::string& bootstrap, const std::string& topic, long count,
                               long size, long in_flight) {
  const std::string cmd = std::string(RIDESHARD_RDKAFKA_PERF) + " -P -t " + topic + " -s " +
                          std::to_string(size) + " -c " + std::to_string(count) + " -b " +
                          bootstrap +
                          " -X enable.idempotence=true -X acks=all -z lz4"
                          " -X partitioner=murmur2_random -X message.timeout.ms=0"
                          " -X max.in.flight.requests.per.connection=1"
                          " -X linger.ms=5 -X queue.buffering.max.messages=" +
                          std::to_string(in_flight) + " 2>&1";
  const double cpu0 = children_cpu_s();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return 0;
  double rate = 0;
  char line[1024];
  // The last summary line: "% N messages produced (...) in T ms: R msgs/s and ...".
  while (std::fgets(line, sizeof line, p)) {
    std::string l(line);
    auto at = l.find(" msgs/s and ");
    if (l.find("messages produced") == std::string::npos || at == std::string::npos) continue;
    auto from = l.rfind(' ', at - 1);
    rate = std::atof(l.c_str() + from + 1);
  }
  ::pclose(p);
  perf_cpu_us = (children_cpu_s() - cpu0) * 1e6 / static_cast<double>(count);
  return rate;
}

/// Fills a fresh store with `count` rows (keys over 1000 trips), then times the
/// relay draining it. `from_memory`: the relay exists before the fill, so the
/// rows reach it in memory as they commit (store::keep_outbox_tail), as on a
/// live node; otherwise it reads them back from RocksDB, as after a restart.
/// Returns msgs/s (0 on failure).
double run_relay(const std::string& bootstrap, const std::string& topic, const std::string& path,
                 long count, long size, long in_flight, bool from_memory) {
  store_options o;
  o.path = path;
  o.sync = false;  // the fill is set-up, not the subject
  auto s = store::open(o);
  if (!s) return std::fprintf(stderr, "open: %s\n", s.err().message.c_str()), 0;
  const std::string payload = perf_payload(static_cast<std::size_t>(size));
  relay_options ro;
  ro.bootstrap = bootstrap;
  ro.max_in_flight = static_cast<std::size_t>(in_flight);
  ro.memory_rows = from_memory ? static_cast<std::size_t>(count) : 0;
  // Creating the relay only sets up the producer: it sends nothing before drain().
  auto relay = outbox_relay::create(**s, ro);
  if (!relay) return std::fprintf(stderr, "relay: %s\n", relay.err().message.c_str()), 0;
  write_batch b;
  for (long i = 0; i < count; ++i) {
    b.add_event({topic, "t-" + std::to_string(i % 1000), payload, {}});
    if ((i + 1) % 1000 == 0 || i + 1 == count) {
      if (!(*s)->commit(b).ok()) return 0;
      b = write_batch{};
    }
  }
  const double cpu0 = self_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  auto drained = (*relay)->drain(std::chrono::minutes(5));
  const double secs = bench::seconds_since(t0);
  relay_cpu_us = (self_cpu_s() - cpu0) * 1e6 / static_cast<double>(count);
  if (!drained) return std::fprintf(stderr, "drain: %s\n", drained.err().message.c_str()), 0;
  return static_cast<double>(count) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  const long count = bench::arg_long(argc, argv, "count", 500000);
  const long size = bench::arg_long(argc, argv, "size", 512);
  const long runs = bench::arg_long(argc, argv, "runs", 5);
  // relay_options::max_in_flight default; rdkafka_performance gets the same queue bound.
  const long in_flight = bench::arg_long(argc, argv, "in-flight", 10000);
  // 1 (default): rows handed to the relay in memory as they commit (a live node);
  // 0: read back from RocksDB (a relay catching up after a restart).
  const bool from_memory = bench::arg_long(argc, argv, "memory", 1) != 0;
  if (std::string(RIDESHARD_RDKAFKA_PERF).empty()) {
    std::printf("skipped: rdkafka_performance was not built (librdkafka-dev examples missing)\n");
    return 0;
  }
  bench::scratch_dir dir("relay-bench");
  if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  bench::kafka_broker kafka(dir.sub("kafka"));
  if (int status = 0; !bench::kafka_up(kafka, dir, status)) return status;

  // Warm the fresh broker (JIT, log segments) untimed, so run 1 is not charged for it.
  if (auto c =
          create_topics(kafka.bootstrap(), {{"bench.warmup", 3, 1, {}}}, std::chrono::seconds(30));
      !c || run_rdkafka_performance(kafka.bootstrap(), "bench.warmup", count, size, in_flight) <= 0)
    return std::fprintf(stderr, "warm-up failed\n"), 1;
  std::printf(
      "%ld messages of %ld bytes per side, broker %s, %ld runs after a warm-up (order "
      "alternates); relay rows %s\n\n",
      count, size, kafka.bootstrap().c_str(), runs,
      from_memory ? "in memory as they commit (--memory=1)"
                  : "read back from RocksDB (--memory=0)");
  std::printf(
      "  run   rdkafka_performance (msg/s)   relay (msg/s)   ratio   CPU us/msg perf / relay\n");
  std::vector<double> perf, relay, ratio, perf_cpu, relay_cpu;
  for (long r = 0; r < runs; ++r) {
    const std::string perf_topic = "bench.perf." + std::to_string(r);
    const std::string relay_topic = "bench.relay." + std::to_string(r);
    if (auto c = create_topics(kafka.bootstrap(), {{perf_topic, 3, 1, {}}, {relay_topic, 3, 1, {}}},
                               std::chrono::seconds(30));
        !c)
      return std::fprintf(stderr, "create topics: %s\n", c.err().message.c_str()), 1;
    double p = 0, q = 0;
    const std::string path = dir.sub("db" + std::to_string(r));
    if (r % 2 == 0) {
      p = run_rdkafka_performance(kafka.bootstrap(), perf_topic, count, size, in_flight);
      q = run_relay(kafka.bootstrap(), relay_topic, path, count, size, in_flight, from_memory);
    } else {
      q = run_relay(kafka.bootstrap(), relay_topic, path, count, size, in_flight, from_memory);
      p = run_rdkafka_performance(kafka.bootstrap(), perf_topic, count, size, in_flight);
    }
    if (p <= 0 || q <= 0) return std::fprintf(stderr, "run %ld failed\n", r + 1), 1;
    std::printf("  %3ld   %27.0f   %13.0f   %5.2f   %10.2f / %5.2f\n", r + 1, p, q, q / p,
                perf_cpu_us, relay_cpu_us);
    perf_cpu.push_back(perf_cpu_us);
    relay_cpu.push_back(relay_cpu_us);
    perf.push_back(p);
    relay.push_back(q);
    ratio.push_back(q / p);
  }
  const double mp = bench::median(perf), mq = bench::median(relay), mr = bench::median(ratio);
  std::printf("  med   %27.0f   %13.0f   %5.2f   %10.2f / %5.2f\n", mp, mq, mr,
              bench::median(perf_cpu), bench::median(relay_cpu));
  std::printf("  ratio of the medians %.2f; CPU per message relay/perf %.2f\n", mq / mp,
              bench::median(relay_cpu) / bench::median(perf_cpu));
  std::printf("  target (median of the per-run ratios) >= 0.9: %s\n", mr >= 0.9 ? "met" : "MISSED");
  char json[768];
  std::snprintf(json, sizeof json,
                "{\"bench\": \"relay_vs_rdkafka_performance\", \"count\": %ld, \"size\": %ld, "
                "\"relay_rows_from\": \"%s\", "
                "\"median_rdkafka_performance_msgs_s\": %.0f, \"median_relay_msgs_s\": %.0f, "
                "\"median_ratio\": %.4f, \"target_ratio\": 0.9, "
                "\"median_cpu_us_per_msg_rdkafka_performance\": %.3f, "
                "\"median_cpu_us_per_msg_relay\": %.3f, \"ratio_of_medians\": %.4f, ",
                count, size, from_memory ? "memory" : "rocksdb", mp, mq, mr,
                bench::median(perf_cpu), bench::median(relay_cpu), mq / mp);
  bench::write_result("relay_vs_rdkafka_performance",
                      std::string(json) +
                          "\"rdkafka_performance_msgs_s\": " + bench::json_array(perf) +
                          ", \"relay_msgs_s\": " + bench::json_array(relay) +
                          ", \"ratio\": " + bench::json_array(ratio) + "}");
  return 0;
}
