// Three `rideshard serve` processes with shard ownership on fixed loopback ports
// (a restarted node comes back where the apps look for it) and the fleet
// simulator over all three, for the drain tests (kafka.cluster_drain,
// kafka.cluster_rolling); needs a broker (with_kafka.sh).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster_nodes.hpp"
#include "cluster_shards.hpp"
#include "http_call.hpp"
#include "node_process.hpp"
#include "rideshard/engine/region.hpp"
#include "sim/simulator.hpp"

namespace rideshard::system_test {

inline constexpr int shard_groups = 6;
inline constexpr int node_count = 3;

/// Three nodes on fixed HTTP and BASP ports (a restarted node comes back where
/// the apps look for it), each with its own data dir.
struct three_nodes {
  const char* secret;
  std::string dir = node_process::fresh_data_dir();
  std::string bootstrap;
  std::vector<unsigned short> http, basp;
  std::vector<std::string> configs;
  std::unique_ptr<node_process> nodes[node_count];

  three_nodes(const char* jwt_secret, std::string broker)
      : secret(jwt_secret), bootstrap(std::move(broker)) {
    system_test::make_certs(dir + "/certs", "node-1 node-2 node-3");
    for (int i = 0; i < node_count; ++i) {
      http.push_back(free_port());
      basp.push_back(free_port());
    }
    for (int i = 0; i < node_count; ++i) {
      std::vector<unsigned short> seeds;
      for (int j = 0; j < node_count; ++j)
        if (j != i) seeds.push_back(basp[j]);
      // The drain's wait stays inside node_process::terminate's bound.
      configs.push_back(system_test::write_shard_config(dir, i + 1, basp[i], seeds, shard_groups,
                                                        "drain_timeout_ms = 12000\n"));
    }
    for (int i = 0; i < node_count; ++i) start(i);
  }
  ~three_nodes() {
    for (auto& n : nodes) n.reset();
    std::system(("rm -rf " + dir).c_str());
  }

  void start(int i) {
    const std::vector<std::string> args{"--kafka-bootstrap", bootstrap, "--listen",
                                        "127.0.0.1:" + std::to_string(http[i])};
    nodes[i] = std::make_unique<node_process>(secret, dir + "/data-" + std::to_string(i + 1),
                                              dir + "/node-" + std::to_string(i + 1) + ".log", args,
                                              configs[i]);
  }

  std::vector<unsigned short> ports_except(int skip) const {
    std::vector<unsigned short> out;
    for (int i = 0; i < node_count; ++i)
      if (i != skip) out.push_back(http[i]);
    return out;
  }

  bool split(int skip = -1) const {
    return system_test::groups_split(ports_except(skip), shard_groups);
  }

  /// SIGTERM node i; its exit status, and what it printed on stdout meanwhile.
  int terminate(int i, std::string& said) {
    const int rc = nodes[i]->terminate();
    char line[1024];
    said.clear();
    while (std::fgets(line, sizeof line, nodes[i]->out)) said += line;
    return rc;
  }
};

/// Live trips a node holds (accepted, arrived, in progress), from /metrics.
inline long active_trips(unsigned short port) {
  auto r = system_test::http_call(port, boost::beast::http::verb::get, "/metrics");
  long n = 0;
  for (const char* s : {"accepted", "driver_arrived", "in_progress"}) {
    const std::string key = std::string("rideshard_trips{state=\"") + s + "\"} ";
    const auto at = r.text.find(key);
    if (at != std::string::npos) n += std::atol(r.text.c_str() + at + key.size());
  }
  return n;
}

inline sim::sim_options load(const three_nodes& c, double duration_s) {
  sim::sim_options o;
  o.port = std::to_string(c.http[0]);
  for (int i = 1; i < node_count; ++i)
    o.more_nodes.emplace_back("127.0.0.1", std::to_string(c.http[i]));
  o.jwt_secret = c.secret;
  o.drivers = 60;
  o.riders_per_minute = 120;
  o.duration_s = duration_s;
  o.drain_s = 20;  // ends early once no matched trip is left
  o.time_scale = 5;
  o.area_m = 4000;
  o.max_trip_m = 800;
  o.id_base = 3'000'000;
  o.reconnect_s = 30;
  o.audit = true;
  return o;
}

/// Runs the simulator on a thread; wait_for_rides() returns once trips are active.
struct load_run {
  std::mutex mu;
  std::condition_variable cv;
  bool under_way = false;
  result<sim::sim_report> rep = error{errc::internal, "not run"};
  std::thread thread;

