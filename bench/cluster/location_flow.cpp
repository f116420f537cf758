// cluster_location_flow: location updates from cluster node 1 to a matcher on
// node 2, over CAF 0.17's middleman (BASP/TCP) with mutual TLS on 127.0.0.1.
// Two actor systems in this process, each with its own middleman and OpenSSL
// module, connected through a real TLS socket (certificates from
// cluster-config/three-node/make-certs.sh).
//
//   batched: each update is a location_out to node 1's location relay, which
//            sends one location_bundle per window (or per max_batch updates)
//            to node 2's relay, which hands each update to the matcher.
//   single:  each update is one driver_avail sent to the matcher's proxy (one
//            BASP message per update), the comparison.
//
// The "matcher" counts updates; the producer (this thread) keeps at most
// --in-flight updates unreceived (CAF has no back-pressure). Every update is a
// driver_avail as the node sends it, with the driver actor's handle. Prints
// updates/s per run and the median of --runs runs, with the command line.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <caf/io/middleman.hpp>
#include <caf/openssl/all.hpp>
#pragma GCC diagnostic pop

#include "node/location_relay.hpp"
#include "node/membership.hpp"
#include "node/message_types.hpp"

using namespace rideshard;
using namespace rideshard::node;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::uint64_t updates = 2'000'000;
  std::uint64_t single_updates = 300'000;
  int runs = 5;
  std::string mode = "both";
  std::size_t max_batch = 1024;
  int window_ms = 5;
  std::uint64_t in_flight = 100'000;
  int drivers = 10'000;
  int matchers = 16;
};

struct node_config : caf::actor_system_config {
  explicit node_config(const cluster_options& c) {
    add_node_message_types(*this);
    configure_cluster(*this, c);
  }
};

cluster_options tls(const std::string& dir, const std::string& name) {
  cluster_options c;
  c.enabled = true;
  c.tls_cert = dir + "/" + name + ".pem";
  c.tls_key = dir + "/" + name + ".key";
  c.tls_ca = dir + "/ca.pem";
  return c;
}

