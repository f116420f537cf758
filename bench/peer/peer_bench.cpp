// peer_bench: one (size, run) at a time — fresh peers, the same data, ingest,
// nearby throughput, single-client latency probe and the k-nearest cross-check.
#include "peer/peer_bench.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <boost/asio/io_context.hpp>

#include "peer/cross_check.hpp"
#include "peer/peer_work.hpp"
#include "peer/resp_client.hpp"
#include "peer/ws_admin_client.hpp"

namespace rideshard::peer {

namespace {

namespace net = boost::asio;
using conn_list = std::vector<std::shared_ptr<pipelined_connection>>;
using std::chrono::milliseconds;

constexpr milliseconds ingest_issue_limit{120000};
// Redis answers a pipelined batch only after its event loop has run every
// command it read (800 GEOSEARCH at 1M hotspot: 30-60 s on a busy 2-core VM).
constexpr milliseconds phase_grace{150000};

// utime + stime of a process in seconds (/proc/<pid>/stat); -1 if unreadable.
double process_cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

class runner {
 public:
  runner(const bench_options& o, const region& city, bench_report& rep)
      : o_(o), city_(city), rep_(rep), peers_(describe_peers(o, o.paths.node_config)) {}

  void run_all() {
    if (auto err = start_redis(o_.paths, redis_)) return rep_.failures.push_back(*err);
    if (auto err = mint_admin_token(o_.paths, token_)) rep_.failures.push_back(*err);
    int instance = 0;
    for (int run = 0; run < o_.runs; ++run)
      for (std::size_t n : o_.drivers)
        if (n < 1000000 || run < o_.large_runs) run_size(n, run, instance++);
    redis_.process.stop();
  }

 private:
  // Fresh state on both peers, then every case for this size.
  void run_size(std::size_t n, int run, int instance) {
    std::fprintf(stderr, "geo_peer: run %d/%d, %zu drivers\n", run + 1,
                 n < 1000000 ? o_.runs : std::min(o_.runs, o_.large_runs), n);
    if (!resp_call(redis_.endpoint, {"FLUSHALL"})) rep_.failures.push_back("FLUSHALL failed");
    rideshard_server node;
    rs_ok_ = false;
    if (!token_.empty()) {
      if (auto err = start_rideshard(o_.paths, instance, node))
        rep_.failures.push_back(*err);
      else
        rs_ok_ = true;
    }
    redis_conns_.clear();
    rs_conns_.clear();
    redis_ok_ = connect_redis();
    if (rs_ok_) rs_ok_ = connect_rideshard(node.endpoint);
    node_pid_ = rs_ok_ ? node.process.pid() : -1;
    for (layout l : {layout::uniform, layout::hotspot}) {
      const fleet_data data = make_fleet(city_, l, n, o_.queries, o_.seed);
      run_layout(n, run, l, data);
    }
    for (auto& c : redis_conns_) std::static_pointer_cast<resp_connection>(c)->close();
    for (auto& c : rs_conns_) std::static_pointer_cast<ws_admin_connection>(c)->close();
    ioc_.restart();
    ioc_.poll();  // let the closed sockets' handlers finish
    node.process.stop();
  }

  bool connect_redis() {
    for (std::size_t i = 0; i < o_.clients; ++i) {
      auto c = std::make_shared<resp_connection>(ioc_);
      if (!c->connect(redis_.endpoint)) {
        rep_.failures.push_back("cannot connect to redis-server");
        return false;
      }
      redis_conns_.push_back(c);
    }
    return true;
  }

  bool connect_rideshard(const net::ip::tcp::endpoint& ep) {
    for (std::size_t i = 0; i < o_.clients; ++i) {
      auto c = std::make_shared<ws_admin_connection>(ioc_);
      if (auto err = c->connect(ep, token_)) {
        rep_.failures.push_back("rideshard /v1/admin: " + *err);
        return false;
      }
      rs_conns_.push_back(c);
    }
    return true;
  }