  load_run(sim::sim_options o, const region& reg) {
    o.on_tick = [this](double elapsed_s, sim::sim_stats& stats) {
      if (elapsed_s < 4 || stats.trips_active.load() < 3) return;
      std::lock_guard<std::mutex> lock(mu);
      under_way = true;
      cv.notify_one();
    };
    thread = std::thread([this, o, &reg] { rep = sim::run_simulation(o, reg, stderr); });
  }
  bool wait_for_rides() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(40), [&] { return under_way; });
  }
  ~load_run() {
    if (thread.joinable()) thread.join();
  }
};

/// The simulator's verdict: nothing acknowledged lost; every failed request a
/// typed handoff refusal. Double assignments are reported, not failed on: a
/// known gap (issue 9) — after a handoff a driver can have an actor on two
/// nodes (a revived trip re-attaches a driver actor on the trip's node, the
/// app's reconnect makes another where its socket is) and be offered a second
/// trip. kafka.cluster_forward, with no handoff, still requires 0.
inline void check_report(load_run& run) {
  run.thread.join();
  REQUIRE(run.rep.ok());
  sim::print_summary(stdout, *run.rep);
  const auto& rep = *run.rep;
  std::string errors;
  for (const auto& [code, n] : rep.samples.errors) errors += code + "=" + std::to_string(n) + " ";
  MESSAGE("requests ", rep.count("requests"), ", matched ", rep.count("matched"), ", reconnects ",
          rep.count("reconnects"), ", resumed trips ", rep.count("resumed_trips"),
          ", errors: ", errors.empty() ? "none" : errors);
  CHECK(rep.count("reconnect_failures") == 0);
  REQUIRE(rep.audit.has_value());
  CHECK(rep.audit->trips >= 3);
  CHECK(rep.audit->unreachable == 0);
  CHECK(rep.audit->acknowledged_lost == 0);
  for (const auto& ex : rep.audit->lost_examples) MESSAGE("lost " << ex);
  WARN_MESSAGE(rep.audit->double_assignments == 0,
               "known gap: a driver with actors on two nodes after a handoff");
  // Requests are forwarded to a shard group's owner, but one that meets the
  // group mid-handoff is refused: unavailable (no owner within handoff_wait_ms)
  // or fenced (its commit reached the old owner's transaction after the new
  // owner's init). Those typed, retryable refusals are the only failed requests
  // allowed here; "0 failed requests during a drain" is not met yet.
  std::uint64_t handoff = 0;
  for (const auto& [code, n] : rep.samples.errors)
    if (code == "unavailable" || code == "fenced") handoff += n;
  CHECK_MESSAGE(rep.samples.protocol_errors == handoff, "errors: ", errors);
}

inline const char* broker() {
  const char* b = std::getenv("RIDESHARD_KAFKA_BOOTSTRAP");
  REQUIRE_MESSAGE(b != nullptr,
                  "no broker: RIDESHARD_KAFKA_BOOTSTRAP is not set (run under "
                  "tests/system/kafka/with_kafka.sh)");
  return b;
}

inline region nyc() {
  auto regions =
      load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  REQUIRE(regions.ok());
  REQUIRE(!regions->empty());
  return regions->front();
}

}  // namespace rideshard::system_test
