// report_files: geo_peer.json, geo_peer.csv and the gnuplot PNG, each naming
// every peer's configuration.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "peer/child_process.hpp"
#include "peer/report.hpp"

namespace rideshard::peer {

namespace {

const peer_setup* setup_of(const std::vector<peer_setup>& peers, const std::string& system) {
  for (const auto& p : peers)
    if (p.system == system) return &p;
  return nullptr;
}

nlohmann::json peers_json(const std::vector<peer_setup>& peers, const std::string& redis_version) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : peers)
    out.push_back(
        {{"system", p.system},
         {"label", p.label},
         {"server",
          p.system == "rideshard" ? p.server : "Redis " + redis_version + ", " + p.server},
         {"persistence", p.system == "rideshard" ? "RocksDB data dir; positions in memory" : "off"},
         {"connections", p.connections},
         {"requests_in_flight_per_connection", p.in_flight},
         {"ingest_request", p.ingest},
         {"ingest_updates_per_request", p.ingest_items},
         {"nearby_request", p.nearby},
         {"nearby_queries_per_request", p.nearby_items},
         {"probe", p.probe}});
  return out;
}

nlohmann::json to_json(const bench_options& o, const bench_report& rep,
                       const std::vector<summary_row>& sum, const std::vector<peer_setup>& peers) {
  nlohmann::json j;
  j["config"] = {{"drivers", o.drivers},
                 {"runs", o.runs},
                 {"large_runs", o.large_runs},
                 {"clients", o.clients},
                 {"depth", o.depth},
                 {"fleet_batch", o.fleet_batch},
                 {"redis_members", o.redis_members},
                 {"nearby_batch", o.nearby_batch},
                 {"redis_pipeline", o.redis_pipeline},
                 {"queries", o.queries},
                 {"large_queries", o.large_queries},
                 {"nearby_seconds", o.nearby_seconds},
                 {"radius_m", o.radius_m},
                 {"k", o.k},
                 {"seed", o.seed}};
  j["redis_version"] = rep.redis_version;
  j["peers"] = peers_json(peers, rep.redis_version);
  for (const auto& m : rep.rows)
    j["runs"].push_back({{"drivers", m.drivers},
                         {"scenario", m.scenario},
                         {"system", m.system},
                         {"run", m.run},
                         {"per_s", m.per_s},
                         {"p50_us", m.p50_us},
                         {"p99_us", m.p99_us},
                         {"server_cpu_us_per_item", m.server_cpu_us_per_item},
                         {"items", m.items},
                         {"errors", m.errors},
                         {"unanswered", m.unanswered},
                         {"aborted", m.aborted},
                         {"request", m.note}});
  for (const auto& s : sum) {
    nlohmann::json row = {{"drivers", s.drivers},
                          {"scenario", s.scenario},
                          {"system", s.system},
                          {"runs", s.runs},
                          {"per_s", s.per_s},
                          {"per_s_min", s.per_s_min},
                          {"per_s_max", s.per_s_max},
                          {"per_run", s.per_run},
                          {"p50_us", s.p50_us},
                          {"p99_us", s.p99_us},
                          {"errors", s.errors},
                          {"request", s.note},
                          {"server_cpu_us_per_item", s.cpu_us_per_item}};
    if (s.system != "rideshard") {
      if (double r = rideshard_ratio(sum, s.drivers, s.scenario, s.system); r > 0)
        row["rideshard_over_this"] = r;
      if (!s.run_ratios.empty()) {
        row["rideshard_over_this_per_run"] = s.run_ratios;
        row["rideshard_over_this_per_run_median"] = s.run_ratio_median;
      }
    } else if (auto t = target_verdict(sum, s.drivers, s.scenario); !t.empty()) {
      row["target"] = t;
    }
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
  return j;
}

std::string quoted(std::string s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void write_csv(const std::string& path, const std::vector<summary_row>& sum,
               const std::vector<peer_setup>& peers) {
  std::ofstream csv(path);
  csv << "drivers,scenario,system,runs,median_per_s,min_per_s,max_per_s,median_p50_us,"
         "median_p99_us,errors,rideshard_over_this,rideshard_over_this_per_run_median,"
         "connections,requests_in_flight_per_connection,"
         "items_per_request,request,server\n";
  for (const auto& s : sum) {
    const auto* p = setup_of(peers, s.system);
    const bool ingest = s.scenario.rfind("ingest", 0) == 0;
    const bool probe = s.scenario.rfind("probe", 0) == 0;
    const std::size_t items = p == nullptr ? 0
                              : probe      ? 1
                              : ingest     ? p->ingest_items
                                           : p->nearby_items;
    csv << s.drivers << ',' << s.scenario << ',' << s.system << ',' << s.runs << ',' << s.per_s
        << ',' << s.per_s_min << ',' << s.per_s_max << ',' << s.p50_us << ',' << s.p99_us << ','
        << s.errors << ',';
    if (s.system != "rideshard") csv << rideshard_ratio(sum, s.drivers, s.scenario, s.system);
    csv << ',';
    if (s.system != "rideshard") csv << s.run_ratio_median;
    csv << ',' << (p ? (probe ? 1 : p->connections) : 0) << ','
        << (p ? (probe ? 1 : p->in_flight) : 0) << ',' << items << ',' << quoted(s.note) << ','
        << quoted(p ? p->server : "") << "\n";
  }
}

// gnuplot data: throughput per case (ratios in the tick labels), latency per case.
// '?' marks a missing value (gnuplot skips it instead of plotting log(0)).
void write_plot_data(const std::string& path, const bench_options& o,
                     const std::vector<summary_row>& sum) {
  std::ofstream dat(path);
  auto value = [](const summary_row* r, double summary_row::*f) {
    return r != nullptr && r->*f > 0 ? std::to_string(r->*f) : std::string("?");
  };
  dat << "# case redis redis_1member rideshard\n";
  for (std::size_t n : o.drivers)
    for (const std::string sc : throughput_cases) {
      const double r = rideshard_ratio(sum, n, sc, "redis");
      const double r1 = rideshard_ratio(sum, n, sc, "redis_1member");
      char ratio[64] = "";
      if (r > 0 && r1 > 0)
        std::snprintf(ratio, sizeof ratio, "%.1fx Redis\\n%.1fx 1 member/cmd", r, r1);
      else if (r > 0)
        std::snprintf(ratio, sizeof ratio, "%.1fx Redis", r);
      char label[128];
      std::snprintf(label, sizeof label, "%s %s\\n%s", sc.c_str(), size_label(n).c_str(), ratio);
      dat << '"' << label << "\" " << value(find_row(sum, n, sc, "redis"), &summary_row::per_s)
          << ' ' << value(find_row(sum, n, sc, "redis_1member"), &summary_row::per_s) << ' '
          << value(find_row(sum, n, sc, "rideshard"), &summary_row::per_s) << "\n";
    }
  dat << "\n\n# case redis_p50 redis_p99 rideshard_p50 rideshard_p99\n";
  for (std::size_t n : o.drivers)
    for (const std::string sc : latency_cases) {
      const auto* r = find_row(sum, n, sc, "redis");
      const auto* s = find_row(sum, n, sc, "rideshard");
      dat << '"' << sc << ' ' << size_label(n) << "\" " << value(r, &summary_row::p50_us) << ' '
          << value(r, &summary_row::p99_us) << ' ' << value(s, &summary_row::p50_us) << ' '
          << value(s, &summary_row::p99_us) << "\n";
    }
}

// Two panels; each legend sits above its panel (inside, it covered the bars).
void write_plot_script(const std::string& base, const bench_options& o, const bench_report& rep,
                       const std::vector<peer_setup>& peers) {
  const auto label = [&](const char* sys) {
    const auto* p = setup_of(peers, sys);
    return p ? p->label : std::string(sys);
  };
  std::ofstream gp(base + ".gp");
  gp << "set terminal pngcairo noenhanced size 1500,1200 font 'sans,10'\n"
     << "set output '" << base << ".png'\n"
     << "set datafile missing '?'\n"
     // The overall title is a screen label and the panels are placed by hand:
     // a multiplot title overlapped the first panel's key.
     << "set multiplot\n"
     << "set label 1 'rideshard vs Redis " << rep.redis_version
     << " GEO (Redis persistence off), same data and load generator: " << o.clients
     << " connections x " << o.depth << " requests in flight per peer; medians of " << o.runs
     << " runs (" << std::min(o.runs, o.large_runs)
     << " at 1M)' at screen 0.5, screen 0.985 center font 'sans,11'\n"
     << "set size 1, 0.48\nset origin 0, 0.49\n"
     << "set style data histogram\nset style histogram cluster gap 1\n"
     << "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset logscale y\n"
     << "set grid ytics\nset xtics nomirror\n"
     << "set tmargin 7\nset bmargin 5\n"  // room for the key above and 3-line tick labels
     << "set key above left vertical Left reverse maxrows 3 box\n"
     << "set title 'throughput: updates/s (ingest) or queries/s (nearby), log scale; tick "
        "label: rideshard / Redis baseline'\n"
     << "plot '" << base << ".dat' index 0 using 2:xtic(1) title '" << label("redis")
     << "' lc rgb '#c0392b', '' index 0 using 3 title '" << label("redis_1member")
     << " (ingest only, not the baseline)' lc rgb '#f1948a', '' index 0 using 4 title '"
     << label("rideshard") << "' lc rgb '#2471a3'\n"
     << "set title 'latency per request, microseconds, log scale (nearby: under load, one "
        "request = "
     << o.redis_pipeline << " GEOSEARCH or one frame of " << o.nearby_batch
     << " queries; probe: 1 query, 1 in flight)'\n"
     << "unset label 1\nset origin 0, 0\n"
     << "set key above left horizontal Left reverse box\n"
     << "plot '" << base << ".dat' index 1 using 2:xtic(1) title 'Redis p50' lc rgb '#c0392b', "
     << "'' index 1 using 3 title 'Redis p99' lc rgb '#f1948a', "
     << "'' index 1 using 4 title 'rideshard p50' lc rgb '#2471a3', "
     << "'' index 1 using 5 title 'rideshard p99' lc rgb '#85c1e9'\n"
     << "unset multiplot\n";
}

}  // namespace

std::vector<std::string> write_outputs(const bench_options& o, const bench_report& rep,
                                       const std::vector<summary_row>& sum) {
  std::vector<std::string> written;
  const std::string base = o.out_dir + "/geo_peer";
  const auto peers = describe_peers(o, o.paths.node_config);
  std::ofstream(base + ".json") << to_json(o, rep, sum, peers).dump(2) << "\n";
  written.push_back(base + ".json");
  write_csv(base + ".csv", sum, peers);
  written.push_back(base + ".csv");
  write_plot_data(base + ".dat", o, sum);
  write_plot_script(base, o, rep, peers);
  written.push_back(base + ".gp");
  if (run_capture({"gnuplot", base + ".gp"}, std::chrono::milliseconds(30000)))
    written.push_back(base + ".png");
  return written;
}

}  // namespace rideshard::peer