  void run_layout(std::size_t n, int run, layout l, const fleet_data& data) {
    const std::string where(to_string(l));
    const std::size_t queries = n >= 1000000 ? o_.large_queries : o_.queries;
    // (a) ingest: each driver's position once (uniform: inserts; hotspot: moves).
    // The baseline batches like rideshard does; one member per command is the
    // second Redis line, into its own key.
    if (redis_ok_)
      redis_ok_ = record(n, run, "ingest_" + where, "redis", redis_conns_,
                         redis_geoadd_work(data.drivers, o_.clients, o_.redis_members, "fleet"),
                         o_.depth, ingest_issue_limit);
    if (redis_ok_)
      redis_ok_ = record(n, run, "ingest_" + where, "redis_1member", redis_conns_,
                         redis_geoadd_work(data.drivers, o_.clients, 1, "fleet_1"), o_.depth,
                         ingest_issue_limit);
    if (rs_ok_)
      rs_ok_ = record(n, run, "ingest_" + where, "rideshard", rs_conns_,
                      rideshard_fleet_work(data.drivers, o_.clients, o_.fleet_batch), o_.depth,
                      ingest_issue_limit);
    // (b) nearby k within radius: throughput under load, the same queries in
    // flight per connection on both sides.
    const milliseconds nearby_for(static_cast<long>(o_.nearby_seconds * 1000));
    if (redis_ok_)
      redis_ok_ = record(n, run, "nearby_" + where, "redis", redis_conns_,
                         redis_geosearch_work(data.queries, queries, o_.clients, o_.redis_pipeline,
                                              o_.radius_m, o_.k, "fleet"),
                         o_.depth, nearby_for);
    if (rs_ok_)
      rs_ok_ = record(n, run, "nearby_" + where, "rideshard", rs_conns_,
                      rideshard_nearby_work(data.queries, queries, o_.clients, o_.nearby_batch,
                                            o_.radius_m, o_.k),
                      o_.depth, nearby_for);
    // Single connection, one query in flight: latency without queueing.
    const conn_list redis_one(redis_conns_.begin(), redis_conns_.begin() + (redis_ok_ ? 1 : 0));
    const conn_list rs_one(rs_conns_.begin(), rs_conns_.begin() + (rs_ok_ ? 1 : 0));
    if (redis_ok_)
      redis_ok_ = record(
          n, run, "probe_" + where, "redis", redis_one,
          redis_geosearch_work(data.queries, o_.probe_queries, 1, 1, o_.radius_m, o_.k, "fleet"), 1,
          milliseconds(1000));
    if (rs_ok_)
      rs_ok_ =
          record(n, run, "probe_" + where, "rideshard", rs_one,
                 rideshard_nearby_work(data.queries, o_.probe_queries, 1, 1, o_.radius_m, o_.k), 1,
                 milliseconds(1000));
    if (run == 0) check(n, l, data, redis_one, rs_one);
  }

  // Runs one phase and stores its figures; false if the peer is unusable now.
  bool record(std::size_t n, int run, const std::string& scenario, const std::string& system,
              const conn_list& conns, work_set work, std::size_t depth, milliseconds issue_for) {
    const pid_t server = system == "rideshard" ? node_pid_ : redis_.process.pid();
    const double cpu0 = process_cpu_s(server);
    phase_result r = run_phase(ioc_, conns, std::move(work), depth, issue_for, phase_grace);
    const double cpu1 = process_cpu_s(server);
    measurement m;
    m.drivers = n;
    m.scenario = scenario;
    m.system = system;
    m.run = run;
    m.per_s = r.items_per_s();
    m.p50_us = percentile(r.latencies_us, 50);
    m.p99_us = percentile(r.latencies_us, 99);
    m.items = r.items;
    m.errors = r.errors;
    m.unanswered = r.unanswered;
    m.unsent = r.unsent;
    m.aborted = r.aborted;
    m.note = note_of(scenario, system);
    if (cpu0 >= 0 && cpu1 >= cpu0 && r.items > 0)
      m.server_cpu_us_per_item = (cpu1 - cpu0) * 1e6 / static_cast<double>(r.items);
    std::fprintf(
        stderr,
        "  %-15s %-11s %10.0f /s  p50 %9.1f us  p99 %9.1f us  (%llu items, %llu errors, "
        "%llu unanswered, %llu not sent), server CPU %.2f us/item%s%s\n",
        scenario.c_str(), system.c_str(), m.per_s, m.p50_us, m.p99_us,
        static_cast<unsigned long long>(m.items), static_cast<unsigned long long>(m.errors),
        static_cast<unsigned long long>(m.unanswered), static_cast<unsigned long long>(m.unsent),
        m.server_cpu_us_per_item, r.aborted ? "  ABORTED: " : "", r.failure.c_str());
    rep_.rows.push_back(std::move(m));
    if (r.aborted) rep_.failures.push_back(system + " " + scenario + ": " + r.failure);
    return !r.aborted;
  }

  // What one request of this phase is, from the peer's description.
  std::string note_of(const std::string& scenario, const std::string& system) const {
    for (const auto& p : peers_)
      if (p.system == system)
        return scenario.rfind("ingest", 0) == 0   ? p.ingest
               : scenario.rfind("nearby", 0) == 0 ? p.nearby
                                                  : p.probe;
    return {};
  }

