// load_report: per-run lines, the median table against the issue-3 targets, JSON.
#include "load_report.hpp"

#include <algorithm>

namespace rideshard::load {

namespace {

constexpr double target_p99_ms = 5;
constexpr double target_bytes_per_conn = 16 * 1024;

using field_fn = std::function<double(const run_figures&)>;

struct column {
  const char* name;
  field_fn get;
};

std::vector<column> columns() {
  return {
      {"client_p50_ms", [](const run_figures& r) { return r.client_p50; }},
      {"client_p90_ms", [](const run_figures& r) { return r.client_p90; }},
      {"client_p99_ms", [](const run_figures& r) { return r.client_p99; }},
      {"client_max_ms", [](const run_figures& r) { return r.client_max; }},
      {"client_samples", [](const run_figures& r) { return double(r.client_samples); }},
      {"node_p50_ms", [](const run_figures& r) { return r.node_p50; }},
      {"node_p90_ms", [](const run_figures& r) { return r.node_p90; }},
      {"node_p99_ms", [](const run_figures& r) { return r.node_p99; }},
      {"node_mean_ms", [](const run_figures& r) { return r.node_mean; }},
      {"node_within_5ms", [](const run_figures& r) { return r.node_within_5ms; }},
      {"node_count", [](const run_figures& r) { return r.node_count; }},
      {"requests_per_s", [](const run_figures& r) { return r.requests_per_s; }},
      {"updates_per_s", [](const run_figures& r) { return r.updates_per_s; }},
      {"drivers_connected", [](const run_figures& r) { return double(r.drivers_connected); }},
      {"connections_end", [](const run_figures& r) { return double(r.connections_end); }},
      {"rss_before_bytes", [](const run_figures& r) { return double(r.rss_before); }},
      {"rss_connected_bytes", [](const run_figures& r) { return double(r.rss_connected); }},
      {"rss_end_bytes", [](const run_figures& r) { return double(r.rss_end); }},
      {"bytes_per_connection", [](const run_figures& r) { return r.bytes_per_connection; }},
      {"bytes_per_connection_end", [](const run_figures& r) { return r.bytes_per_connection_end; }},
      {"node_cpu_pct", [](const run_figures& r) { return r.node_cpu_pct; }},
      {"client_cpu_pct", [](const run_figures& r) { return r.client_cpu_pct; }},
      {"machine_busy_pct", [](const run_figures& r) { return r.machine_busy_pct; }},
      {"load1", [](const run_figures& r) { return r.load1; }},
      {"node_wait_pct", [](const run_figures& r) { return r.node_wait_pct; }},
      {"node_fd_limit", [](const run_figures& r) { return double(r.node_fd_limit); }},
      {"requests", [](const run_figures& r) { return double(r.requests); }},
      {"matched", [](const run_figures& r) { return double(r.matched); }},
      {"no_driver", [](const run_figures& r) { return double(r.no_driver); }},
      {"protocol_errors", [](const run_figures& r) { return double(r.protocol_errors); }},
      {"outbox_drops", [](const run_figures& r) { return double(r.outbox_drops); }},
      {"connect_failures", [](const run_figures& r) { return double(r.connect_failures); }},
      {"node_exit", [](const run_figures& r) { return double(r.node_exit); }},
  };
}

const char* verdict(bool met) { return met ? "met" : "MISSED"; }

}  // namespace

double median_of(const std::vector<run_figures>& runs, const field_fn& field) {
  std::vector<double> v;
  for (const auto& r : runs)
    if (r.ok) v.push_back(field(r));
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void print_report(std::FILE* out, const load_shape& s, const std::vector<run_figures>& runs) {
  std::fprintf(out,
               "\ndispatch_load: %d driver connections (1 update / %.0f s each), %.0f ride "
               "requests/s, %.0f s window, time scale %.0f, %d client threads, nice %d\n\n",
               s.drivers, s.update_interval_s, s.requests_per_s, s.measure_s, s.time_scale,
               s.client_threads, s.nice);
  std::fprintf(out,
               "  run  req/s  upd/s  client p50/p99/max ms   node p50/p99 ms  <=5ms  "
               "KB/conn  node%%  client%%  busy%%  load1\n");
  int i = 0;
  std::size_t ok = 0;
  for (const auto& r : runs) {
    ++i;
    if (!r.ok) {
      std::fprintf(out, "  %3d  failed: %s\n", i, r.error.c_str());
      continue;
    }
    ++ok;
    std::fprintf(out,
                 "  %3d  %5.1f  %5.0f  %6.2f / %5.2f / %6.2f   %5.2f / %5.2f   %5.1f%%  %7.2f  "
                 "%5.0f  %7.0f  %5.0f  %5.2f\n",
                 i, r.requests_per_s, r.updates_per_s, r.client_p50, r.client_p99, r.client_max,
                 r.node_p50, r.node_p99, 100 * r.node_within_5ms, r.bytes_per_connection / 1024,
                 r.node_cpu_pct, r.client_cpu_pct, r.machine_busy_pct, r.load1);
  }
  auto med = [&](field_fn f) { return median_of(runs, f); };
  const double cp99 = med([](const run_figures& r) { return r.client_p99; });
  const double np99 = med([](const run_figures& r) { return r.node_p99; });
  const double kb = med([](const run_figures& r) { return r.bytes_per_connection; }) / 1024;
  std::fprintf(out, "\n  medians over %zu of %zu runs                  median      target\n", ok,
               runs.size());
  std::fprintf(out, "  request->offer p50, client-side (ms)       %8.2f\n",
               med([](const run_figures& r) { return r.client_p50; }));
  std::fprintf(out, "  request->offer p90, client-side (ms)       %8.2f\n",
               med([](const run_figures& r) { return r.client_p90; }));
  std::fprintf(out, "  request->offer p99, client-side (ms)       %8.2f      <= 5     %s\n", cp99,
               verdict(cp99 <= target_p99_ms));
  std::fprintf(out, "  request->offer max, client-side (ms)       %8.2f\n",
               med([](const run_figures& r) { return r.client_max; }));
  std::fprintf(out, "  request->offer p99, node histogram (ms)    %8.2f      <= 5     %s\n", np99,
               verdict(np99 <= target_p99_ms));
  std::fprintf(out, "  node observations <= 5 ms (%%)              %8.2f\n",
               100 * med([](const run_figures& r) { return r.node_within_5ms; }));
  std::fprintf(out, "  server memory per connection (KB)          %8.2f      <= 16    %s\n", kb,
               verdict(kb * 1024 <= target_bytes_per_conn));
  std::fprintf(out, "  same, at window end incl. riders/trips (KB)%8.2f\n",
               med([](const run_figures& r) { return r.bytes_per_connection_end; }) / 1024);
  std::fprintf(
      out,
      "  node CPU / client CPU / machine busy (%%)    %5.0f / %4.0f / %4.0f  (200 = both cores)\n",
      med([](const run_figures& r) { return r.node_cpu_pct; }),
      med([](const run_figures& r) { return r.client_cpu_pct; }),
      med([](const run_figures& r) { return r.machine_busy_pct; }));
  std::fprintf(out,
               "  node threads waiting for a CPU (%%)         %8.0f  (run-queue time / wall)\n",
               med([](const run_figures& r) { return r.node_wait_pct; }));
  std::fprintf(out, "  node RLIMIT_NOFILE (inherited)             %8.0f\n",
               med([](const run_figures& r) { return double(r.node_fd_limit); }));
}

bool write_report_json(const std::string& path, const load_shape& s,
                       const std::vector<run_figures>& runs) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "dispatch_load: cannot write %s\n", path.c_str());
    return false;
  }
  std::fprintf(f,
               "{\n  \"bench\": \"dispatch_load\",\n  \"shape\": {\"drivers\": %d, "
               "\"requests_per_s\": %.1f, \"update_interval_s\": %.1f, \"measure_s\": %.1f, "
               "\"time_scale\": %.1f, \"client_threads\": %d, \"runs\": %d, \"nice\": %d},\n",
               s.drivers, s.requests_per_s, s.update_interval_s, s.measure_s, s.time_scale,
               s.client_threads, s.runs, s.nice);
  std::fprintf(f,
               "  \"targets\": {\"request_to_offer_p99_ms\": 5, \"bytes_per_connection\": %.0f},\n",
               target_bytes_per_conn);
  const auto cols = columns();
  std::fprintf(f, "  \"median\": {");
  for (std::size_t i = 0; i < cols.size(); ++i)
    std::fprintf(f, "%s\n    \"%s\": %.4f", i ? "," : "", cols[i].name,
                 median_of(runs, cols[i].get));
  std::fprintf(f, "\n  },\n  \"runs\": [");
  for (std::size_t r = 0; r < runs.size(); ++r) {
    std::fprintf(f, "%s\n    {\"ok\": %s", r ? "," : "", runs[r].ok ? "true" : "false");
    if (!runs[r].ok) {
      std::string e;
      for (char c : runs[r].error) e += (c == '"' || c == '\\') ? '\'' : c;
      std::fprintf(f, ", \"error\": \"%s\"}", e.c_str());
      continue;
    }
    for (const auto& c : cols) std::fprintf(f, ", \"%s\": %.4f", c.name, c.get(runs[r]));
    std::fprintf(f, "}");
  }
  std::fprintf(f, "\n  ]\n}\n");
  const bool ok = std::fclose(f) == 0;
  if (!ok) std::fprintf(stderr, "dispatch_load: error writing %s\n", path.c_str());
  return ok;
}

}  // namespace rideshard::load
