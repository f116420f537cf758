// report: medians, ratios, targets and the tables on stdout.
#include "peer/report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "peer/cross_check.hpp"
#include "peer/load_driver.hpp"

namespace rideshard::peer {

namespace {

// Issue 13's targets.
constexpr double ingest_ratio_target = 5, ingest_rate_target = 2e6, nearby_ratio_target = 50;
constexpr double probe_p50_target_us = 60, probe_p99_target_us = 200;

std::string human(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof buf, "%.0fk", v / 1e3);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string times(double r) {
  if (r <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", r);
  return buf;
}

std::string lat(const summary_row* r) {
  if (r == nullptr) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f / %.0f", r->p50_us, r->p99_us);
  return buf;
}

const char* met(bool ok) { return ok ? "met" : "MISSED"; }

void print_peers(const bench_options& o, const bench_report& rep) {
  std::printf(
      "peers (one load generator for all: one client thread, closed loop, pre-encoded "
      "requests):\n");
  for (const auto& p : describe_peers(o, o.paths.node_config)) {
    std::printf("  %s\n    %s%s%s; %zu connections x %zu requests in flight\n", p.label.c_str(),
                p.system == "rideshard" ? "" : ("Redis " + rep.redis_version + ", ").c_str(),
                p.server.c_str(), p.system == "redis_1member" ? " (same server)" : "",
                p.connections, p.in_flight);
    std::printf("    ingest request: %s\n", p.ingest.c_str());
    if (!p.nearby.empty()) std::printf("    nearby request: %s\n", p.nearby.c_str());
    if (!p.probe.empty()) std::printf("    probe: %s\n", p.probe.c_str());
  }
}

// "median (min-max)" of the per-run ratios of a Redis row.
std::string run_ratios(const summary_row* r) {
  if (r == nullptr || r->run_ratios.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(r->run_ratios.begin(), r->run_ratios.end());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2fx (%.1f-%.1f)", r->run_ratio_median, *lo, *hi);
  return buf;
}

void print_throughput(const bench_options& o, const std::vector<summary_row>& sum) {
  std::printf("\n%-15s %7s  %-26s %9s %11s %9s %19s  %s\n", "throughput/s", "drivers",
              "Redis as run", "Redis", "rideshard", "rs/Redis", "per run: med (range)",
              "target (issue 13; lower ratio)");
  for (std::size_t n : o.drivers)
    for (const std::string sc : throughput_cases) {
      const bool ingest = sc.rfind("ingest", 0) == 0;
      const auto* r = find_row(sum, n, sc, "redis");
      const auto* rs = find_row(sum, n, sc, "rideshard");
      const std::string how = ingest ? "GEOADD " + std::to_string(o.redis_members) + " members/cmd"
                                     : std::to_string(o.redis_pipeline) + " GEOSEARCH/request";
      std::printf("%-15s %7s  %-26s %9s %11s %9s %19s  %s\n", sc.c_str(), size_label(n).c_str(),
                  how.c_str(), r ? human(r->per_s).c_str() : "-",
                  rs ? human(rs->per_s).c_str() : "-",
                  times(rideshard_ratio(sum, n, sc, "redis")).c_str(), run_ratios(r).c_str(),
                  target_verdict(sum, n, sc).c_str());
      if (!ingest) continue;
      const auto* one = find_row(sum, n, sc, "redis_1member");
      std::printf("%-15s %7s  %-26s %9s %11s %9s %19s  %s\n", "", "", "GEOADD 1 member/cmd",
                  one ? human(one->per_s).c_str() : "-", "",
                  times(rideshard_ratio(sum, n, sc, "redis_1member")).c_str(),
                  run_ratios(one).c_str(), "(second line: not the baseline)");
    }
}

void print_latency(const bench_options& o, const std::vector<summary_row>& sum) {
  std::printf("\n%-15s %7s %19s %19s  %s\n", "latency us", "drivers", "Redis p50 / p99",
              "rideshard p50 / p99", "target (issue 13)");
  for (std::size_t n : o.drivers)
    for (const std::string sc : latency_cases)
      std::printf("%-15s %7s %19s %19s  %s\n", sc.c_str(), size_label(n).c_str(),
                  lat(find_row(sum, n, sc, "redis")).c_str(),
                  lat(find_row(sum, n, sc, "rideshard")).c_str(),
                  target_verdict(sum, n, sc).c_str());
  std::printf(
      "  nearby_*: per request under load (%zu x %zu requests in flight; a request = %zu "
      "GEOSEARCH / one frame of %zu queries); probe_*: one query, one in flight\n",
      o.clients, o.depth, o.redis_pipeline, o.nearby_batch);
}

void print_spread(const bench_options& o, const std::vector<summary_row>& sum) {
  std::printf("\nper run (throughput/s, run order):\n");
  for (std::size_t n : o.drivers)
    for (const std::string sc : throughput_cases)
      for (const char* sys : {"redis", "redis_1member", "rideshard"}) {
        const auto* r = find_row(sum, n, sc, sys);
        if (r == nullptr) continue;
        std::string runs;
        for (double v : r->per_run) runs += (runs.empty() ? "" : ", ") + human(v);
        std::printf("  %-15s %5s %-14s %s\n", sc.c_str(), size_label(n).c_str(), sys, runs.c_str());
      }
}

// Server CPU per item: what each peer's process spent (user + system) per update
// or query answered, the figure least bent by the machine's other load.
void print_cpu(const bench_options& o, const std::vector<summary_row>& sum) {
  std::printf("\n%-15s %7s %14s %14s %14s\n", "server CPU us", "drivers", "Redis", "Redis 1/cmd",
              "rideshard");
  auto cell = [](const summary_row* r) {
    char buf[32];
    if (r == nullptr || r->cpu_us_per_item <= 0) return std::string("-");
    std::snprintf(buf, sizeof buf, "%.2f", r->cpu_us_per_item);
    return std::string(buf);
  };
  for (std::size_t n : o.drivers)
    for (const char* sc : {"ingest_uniform", "ingest_hotspot", "nearby_uniform", "nearby_hotspot",
                           "probe_uniform", "probe_hotspot"})
      std::printf("%-15s %7s %14s %14s %14s\n", sc, size_label(n).c_str(),
                  cell(find_row(sum, n, sc, "redis")).c_str(),
                  cell(find_row(sum, n, sc, "redis_1member")).c_str(),
                  cell(find_row(sum, n, sc, "rideshard")).c_str());
  std::printf("  per update or query answered, medians over the runs (/proc/<pid>/stat)\n");
}

}  // namespace

std::string size_label(std::size_t n) {
  if (n % 1000000 == 0) return std::to_string(n / 1000000) + "M";
  if (n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

const summary_row* find_row(const std::vector<summary_row>& sum, std::size_t drivers,
                            const std::string& scenario, const std::string& system) {
  for (const auto& r : sum)
    if (r.drivers == drivers && r.scenario == scenario && r.system == system && r.runs > 0)
      return &r;
  return nullptr;
}

double rideshard_ratio(const std::vector<summary_row>& sum, std::size_t drivers,
                       const std::string& scenario, const std::string& system) {
  const auto* rs = find_row(sum, drivers, scenario, "rideshard");
  const auto* other = find_row(sum, drivers, scenario, system);
  if (rs == nullptr || other == nullptr || other->per_s <= 0) return 0;
  return rs->per_s / other->per_s;
}

std::string target_verdict(const std::vector<summary_row>& sum, std::size_t drivers,
                           const std::string& scenario) {
  const auto* rs = find_row(sum, drivers, scenario, "rideshard");
  if (rs == nullptr) return "";
  // The lower of the ratio of medians and the median of per-run ratios.
  double ratio = rideshard_ratio(sum, drivers, scenario, "redis");
  if (const auto* r = find_row(sum, drivers, scenario, "redis"); r && !r->run_ratios.empty())
    ratio = std::min(ratio, r->run_ratio_median);
  char buf[96];
  if (scenario.rfind("ingest", 0) == 0) {
    if (drivers != 100000 && drivers != 1000000) return "";
    std::snprintf(buf, sizeof buf, ">= %.0fx Redis: %s; >= %.0fM/s: %s", ingest_ratio_target,
                  ratio > 0 ? met(ratio >= ingest_ratio_target) : "-", ingest_rate_target / 1e6,
                  met(rs->per_s >= ingest_rate_target));
    return buf;
  }
  if (scenario.rfind("nearby", 0) == 0) {
    if (drivers != 100000 || ratio <= 0) return "";
    std::snprintf(buf, sizeof buf, ">= %.0fx Redis: %s", nearby_ratio_target,
                  met(ratio >= nearby_ratio_target));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "rideshard p50 <= %.0f, p99 <= %.0f: %s", probe_p50_target_us,
                probe_p99_target_us,
                met(rs->p50_us <= probe_p50_target_us && rs->p99_us <= probe_p99_target_us));
  return buf;
}

std::vector<summary_row> summarize(const std::vector<measurement>& rows) {
  std::map<std::tuple<std::size_t, std::string, std::string>, std::vector<const measurement*>> g;
  for (const auto& m : rows) g[{m.drivers, m.scenario, m.system}].push_back(&m);
  std::vector<summary_row> out;
  for (const auto& [key, ms] : g) {
    summary_row s;
    std::tie(s.drivers, s.scenario, s.system) = key;
    std::vector<double> p50, p99, cpu;
    for (const auto* m : ms) {
      s.note = m->note;
      s.errors += m->errors;
      if (m->aborted) continue;
      s.per_run.push_back(m->per_s);
      p50.push_back(m->p50_us);
      p99.push_back(m->p99_us);
      if (m->server_cpu_us_per_item > 0) cpu.push_back(m->server_cpu_us_per_item);
    }
    s.runs = static_cast<int>(s.per_run.size());
    if (!s.per_run.empty()) {
      s.per_s = percentile(s.per_run, 50);
      s.per_s_min = *std::min_element(s.per_run.begin(), s.per_run.end());
      s.per_s_max = *std::max_element(s.per_run.begin(), s.per_run.end());
      s.p50_us = percentile(p50, 50);
      s.p99_us = percentile(p99, 50);
    }
    if (!cpu.empty()) s.cpu_us_per_item = percentile(cpu, 50);
    out.push_back(std::move(s));
  }
  // Per-run ratios: rideshard's figure over each other peer's, same run.
  std::map<std::tuple<std::size_t, std::string, int>, double> rs_runs;
  for (const auto& m : rows)
    if (m.system == "rideshard" && !m.aborted) rs_runs[{m.drivers, m.scenario, m.run}] = m.per_s;
  for (auto& s : out) {
    if (s.system == "rideshard") continue;
    for (const auto* m : g[{s.drivers, s.scenario, s.system}]) {
      auto it = rs_runs.find({m->drivers, m->scenario, m->run});
      if (!m->aborted && m->per_s > 0 && it != rs_runs.end())
        s.run_ratios.push_back(it->second / m->per_s);
    }
    if (!s.run_ratios.empty()) s.run_ratio_median = percentile(s.run_ratios, 50);
  }
  return out;
}

void print_tables(const bench_options& o, const bench_report& rep,
                  const std::vector<summary_row>& sum) {
  std::printf(
      "\ngeo_peer: Redis %s GEO vs rideshard /v1/admin, k=%u within %.0f m, medians of %d "
      "run(s) (%d at >= 1M drivers), seed %llu; nearby: up to %zu queries per case (%zu at >= "
      "1M), issuing stops after %.1f s\n",
      rep.redis_version.c_str(), o.k, o.radius_m, o.runs, std::min(o.runs, o.large_runs),
      static_cast<unsigned long long>(o.seed), o.queries, o.large_queries, o.nearby_seconds);
  print_peers(o, rep);
  print_throughput(o, sum);
  print_latency(o, sum);
  print_spread(o, sum);
  print_cpu(o, sum);
  if (!rep.checks.empty()) {
    std::printf("\ncross-check (k-nearest ids vs the exact answer; ties within %.1f m allowed):\n",
                tie_tolerance_m);
    for (const auto& c : rep.checks)
      std::printf(
          "  %7s %-8s %4zu queries: Redis %zu exact + %zu ties, rideshard %zu exact + %zu "
          "ties, both right %zu\n",
          size_label(c.drivers).c_str(), std::string(to_string(c.where)).c_str(), c.queries,
          c.redis_exact, c.redis_within_tol, c.rideshard_exact, c.rideshard_within_tol,
          c.peers_agree);
  }
  for (const auto& f : rep.failures) std::printf("FAILED: %s\n", f.c_str());
  std::fflush(stdout);
}

}  // namespace rideshard::peer