[[noreturn]] void die(const std::string& what) {
  std::cerr << "cluster_location_flow: " << what << "\n";
  std::exit(1);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One run: `n` updates, batched or not. Returns updates/s.
double run_once(const options& o, const std::string& certs, bool batched, std::uint64_t n) {
  node_config cfg1{tls(certs, "node-1")};
  node_config cfg2{tls(certs, "node-2")};
  caf::actor_system sys1{cfg1};
  caf::actor_system sys2{cfg2};

  // Node 2: the matchers (counting sinks) and its relay, published over TLS.
  auto received = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::vector<caf::actor> sinks;
  for (int i = 0; i < o.matchers; ++i)
    sinks.push_back(
        sys2.spawn([](caf::event_based_actor*, std::shared_ptr<std::atomic<std::uint64_t>> r)
                       -> caf::behavior { return {[r](driver_avail&) { r->fetch_add(1); }}; },
                   received));
  auto counters2 = std::make_shared<location_relay_counters>();
  auto relay2 = spawn_location_relay(
      sys2, location_relay_options{2, o.max_batch, std::chrono::milliseconds(o.window_ms)},
      counters2);
  // A door on node 2 that hands out the sinks, then the relay (one connection).
  auto handles = sinks;
  handles.push_back(caf::actor_cast<caf::actor>(relay2));
  auto door = sys2.spawn(
      [](caf::event_based_actor*, std::vector<caf::actor> s) -> caf::behavior {
        return {[s](caf::get_atom) { return s; }};
      },
      handles);
  auto port = caf::openssl::publish(door, 0, "127.0.0.1", true);
  if (!port) die("publish: " + sys2.render(port.error()));

  // Node 1: the relay and the remote handles.
  auto counters1 = std::make_shared<location_relay_counters>();
  auto relay1 = spawn_location_relay(
      sys1, location_relay_options{1, o.max_batch, std::chrono::milliseconds(o.window_ms)},
      counters1);
  auto remote_door = caf::openssl::remote_actor<caf::actor>(sys1, "127.0.0.1", *port);
  if (!remote_door) die("remote_actor: " + sys1.render(remote_door.error()));
  std::vector<matcher_handle> matchers;
  location_relay_handle remote_relay;
  {
    caf::scoped_actor self{sys1};
    self->request(*remote_door, std::chrono::seconds(10), caf::get_atom::value)
        .receive(
            [&](std::vector<caf::actor>& s) {
              remote_relay = caf::actor_cast<location_relay_handle>(s.back());
              s.pop_back();
              for (auto& a : s) matchers.push_back(caf::actor_cast<matcher_handle>(a));
            },
            [&](caf::error& e) { die("door: " + sys1.render(e)); });
  }
  caf::anon_send(relay1, relay_route{2, remote_relay});
  // The drivers' actors (their handles travel in every update, as in the node).
  std::vector<caf::actor> drivers;
  const int driver_actors = std::min(o.drivers, 256);
  for (int i = 0; i < driver_actors; ++i)
    drivers.push_back(
        sys1.spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; }, i));

  const auto start = clock_type::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    while (i - received->load(std::memory_order_relaxed) >= o.in_flight) std::this_thread::yield();
    const auto d = static_cast<int>(i % static_cast<std::uint64_t>(o.drivers));
    driver_avail a{driver_id{static_cast<std::uint64_t>(d + 1)},
                   lat_lng{40.70 + (i % 1000) * 1e-4, -73.99 + (d % 1000) * 1e-4},
                   drivers[static_cast<std::size_t>(d % driver_actors)], false};
    const auto& m = matchers[static_cast<std::size_t>(d % o.matchers)];
    if (batched)
      caf::anon_send(relay1, location_out{2, m, std::move(a)});
    else
      caf::anon_send(m, std::move(a));
  }
  while (received->load() < n) std::this_thread::yield();
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  if (batched && counters1->bundles == 0) die("no bundle left node 1");
  if (batched)
    std::printf("    %llu bundles, %.0f updates per bundle\n",
                static_cast<unsigned long long>(counters1->bundles.load()),
                static_cast<double>(counters1->sent.load()) /
                    static_cast<double>(counters1->bundles.load()));

  for (auto& a : drivers) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  for (auto& a : sinks) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(relay1, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(relay2, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
  matchers.clear();
  remote_relay = nullptr;
  return static_cast<double>(n) / secs;
}

std::uint64_t number(const char* s) {
  char* end = nullptr;
  const auto v = std::strtoull(s, &end, 10);
  if (!end || *end != '\0' || v == 0) die(std::string("not a positive number: ") + s);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string command = argv[0];
  for (int i = 1; i < argc; ++i) {
    command += std::string(" ") + argv[i];
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) die(a + " needs a value");
      command += std::string(" ") + argv[i + 1];
      return argv[++i];
    };
    if (a == "--updates")
      o.updates = number(next());
    else if (a == "--single-updates")
      o.single_updates = number(next());
    else if (a == "--runs")
      o.runs = static_cast<int>(number(next()));
    else if (a == "--mode")
      o.mode = next();
    else if (a == "--max-batch")
      o.max_batch = number(next());
    else if (a == "--window-ms")
      o.window_ms = static_cast<int>(number(next()));
    else if (a == "--in-flight")
      o.in_flight = number(next());
    else if (a == "--drivers")
      o.drivers = static_cast<int>(number(next()));
    else if (a == "--matchers")
      o.matchers = static_cast<int>(number(next()));
    else {
      std::cout << "usage: cluster_location_flow [--mode both|batched|single] [--runs 5]\n"
                   "  [--updates 2000000] [--single-updates 300000] [--max-batch 1024]\n"
                   "  [--window-ms 5] [--in-flight 100000] [--drivers 10000] [--matchers 16]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  if (o.mode != "both" && o.mode != "batched" && o.mode != "single") die("bad --mode " + o.mode);

  char tmpl[] = "/tmp/rideshard-location-flow-XXXXXX";
  if (!mkdtemp(tmpl)) die("mkdtemp failed");
  const std::string certs = tmpl;
  const std::string make = std::string(RIDESHARD_SOURCE_DIR) +
                           "/cluster-config/three-node/make-certs.sh " + certs +
                           " node-1 node-2 >/dev/null";
  if (std::system(make.c_str()) != 0) die("make-certs.sh failed");

  std::cout << "command: " << command << "\n"
            << "two actor systems, BASP over mutual TLS on 127.0.0.1; " << o.drivers << " drivers, "
            << o.matchers << " matchers on node 2, at most " << o.in_flight
            << " updates in flight\n";
  std::vector<std::pair<std::string, double>> medians;
  for (bool batched : {true, false}) {
    if ((batched && o.mode == "single") || (!batched && o.mode == "batched")) continue;
    const auto n = batched ? o.updates : o.single_updates;
    const std::string name = batched ? "batched (relay, max_batch " + std::to_string(o.max_batch) +
                                           ", window " + std::to_string(o.window_ms) + " ms)"
                                     : "one BASP message per update";
    std::cout << name << ": " << n << " updates per run\n";
    std::vector<double> rates;
    for (int r = 0; r < o.runs; ++r) {
      rates.push_back(run_once(o, certs, batched, n));
      std::printf("  run %d: %.0f updates/s\n", r + 1, rates.back());
    }
    medians.emplace_back(name, median(rates));
  }
  std::cout << "medians of " << o.runs << " runs:\n";
  for (const auto& [name, m] : medians) std::printf("  %-48s %12.0f updates/s\n", name.c_str(), m);
  std::error_code ec;
  std::filesystem::remove_all(certs, ec);
  return 0;
}
