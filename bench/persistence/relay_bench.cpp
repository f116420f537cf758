// Outbox relay throughput vs librdkafka's own rdkafka_performance, same broker,
// same run: both publish COUNT messages of SIZE bytes with the relay's producer
// settings (idempotence, acks=all, lz4, murmur2_random). Target ratio >= 0.9.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_support.hpp"
#include "rideshard/persistence/outbox_relay.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

/// A broker from tests/system/kafka/kafka.sh for the life of the object.
class broker {
 public:
  explicit broker(std::string workdir) : dir_(std::move(workdir)) {
    const std::string cmd = script() + " start " + dir_;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return;
    char line[256];
    while (std::fgets(line, sizeof line, p)) {
      std::string l(line);
      if (l.rfind("bootstrap=", 0) == 0) bootstrap_ = l.substr(10, l.find_last_not_of("\r\n") - 9);
    }
    const int status = ::pclose(p);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  ~broker() { (void)std::system((script() + " stop " + dir_ + " >/dev/null").c_str()); }
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;
  int exit_code() const { return exit_code_; }
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  static std::string script() { return RIDESHARD_SOURCE_DIR "/tests/system/kafka/kafka.sh"; }
  std::string dir_, bootstrap_;
  int exit_code_ = 1;
};

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
                          " -X linger.ms=5 -X queue.buffering.max.messages=" +
                          std::to_string(in_flight) + " 2>&1";
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
  return rate;
}

/// Fills a fresh store with `count` rows (keys over 1000 trips), then times the
/// relay draining it. Returns msgs/s (0 on failure).
double run_relay(const std::string& bootstrap, const std::string& topic, const std::string& path,
                 long count, long size, long in_flight) {
  store_options o;
  o.path = path;
  o.sync = false;  // the fill is set-up, not the subject
  auto s = store::open(o);
  if (!s) return std::fprintf(stderr, "open: %s\n", s.err().message.c_str()), 0;
  const std::string payload = perf_payload(static_cast<std::size_t>(size));
  write_batch b;
  for (long i = 0; i < count; ++i) {
    b.add_event({topic, "t-" + std::to_string(i % 1000), payload, {}});
    if ((i + 1) % 1000 == 0 || i + 1 == count) {
      if (!(*s)->commit(b).ok()) return 0;
      b = write_batch{};
    }
  }
  relay_options ro;
  ro.bootstrap = bootstrap;
  ro.max_in_flight = static_cast<std::size_t>(in_flight);
  const auto t0 = std::chrono::steady_clock::now();
  auto relay = outbox_relay::create(**s, ro);
  if (!relay) return std::fprintf(stderr, "relay: %s\n", relay.err().message.c_str()), 0;
  auto drained = (*relay)->drain(std::chrono::minutes(5));
  const double secs = bench::seconds_since(t0);
  if (!drained) return std::fprintf(stderr, "drain: %s\n", drained.err().message.c_str()), 0;
  return static_cast<double>(count) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  const long count = bench::arg_long(argc, argv, "count", 200000);
  const long size = bench::arg_long(argc, argv, "size", 512);
  const long runs = bench::arg_long(argc, argv, "runs", 5);
  // relay_options::max_in_flight default; rdkafka_performance gets the same queue bound.
  const long in_flight = bench::arg_long(argc, argv, "in-flight", 10000);
  if (std::string(RIDESHARD_RDKAFKA_PERF).empty()) {
    std::printf("skipped: rdkafka_performance was not built (librdkafka-dev examples missing)\n");
    return 0;
  }
  bench::scratch_dir dir("relay-bench");
  if (!dir.ok()) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  broker kafka(dir.sub("kafka"));
  if (kafka.exit_code() == 77) {
    std::printf("skipped: the Kafka jars cannot be fetched (offline?); see kafka.sh fetch\n");
    return 0;
  }
  if (kafka.exit_code() != 0 || kafka.bootstrap().empty())
    return std::fprintf(stderr, "broker did not start; log in %s\n", dir.sub("kafka").c_str()), 1;

  // Warm the fresh broker (JIT, log segments) untimed, so run 1 is not charged for it.
  if (auto c = create_topics(kafka.bootstrap(), {{"bench.warmup", 3, 1}}, std::chrono::seconds(30));
      !c || run_rdkafka_performance(kafka.bootstrap(), "bench.warmup", count, size, in_flight) <= 0)
    return std::fprintf(stderr, "warm-up failed\n"), 1;
  std::printf(
      "%ld messages of %ld bytes per side, broker %s, %ld runs after a warm-up (order "
      "alternates)\n\n",
      count, size, kafka.bootstrap().c_str(), runs);
  std::printf("  run   rdkafka_performance (msg/s)   relay (msg/s)   ratio\n");
  std::vector<double> perf, relay, ratio;
  for (long r = 0; r < runs; ++r) {
    const std::string perf_topic = "bench.perf." + std::to_string(r);
    const std::string relay_topic = "bench.relay." + std::to_string(r);
    if (auto c = create_topics(kafka.bootstrap(), {{perf_topic, 3, 1}, {relay_topic, 3, 1}},
                               std::chrono::seconds(30));
        !c)
      return std::fprintf(stderr, "create topics: %s\n", c.err().message.c_str()), 1;
    double p = 0, q = 0;
    const std::string path = dir.sub("db" + std::to_string(r));
    if (r % 2 == 0) {
      p = run_rdkafka_performance(kafka.bootstrap(), perf_topic, count, size, in_flight);
      q = run_relay(kafka.bootstrap(), relay_topic, path, count, size, in_flight);
    } else {
      q = run_relay(kafka.bootstrap(), relay_topic, path, count, size, in_flight);
      p = run_rdkafka_performance(kafka.bootstrap(), perf_topic, count, size, in_flight);
    }
    if (p <= 0 || q <= 0) return std::fprintf(stderr, "run %ld failed\n", r + 1), 1;
    std::printf("  %3ld   %27.0f   %13.0f   %5.2f\n", r + 1, p, q, q / p);
    perf.push_back(p);
    relay.push_back(q);
    ratio.push_back(q / p);
  }
  const double mp = bench::median(perf), mq = bench::median(relay), mr = bench::median(ratio);
  std::printf("  med   %27.0f   %13.0f   %5.2f   target ratio >= 0.9: %s\n", mp, mq, mr,
              mr >= 0.9 ? "met" : "MISSED");
  char json[384];
  std::snprintf(json, sizeof json,
                "{\"bench\": \"relay_vs_rdkafka_performance\", \"count\": %ld, \"size\": %ld, "
                "\"median_rdkafka_performance_msgs_s\": %.0f, \"median_relay_msgs_s\": %.0f, "
                "\"median_ratio\": %.4f, \"target_ratio\": 0.9, ",
                count, size, mp, mq, mr);
  bench::write_result("relay_vs_rdkafka_performance",
                      std::string(json) +
                          "\"rdkafka_performance_msgs_s\": " + bench::json_array(perf) +
                          ", \"relay_msgs_s\": " + bench::json_array(relay) +
                          ", \"ratio\": " + bench::json_array(ratio) + "}");
  return 0;
}
