// report: medians, ratios, the stdout tables and the result files.
#include "peer/report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "peer/child_process.hpp"
#include "peer/load_driver.hpp"

namespace rideshard::peer {

namespace {

const char* const scenarios[] = {"ingest_uniform", "ingest_hotspot", "nearby_uniform",
                                 "nearby_hotspot", "probe_uniform",  "probe_hotspot"};

const summary_row* find(const std::vector<summary_row>& sum, std::size_t n, const std::string& sc,
                        const std::string& sys) {
  for (const auto& r : sum)
    if (r.drivers == n && r.scenario == sc && r.system == sys && r.runs > 0) return &r;
  return nullptr;
}

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

std::string size_label(std::size_t n) {
  if (n % 1000000 == 0) return std::to_string(n / 1000000) + "M";
  if (n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

std::string ratio(const summary_row* a, const summary_row* b) {
  if (a == nullptr || b == nullptr || b->per_s <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", a->per_s / b->per_s);
  return buf;
}

std::string lat(const summary_row* r) {
  if (r == nullptr) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f / %.0f", r->p50_us, r->p99_us);
  return buf;
}

}  // namespace

std::vector<summary_row> summarize(const std::vector<measurement>& rows) {
  std::map<std::tuple<std::size_t, std::string, std::string>, std::vector<const measurement*>> g;
  for (const auto& m : rows) g[{m.drivers, m.scenario, m.system}].push_back(&m);
  std::vector<summary_row> out;
  for (const auto& [key, ms] : g) {
    summary_row s;
    std::tie(s.drivers, s.scenario, s.system) = key;
    std::vector<double> rate, p50, p99;
    for (const auto* m : ms) {
      s.note = m->note;
      s.errors += m->errors;
      if (m->aborted) continue;
      rate.push_back(m->per_s);
      p50.push_back(m->p50_us);
      p99.push_back(m->p99_us);
    }
    s.runs = static_cast<int>(rate.size());
    if (!rate.empty()) {
      s.per_s = percentile(rate, 50);
      s.per_s_min = *std::min_element(rate.begin(), rate.end());
      s.per_s_max = *std::max_element(rate.begin(), rate.end());
      s.p50_us = percentile(p50, 50);
      s.p99_us = percentile(p99, 50);
    }
    out.push_back(std::move(s));
  }
  return out;
}

void print_tables(const bench_options& o, const bench_report& rep,
                  const std::vector<summary_row>& sum) {
  std::printf(
      "\ngeo_peer: Redis %s GEO vs rideshard /v1/admin, %zu clients x %zu requests in flight, "
      "k=%u within %.0f m, medians of %d run(s) (%d at >= 1M drivers)\n",
      rep.redis_version.c_str(), o.clients, o.depth, o.k, o.radius_m, o.runs,
      std::min(o.runs, o.large_runs));
  std::printf(
      "  Redis: GEOADD 1 member/cmd; 'Redis multi': GEOADD %zu members/cmd; GEOSEARCH 1 "
      "query/cmd.\n  rideshard: fleet_positions %zu samples/frame; nearby_batch %zu "
      "queries/frame.\n\n",
      o.redis_members, o.fleet_batch, o.nearby_batch);
  std::printf("%-16s %7s %11s %11s %11s %10s %10s  %s\n", "throughput/s", "drivers", "Redis",
              "Redis multi", "rideshard", "rs/Redis", "rs/multi", "target");
  for (std::size_t n : o.drivers)
    for (int i = 0; i < 4; ++i) {
      const std::string sc = scenarios[i];
      const auto* r = find(sum, n, sc, "redis");
      const auto* rm = find(sum, n, sc, "redis_multi");
      const auto* rs = find(sum, n, sc, "rideshard");
      const bool ingest = i < 2;
      std::string target = ingest ? ">= 5x Redis" : (n == 100000 ? ">= 50x Redis" : "");
      std::printf("%-16s %7s %11s %11s %11s %10s %10s  %s\n", sc.c_str(), size_label(n).c_str(),
                  r ? human(r->per_s).c_str() : "-", rm ? human(rm->per_s).c_str() : "",
                  rs ? human(rs->per_s).c_str() : "-", ratio(rs, r).c_str(),
                  ingest ? ratio(rs, rm).c_str() : "", target.c_str());
    }
  std::printf("\n%-16s %7s %19s %19s  %s\n", "latency us", "drivers", "Redis p50 / p99",
              "rideshard p50 / p99", "per request (under load: a rideshard request = 1 frame)");
  for (std::size_t n : o.drivers)
    for (int i = 2; i < 6; ++i) {
      const std::string sc = scenarios[i];
      std::printf("%-16s %7s %19s %19s\n", sc.c_str(), size_label(n).c_str(),
                  lat(find(sum, n, sc, "redis")).c_str(),
                  lat(find(sum, n, sc, "rideshard")).c_str());
    }
  std::printf("%-16s %7s %19s %19s  (reserved for loadbench's figure)\n", "request->offer", "100k",
              "n/a", "-");
  if (!rep.checks.empty()) {
    std::printf("\ncross-check (k-nearest ids vs the exact answer; ties within %.1f m allowed):\n",
                1.5);
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

std::vector<std::string> write_outputs(const bench_options& o, const bench_report& rep,
                                       const std::vector<summary_row>& sum) {
  std::vector<std::string> written;
  const std::string base = o.out_dir + "/geo_peer";
  nlohmann::json j;
  j["config"] = {{"drivers", o.drivers},
                 {"runs", o.runs},
                 {"large_runs", o.large_runs},
                 {"clients", o.clients},
                 {"depth", o.depth},
                 {"fleet_batch", o.fleet_batch},
                 {"redis_members", o.redis_members},
                 {"nearby_batch", o.nearby_batch},
                 {"queries", o.queries},
                 {"nearby_seconds", o.nearby_seconds},
                 {"radius_m", o.radius_m},
                 {"k", o.k},
                 {"seed", o.seed}};
  j["redis_version"] = rep.redis_version;
  for (const auto& m : rep.rows)
    j["runs"].push_back({{"drivers", m.drivers},
                         {"scenario", m.scenario},
                         {"system", m.system},
                         {"run", m.run},
                         {"per_s", m.per_s},
                         {"p50_us", m.p50_us},
                         {"p99_us", m.p99_us},
                         {"items", m.items},
                         {"errors", m.errors},
                         {"unanswered", m.unanswered},
                         {"aborted", m.aborted},
                         {"note", m.note}});
  for (const auto& s : sum) {
    nlohmann::json row = {
        {"drivers", s.drivers},     {"scenario", s.scenario}, {"system", s.system},
        {"runs", s.runs},           {"per_s", s.per_s},       {"per_s_min", s.per_s_min},
        {"per_s_max", s.per_s_max}, {"p50_us", s.p50_us},     {"p99_us", s.p99_us},
        {"errors", s.errors},       {"note", s.note}};
    if (s.system == "rideshard")
      if (const auto* r = find(sum, s.drivers, s.scenario, "redis"); r && r->per_s > 0)
        row["ratio_vs_redis"] = s.per_s / r->per_s;
    j["medians"].push_back(row);
  }
  for (const auto& c : rep.checks)
    j["checks"].push_back({{"drivers", c.drivers},
                           {"layout", to_string(c.where)},
                           {"queries", c.queries},
                           {"redis_exact", c.redis_exact},
                           {"redis_ties", c.redis_within_tol},
                           {"rideshard_exact", c.rideshard_exact},
                           {"rideshard_ties", c.rideshard_within_tol},
                           {"both_right", c.peers_agree},
                           {"first_problem", c.first_problem}});
  j["failures"] = rep.failures;
  std::ofstream(base + ".json") << j.dump(2) << "\n";
  written.push_back(base + ".json");

  std::ofstream csv(base + ".csv");
  csv << "drivers,scenario,system,runs,median_per_s,min_per_s,max_per_s,median_p50_us,"
         "median_p99_us,errors,ratio_vs_redis,note\n";
  for (const auto& s : sum) {
    const auto* r = find(sum, s.drivers, s.scenario, "redis");
    csv << s.drivers << ',' << s.scenario << ',' << s.system << ',' << s.runs << ',' << s.per_s
        << ',' << s.per_s_min << ',' << s.per_s_max << ',' << s.p50_us << ',' << s.p99_us << ','
        << s.errors << ',' << (r && r->per_s > 0 ? s.per_s / r->per_s : 0) << ",\"" << s.note
        << "\"\n";
  }
  written.push_back(base + ".csv");

  // gnuplot: throughput bars (log) per case, and p50/p99 latency per nearby case.
  std::ofstream dat(base + ".dat");
  dat << "# case redis redis_multi rideshard\n";
  for (std::size_t n : o.drivers)
    for (int i = 0; i < 4; ++i) {
      auto v = [&](const char* sys) {
        const auto* r = find(sum, n, scenarios[i], sys);
        return r ? r->per_s : 0.0;
      };
      dat << '"' << scenarios[i] << ' ' << size_label(n) << "\" " << v("redis") << ' '
          << v("redis_multi") << ' ' << v("rideshard") << "\n";
    }
  dat << "\n\n# case redis_p50 redis_p99 rideshard_p50 rideshard_p99\n";
  for (std::size_t n : o.drivers)
    for (int i = 2; i < 6; ++i) {
      const auto* r = find(sum, n, scenarios[i], "redis");
      const auto* s = find(sum, n, scenarios[i], "rideshard");
      dat << '"' << scenarios[i] << ' ' << size_label(n) << "\" " << (r ? r->p50_us : 0) << ' '
          << (r ? r->p99_us : 0) << ' ' << (s ? s->p50_us : 0) << ' ' << (s ? s->p99_us : 0)
          << "\n";
    }
  dat.close();
  std::ofstream gp(base + ".gp");
  gp << "set terminal pngcairo noenhanced size 1400,1000 font 'sans,10'\n"
     << "set output '" << base << ".png'\n"
     << "set multiplot layout 2,1 title 'rideshard vs Redis " << rep.redis_version << " GEO ("
     << o.clients << " clients x " << o.depth << " in flight, medians of " << o.runs << " runs, "
     << std::min(o.runs, o.large_runs) << " at 1M)'\n"
     << "set style data histogram\nset style histogram cluster gap 1\n"
     << "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset logscale y\n"
     << "set grid ytics\nset xtics rotate by -20\nset key top left\n"
     << "set title 'throughput (updates/s or queries/s, log scale)'\n"
     << "plot '" << base << ".dat' index 0 using 2:xtic(1) title 'Redis GEOADD/GEOSEARCH', "
     << "'' index 0 using 3 title 'Redis GEOADD " << o.redis_members << " members', "
     << "'' index 0 using 4 title 'rideshard'\n"
     << "set title 'latency per request, microseconds (log scale)'\n"
     << "plot '" << base << ".dat' index 1 using 2:xtic(1) title 'Redis p50', "
     << "'' index 1 using 3 title 'Redis p99', '' index 1 using 4 title 'rideshard p50', "
     << "'' index 1 using 5 title 'rideshard p99'\n"
     << "unset multiplot\n";
  gp.close();
  written.push_back(base + ".gp");
  if (run_capture({"gnuplot", base + ".gp"}, std::chrono::milliseconds(30000)))
    written.push_back(base + ".png");
  return written;
}

}  // namespace rideshard::peer
