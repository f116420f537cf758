// System test (issue 4, "tests against the real broker"): the built node with a
// real single-node Kafka broker (tests/system/kafka/with_kafka.sh exports
// RIDESHARD_KAFKA_BOOTSTRAP and RIDESHARD_KAFKA_CTL/_WORKDIR). Rides run over
// WebSockets (crash_fleet); the broker is stopped while they continue, /health
// turns degraded with events piling up in the outbox, the node is killed (-9)
// with events still in it; broker and node come back on the same data, the apps
// finish their rides, the outbox drains. Then an independent librdkafka consumer
// reads rideshard.trip-events.v1 from the beginning and every trip a client saw
// must be there: deduped by event_id, `sequence` 0, 1, 2, ... in partition order,
// one partition per key, the last event's to_state = the stored state, every
// state a client was told among the events. Duplicates (at-least-once) are
// counted and printed. Seed: $RIDESHARD_KAFKA_NODE_SEED (printed; random when
// unset). Without a broker in the environment the test fails (ctest runs it as
// kafka.node under with_kafka.sh).
#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "crash_fleet.hpp"
#include "kafka_consumer.hpp"
#include "node_process.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* test_secret = "kafka-node-system-test-secret-0123456789abcdef";
constexpr const char* trip_topic = "rideshard.trip-events.v1";

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

const bool no_broker = !env("RIDESHARD_KAFKA_BOOTSTRAP") || !env("RIDESHARD_KAFKA_CTL") ||
                       !env("RIDESHARD_KAFKA_WORKDIR");