  // First check_queries queries on one connection each, answers compared.
  void check(std::size_t n, layout l, const fleet_data& data, const conn_list& redis_one,
             const conn_list& rs_one) {
    const std::size_t q = std::min(o_.check_queries, data.queries.size());
    std::vector<std::vector<std::uint64_t>> redis_ids(q), rs_ids(q);
    if (!redis_one.empty()) {
      redis_one[0]->results = &redis_ids;
      run_phase(
          ioc_, redis_one,
          redis_geosearch_work(data.queries, q, 1, o_.redis_pipeline, o_.radius_m, o_.k, "fleet"),
          o_.depth, milliseconds(30000), phase_grace);
      redis_one[0]->results = nullptr;
    }
    if (!rs_one.empty()) {
      rs_one[0]->results = &rs_ids;
      run_phase(ioc_, rs_one,
                rideshard_nearby_work(data.queries, q, 1, o_.nearby_batch, o_.radius_m, o_.k),
                o_.depth, milliseconds(30000), phase_grace);
      rs_one[0]->results = nullptr;
    }
    cross_check c = compare_answers(data, q, o_.radius_m, o_.k, redis_ids, rs_ids,
                                    !redis_one.empty(), !rs_one.empty());
    c.drivers = n;
    c.where = l;
    std::fprintf(stderr,
                 "  check %-8s %zu queries: oracle match redis %zu (+%zu ties), rideshard %zu "
                 "(+%zu ties), peers agree %zu%s%s\n",
                 std::string(to_string(l)).c_str(), c.queries, c.redis_exact, c.redis_within_tol,
                 c.rideshard_exact, c.rideshard_within_tol, c.peers_agree,
                 c.first_problem.empty() ? "" : "; first problem: ", c.first_problem.c_str());
    rep_.checks.push_back(std::move(c));
  }

  const bench_options& o_;
  const region& city_;
  bench_report& rep_;
  const std::vector<peer_setup> peers_;
  net::io_context ioc_;
  redis_server redis_;
  std::string token_;
  conn_list redis_conns_, rs_conns_;
  bool redis_ok_ = false, rs_ok_ = false;
  pid_t node_pid_ = -1;  ///< this size's rideshard node
};

}  // namespace

void resolve_defaults(bench_options& o) {
  if (o.redis_members == 0) o.redis_members = o.fleet_batch;
  if (o.redis_pipeline == 0) o.redis_pipeline = o.nearby_batch;
}

std::vector<peer_setup> describe_peers(const bench_options& o, const std::string& node_config) {
  const std::string k = std::to_string(o.k), r = std::to_string(static_cast<long>(o.radius_m));
  const std::string search = "GEOSEARCH FROMLONLAT lng lat BYRADIUS " + r + " m ASC COUNT " + k;
  const std::string redis_server =
      "redis-server (1 thread), persistence off (--save \"\" --appendonly no)";
  peer_setup redis;
  redis.system = "redis";
  redis.label = "Redis: GEOADD " + std::to_string(o.redis_members) + " members/cmd; " +
                std::to_string(o.redis_pipeline) + " GEOSEARCH pipelined/request";
  redis.server = redis_server;
  redis.connections = o.clients;
  redis.in_flight = o.depth;
  redis.ingest = "GEOADD " + std::to_string(o.redis_members) + " members/cmd";
  redis.ingest_items = o.redis_members;
  redis.nearby = std::to_string(o.redis_pipeline) + " x " + search + " pipelined in one write";
  redis.nearby_items = o.redis_pipeline;
  redis.probe = "1 x " + search + ", 1 connection, 1 in flight";
  peer_setup single = redis;
  single.system = "redis_1member";
  single.label = "Redis: GEOADD 1 member/cmd";
  single.ingest = "GEOADD 1 member/cmd (second key)";
  single.ingest_items = 1;
  single.nearby = single.probe = "";
  single.nearby_items = 0;
  peer_setup rs;
  rs.system = "rideshard";
  rs.label = "rideshard: fleet_positions " + std::to_string(o.fleet_batch) +
             " samples/frame; nearby_batch " + std::to_string(o.nearby_batch) + " queries/frame";
  rs.server = "rideshard serve --config " + std::filesystem::path(node_config).filename().string() +
              " (no Kafka, fresh RocksDB dir; positions are in-memory soft state), "
              "WebSocket /v1/admin, binary frames";
  rs.connections = o.clients;
  rs.in_flight = o.depth;
  rs.ingest = "fleet_positions " + std::to_string(o.fleet_batch) +
              " samples/frame, ack after the matchers applied it";
  rs.ingest_items = o.fleet_batch;
  rs.nearby = "nearby_batch " + std::to_string(o.nearby_batch) + " queries (k=" + k + ", " + r +
              " m)/frame";
  rs.nearby_items = o.nearby_batch;
  rs.probe = "nearby_batch 1 query/frame, 1 connection, 1 in flight";
  return {redis, single, rs};
}

bench_report run_bench(const bench_options& opts, const region& city) {
  bench_report rep;
  rep.redis_version = redis_version(opts.paths);
  runner(opts, city, rep).run_all();
  return rep;
}

}  // namespace rideshard::peer
