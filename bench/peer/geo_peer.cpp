// geo_peer: side-by-side benchmark of rideshard's admin fleet feed and nearby
// queries against Redis GEO (issue #5). Starts and stops both servers itself.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "peer/peer_bench.hpp"
#include "peer/report.hpp"
#include "rideshard/engine/region.hpp"

namespace fs = std::filesystem;
using namespace rideshard;
using namespace rideshard::peer;

namespace {

fs::path self_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

bool on_path(const std::string& bin) {
  if (bin.find('/') != std::string::npos) return access(bin.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    if (access((dirs.substr(start, end - start) + "/" + bin).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Every query of every cross-check answered right by both peers.
bool checks_pass(const bench_report& rep) {
  if (rep.checks.empty()) return false;
  for (const auto& c : rep.checks)
    if (c.peers_agree != c.queries) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Side-by-side benchmark: rideshard (/v1/admin fleet feed, nearby_batch) vs Redis "
      "GEO (GEOADD, GEOSEARCH), same data, same load generator.",
      "geo_peer"};
  bench_options o;
  const fs::path here = self_dir();
  o.paths.rideshard_bin = (here.parent_path() / "rideshard").string();
  o.paths.node_config = RIDESHARD_SOURCE_DIR "/cluster-config/single-node.toml";
  o.out_dir = (here / "results").string();
  bool quick = false;
  app.add_option("--drivers", o.drivers, "driver counts, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--runs", o.runs, "runs per case (medians are reported)")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  app.add_option("--large-runs", o.large_runs, "runs at sizes >= 1M (at most --runs)")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  app.add_flag("--quick", quick,
               "smoke check: 10k drivers, 1 run, short phases; exit 1 unless both peers return "
               "the right k nearest ids");
  app.add_option("--out", o.out_dir, "directory for geo_peer.{json,csv,png}")
      ->capture_default_str();
  app.add_option("--clients", o.clients, "connections per peer")->capture_default_str();
  app.add_option("--depth", o.depth, "requests in flight per connection")->capture_default_str();
  app.add_option("--fleet-batch", o.fleet_batch, "samples per rideshard fleet_positions frame")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--redis-members", o.redis_members,
                 "members per GEOADD of the Redis ingest baseline (default: --fleet-batch); "
                 "the 1 member/cmd line is always measured too")
      ->check(CLI::Range(1, 4096));
  app.add_option("--nearby-batch", o.nearby_batch, "queries per rideshard nearby_batch frame")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--redis-pipeline", o.redis_pipeline,
                 "GEOSEARCH commands pipelined per Redis request (default: --nearby-batch)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--queries", o.queries, "nearby queries per case, at most")->capture_default_str();
  app.add_option("--large-queries", o.large_queries,
                 "nearby queries per case at sizes >= 1M, at most (Redis answers 10-150 "
                 "GEOSEARCH/s there; the default is one request per connection)")
      ->capture_default_str();
  app.add_option("--nearby-seconds", o.nearby_seconds, "nearby: stop issuing after this long")
      ->check(CLI::Range(0.1, 60.0))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "data seed")->capture_default_str();
  app.add_option("--config", o.paths.node_config, "node config for rideshard serve")
      ->capture_default_str();
  app.add_option("--rideshard", o.paths.rideshard_bin, "the rideshard binary")
      ->capture_default_str();
  app.add_option("--redis-server", o.paths.redis_bin, "the redis-server binary")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  resolve_defaults(o);
  if (quick) {
    if (app.count("--drivers") == 0) o.drivers = {10000};
    o.runs = 1;
    o.queries = std::min<std::size_t>(o.queries, 5000);
    o.nearby_seconds = std::min(o.nearby_seconds, 1.0);
    o.probe_queries = 200;
    o.check_queries = 100;
  }
  if (!on_path(o.paths.redis_bin)) {
    std::fprintf(stderr, "geo_peer: %s not found (apt-get install redis-server); skipping\n",
                 o.paths.redis_bin.c_str());
    return 77;
  }
  if (!on_path(o.paths.rideshard_bin)) {
    std::fprintf(stderr, "geo_peer: %s not found (build it first)\n",
                 o.paths.rideshard_bin.c_str());
    return 2;
  }
  auto regions = load_node_regions(o.paths.node_config);
  if (!regions || regions->empty()) {
    std::fprintf(stderr, "geo_peer: %s: %s\n", o.paths.node_config.c_str(),
                 regions ? "no regions" : regions.err().message.c_str());
    return 2;
  }
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  char tmpl[] = "/tmp/geo_peer.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("geo_peer: mkdtemp");
    return 2;
  }
  o.paths.scratch_dir = tmpl;

  const bench_report rep = run_bench(o, regions->front());
  const auto sum = summarize(rep.rows);
  print_tables(o, rep, sum);
  for (const auto& f : write_outputs(o, rep, sum)) std::printf("wrote %s\n", f.c_str());
  if (rep.failures.empty())
    fs::remove_all(o.paths.scratch_dir, ec);
  else
    std::printf("server logs kept in %s\n", o.paths.scratch_dir.c_str());
  if (quick && !checks_pass(rep)) {
    std::printf("geo_peer --quick: FAILED (see cross-check and failures above)\n");
    return 1;
  }
  return rep.failures.empty() ? 0 : 1;
}