std::uint64_t pick_seed() {
  if (const char* s = env("RIDESHARD_KAFKA_NODE_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

/// `kafka.sh stop|restart <workdir>` for the broker with_kafka.sh started.
int broker(const char* action) {
  const std::string cmd = std::string(env("RIDESHARD_KAFKA_CTL")) + " " + action + " " +
                          env("RIDESHARD_KAFKA_WORKDIR") + " >/dev/null";
  return std::system(cmd.c_str());
}

struct health_view {
  int http_status = 0;
  std::string status, broker;
  std::uint64_t depth = 0;
  bool healthy() const { return http_status == 200 && status == "healthy"; }
  std::string describe() const {
    return "HTTP " + std::to_string(http_status) + " status '" + status + "' broker '" + broker +
           "' outbox depth " + std::to_string(depth);
  }
};

health_view get_health(unsigned short port) {
  health_view out;
  auto r = system_test::http_call(port, boost::beast::http::verb::get, "/health");
  if (r.status < 0) return out;
  out.http_status = r.status;
  const auto& j = r.body;
  if (j.is_discarded() || !j.contains("checks")) return out;
  out.status = j.value("status", "");
  const auto& o = j["checks"]["outbox"];
  out.broker = o.value("broker", "");
  out.depth = o.value("depth", std::uint64_t{0});
  return out;
}

/// Runs the fleet until `pred(GET /health)` holds (checked every 200 ms) or `limit`.
template <class Pred>
bool run_until_health(crash_fleet& f, unsigned short port, Pred pred, std::chrono::seconds limit,
                      health_view& last) {
  auto next = std::chrono::steady_clock::now();
  return f.run_until(
      [&] {
        if (std::chrono::steady_clock::now() < next) return false;
        next = std::chrono::steady_clock::now() + 200ms;
        last = get_health(port);
        return pred(last);
      },
      limit);
}

/// "c<cycle> <who>: <state>" -> "<state>".
std::string told_state(const std::string& history_entry) {
  return history_entry.substr(history_entry.rfind(": ") + 2);
}

}  // namespace

TEST_CASE("trip events survive a broker outage and kill -9; Kafka gets every trip in order") {
  REQUIRE_MESSAGE(!no_broker,
                  "no broker: RIDESHARD_KAFKA_BOOTSTRAP/_CTL/_WORKDIR are not set "
                  "(run under tests/system/kafka/with_kafka.sh)");
  const auto seed = pick_seed();
  MESSAGE("seed ", seed, " (rerun with RIDESHARD_KAFKA_NODE_SEED=", seed, ")");
  const std::string bootstrap = env("RIDESHARD_KAFKA_BOOTSTRAP");
  const std::string dir = node_process::fresh_data_dir();
  const std::string log = dir + ".log";
  const std::vector<std::string> args{"--kafka-bootstrap", bootstrap};
  MESSAGE("broker ", bootstrap, ", data dir ", dir, ", node log ", log);
  const auto test_start = std::chrono::steady_clock::now();
  auto since_start = [&] {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - test_start)
                              .count()) +
           " ms";
  };

  crash_fleet f(seed, test_secret);
  auto node = std::make_unique<node_process>(test_secret, dir, log, args);
  REQUIRE(!node->read_recovery_line().empty());
  f.connect_all(node->port, false);
  f.start_acting();

  // 1. Broker up: rides run and their events reach Kafka (outbox drains).
  f.arm_kill(20, 40);
  REQUIRE_MESSAGE(f.run_until([&] { return f.kill_due; }, 40s), "only ", f.acks_in_cycle,
                  " acknowledged transitions within 40 s");
  health_view h;
  CHECK_MESSAGE(
      run_until_health(
          f, node->port,
          [](const health_view& v) { return v.healthy() && v.broker == "reachable"; }, 30s, h),
      "with the broker up: ", h.describe());
  MESSAGE(since_start(), ": broker up, ", f.trips.size(), " trips so far; ", h.describe());

  // 2. Broker stopped while the rides go on: events pile up, /health is degraded.
  auto stopping = std::async(std::launch::async, [] { return broker("stop"); });
  REQUIRE(f.run_until([&] { return stopping.wait_for(0s) == std::future_status::ready; }, 90s));
  REQUIRE(stopping.get() == 0);
  f.arm_kill(20, 40);
  REQUIRE_MESSAGE(f.run_until([&] { return f.kill_due; }, 40s), "only ", f.acks_in_cycle,
                  " acknowledged transitions within 40 s of the outage");
  const bool degraded = run_until_health(
      f, node->port,
      [](const health_view& v) {
        return v.http_status == 200 && v.status == "degraded" && v.broker == "unreachable" &&
               v.depth > 0;
      },
      30s, h);
  CHECK_MESSAGE(degraded, "broker down: ", h.describe());
  MESSAGE(since_start(), ": broker down, ", h.describe());

  // 3. kill -9 with events still in the outbox (nothing can drain it meanwhile).
  const auto at_kill = get_health(node->port);
  CHECK(at_kill.depth > 0);
  CHECK(node->kill9() == 128 + SIGKILL);
  f.on_killed();
  MESSAGE(since_start(), ": killed with outbox depth ", at_kill.depth, " after ", f.acks_at_kill,
          " acknowledged transitions in the outage");

  // 4. Broker and node back on the same data; the apps resume and finish.
  REQUIRE(broker("restart") == 0);
  node = std::make_unique<node_process>(test_secret, dir, log, args);
  const auto recovery = node->read_recovery_line();
  REQUIRE_MESSAGE(!recovery.empty(), "no recovery line");
  MESSAGE(since_start(), ": ", recovery.substr(0, recovery.find(',')));
  f.connect_all(node->port, true);
  f.check_welcomes(f.check_store(node->port));
  f.start_acting();
  f.arm_kill(10, 30);
  CHECK_MESSAGE(f.run_until([&] { return f.kill_due; }, 40s), "only ", f.acks_in_cycle,
                " acknowledged transitions within 40 s after the restart");
  f.requests_open = false;
  CHECK_MESSAGE(f.run_until([&] { return f.all_settled(); }, 40s),
                "trips still open: ", f.open_trips());
  CHECK_MESSAGE(
      run_until_health(
          f, node->port, [](const health_view& v) { return v.healthy() && v.depth == 0; }, 60s, h),
      "outbox not drained: ", h.describe());
  MESSAGE(since_start(), ": outbox drained; ", h.describe());
  const auto api = f.check_store(node->port);  // the final states, as the API shows them
  CHECK(api.active == 0);

  // 5. Read the topic back and compare with what the apps were told and the store has.
  const auto events = consume_all(bootstrap, trip_topic);
  std::map<std::uint64_t, std::vector<const consumed_event*>> by_trip;  // deduped, in order
  std::map<std::string, const consumed_event*> first_copy;
  std::map<std::uint64_t, int> partition_of;
  std::size_t duplicates = 0;
  auto problem = [&](const std::string& p) {
    f.problems.push_back("kafka: " + p);
    MESSAGE(f.problems.back());
  };
  for (const auto& e : events) {
    if (e.event_id.empty() || e.trip == 0 || e.key != to_string(trip_id{e.trip})) {
      problem("BAD RECORD key '" + e.key + "': " + e.payload);
      continue;
    }
    const auto [it, fresh] = partition_of.emplace(e.trip, e.partition);
    if (it->second != e.partition)
      problem("KEY ON TWO PARTITIONS " + e.key + ": " + std::to_string(it->second) + " and " +
              std::to_string(e.partition));
    const auto [copy, first] = first_copy.emplace(e.event_id, &e);
    if (!first) {
      ++duplicates;
      if (copy->second->payload != e.payload)
        problem("DUPLICATE DIFFERS " + e.event_id + ": " + copy->second->payload + " vs " +
                e.payload);
      continue;
    }
    by_trip[e.trip].push_back(&e);
  }
  for (const auto& [id, evs] : by_trip) {
    // Per key, in partition order: 0, 1, 2, ... (strictly increasing, no gaps).
    for (std::size_t i = 0; i < evs.size(); ++i) {
      if (evs[i]->sequence != i) {
        problem("OUT OF ORDER OR GAP " + to_string(trip_id{id}) + ": position " +
                std::to_string(i) + " has sequence " + std::to_string(evs[i]->sequence));
        break;
      }
      if (evs[i]->event_id != to_string(trip_id{id}) + "-" + std::to_string(i))
        problem("EVENT ID " + evs[i]->event_id + " at sequence " + std::to_string(i));
    }
  }
  std::size_t checked = 0;
  for (const auto& [id, t] : f.trips) {
    const auto name = to_string(trip_id{id});
    const auto it = by_trip.find(id);
    if (it == by_trip.end()) {
      problem("MISSING: no events for " + name + " (acked " + std::string(to_string(t.acked)) +
              ")");
      continue;
    }
    const auto& evs = it->second;
    const auto stored = api.trips.find(id);
    if (stored == api.trips.end() || stored->second.http_status != 200) continue;  // check_store
    const std::string want{to_string(stored->second.state)};
    if (evs.back()->to_state != want)
      problem("LAST EVENT of " + name + " is " + evs.back()->to_state + " (sequence " +
              std::to_string(evs.back()->sequence) + "), the store has " + want);
    std::set<std::string> states;
    for (const auto* e : evs) states.insert(e->to_state);
    for (const auto& entry : t.history)
      if (!states.count(told_state(entry)))
        problem("TOLD STATE NOT PUBLISHED " + name + ": '" + entry + "'");
    ++checked;
  }
  MESSAGE(events.size(), " records read, ", duplicates, " duplicates (at-least-once), ",
          by_trip.size(), " trips on the topic, ", checked, " of ", f.trips.size(),
          " client-seen trips checked; ", f.count(trip_state::completed), " completed, ",
          f.count(trip_state::cancelled), " cancelled");
  CHECK(checked == f.trips.size());
  CHECK(by_trip.size() >= f.trips.size());
  // SIGTERM while the apps keep reading, so they answer the gateway's close frames.
  auto stopped = std::async(std::launch::async, [&node] { return node->terminate(); });
  f.run_until([&] { return stopped.wait_for(0s) == std::future_status::ready; }, 60s);
  const int exit_status = stopped.get();
  CHECK_MESSAGE(exit_status == 0, "serve after SIGTERM: ", exit_status, " (", since_start(), ")");

  for (const auto& p : f.problems) FAIL_CHECK(p);
  MESSAGE("seed ", seed, ": ", f.problems.size(), " problems, ", since_start());
  if (f.problems.empty() && exit_status == 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::remove(log, ec);
  }
}
