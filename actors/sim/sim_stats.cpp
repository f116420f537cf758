// sim_stats: counters, sample vectors, the progress line, summary and JSON.
#include "sim/sim_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rideshard::sim {

namespace {
constexpr std::size_t max_samples = 1'000'000;  // bounded memory on long runs

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
}  // namespace

bool expected_race(errc code) noexcept {
  switch (code) {
    case errc::offer_expired:
    case errc::not_offered_to_driver:
    case errc::illegal_transition:
    case errc::driver_busy:
    case errc::no_driver_available:
    case errc::unknown_trip:
      return true;
    default:
      return false;
  }
}

void sim_stats::error(errc code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++errors_[static_cast<std::size_t>(code) & 0xff];
}

void sim_stats::offer_latency_us(double us) {
  std::lock_guard<std::mutex> lock(mu_);
  if (latency_us_.size() < max_samples) latency_us_.push_back(us);
}

void sim_stats::clear_latency() {
  std::lock_guard<std::mutex> lock(mu_);
  latency_us_.clear();
}

void sim_stats::pickup_eta_s(double s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pickup_eta_s_.size() < max_samples) pickup_eta_s_.push_back(s);
}

void sim_stats::match_wait_s(double s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (match_wait_s_.size() < max_samples) match_wait_s_.push_back(s);
}

void sim_stats::reconnect_s(double s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reconnect_s_.size() < max_samples) reconnect_s_.push_back(s);
}

void sim_stats::surge(std::uint32_t per_mille) {
  std::lock_guard<std::mutex> lock(mu_);
  if (surge_min_ == 0 || per_mille < surge_min_) surge_min_ = per_mille;
  surge_max_ = std::max(surge_max_, per_mille);
}

sim_stats::snapshot_t sim_stats::snapshot() const {
  snapshot_t s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.latency_us = latency_us_;
    s.pickup_eta_s = pickup_eta_s_;
    s.match_wait_s = match_wait_s_;
    s.reconnect_s = reconnect_s_;
    s.surge_min = surge_min_;
    s.surge_max = surge_max_;
    for (std::size_t i = 0; i < errors_.size(); ++i) {
      if (errors_[i] == 0) continue;
      const auto code = static_cast<errc>(i);
      s.errors.emplace_back(std::string(to_string(code)), errors_[i]);
      (expected_race(code) ? s.race_errors : s.protocol_errors) += errors_[i];
    }
  }
  std::sort(s.latency_us.begin(), s.latency_us.end());
  std::sort(s.pickup_eta_s.begin(), s.pickup_eta_s.end());
  std::sort(s.match_wait_s.begin(), s.match_wait_s.end());
  std::sort(s.reconnect_s.begin(), s.reconnect_s.end());
  return s;
}

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto n = sorted.size();
  auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  i = std::min(n, std::max<std::size_t>(1, i));
  return sorted[i - 1];
}

void fill_counters(const sim_stats& s, sim_report& r) {
  r.counters = {{"connects", s.connects},
                {"connect_failures", s.connect_failures},
                {"disconnects", s.disconnects},
                {"reconnects", s.reconnects},
                {"reconnect_failures", s.reconnect_failures},
                {"resumed_trips", s.resumed_trips},
                {"requests_in_doubt", s.requests_in_doubt},
                {"frames_sent", s.frames_sent},
                {"frames_received", s.frames_received},
                {"outbox_drops", s.outbox_drops},
                {"location_samples", s.location_samples},
                {"riders_spawned", s.riders_spawned},
                {"riders_skipped", s.riders_skipped},
                {"quotes", s.quotes},
                {"requests", s.requests},
                {"offers", s.offers},
                {"accepts", s.accepts},
                {"declines", s.declines},
                {"matched", s.matched},
                {"arrived", s.arrived},
                {"started", s.started},
                {"completed", s.completed},
                {"rider_cancels", s.rider_cancels},
                {"cancelled", s.cancelled},
                {"expired", s.expired},
                {"no_driver", s.no_driver},
                {"pin_missing", s.pin_missing},
                {"receipts", s.receipts},
                {"cards_added", s.cards_added},
                {"cards_refused", s.cards_refused}};
}

std::uint64_t sim_report::count(const std::string& name) const {
  for (const auto& [k, v] : counters)
    if (k == name) return v;
  return 0;
}

std::string progress_line(double elapsed_s, const sim_stats& s, double dt_s,
                          std::uint64_t samples_delta, std::uint64_t requests_delta) {
  const auto snap = s.snapshot();
  const double req = static_cast<double>(s.requests.load());
  const double matched_pct = req > 0 ? 100.0 * static_cast<double>(s.matched.load()) / req : 0;
  char line[512];
  std::snprintf(line, sizeof line,
                "[%5.1fs] conn %llu drivers + %llu riders | updates/s %.0f | requests/s %.1f | "
                "matched %.0f%% | req->offer p50 %.2f ms p99 %.2f ms | pickup ETA %.0f s | "
                "surge %.2f-%.2fx | done %llu",
                elapsed_s, static_cast<unsigned long long>(s.drivers_connected.load()),
                static_cast<unsigned long long>(s.riders_connected.load()),
                static_cast<double>(samples_delta) / dt_s,
                static_cast<double>(requests_delta) / dt_s, matched_pct,
                quantile(snap.latency_us, 0.5) / 1000, quantile(snap.latency_us, 0.99) / 1000,
                mean(snap.pickup_eta_s), snap.surge_min / 1000.0, snap.surge_max / 1000.0,
                static_cast<unsigned long long>(s.completed.load()));
  return line;
}

void print_summary(std::FILE* out, const sim_report& r) {
  const auto& l = r.samples.latency_us;
  const auto& e = r.samples.pickup_eta_s;
  const double req = static_cast<double>(r.count("requests"));
  auto n = [&](const char* k) { return static_cast<unsigned long long>(r.count(k)); };
  std::fprintf(out, "rideshard simulate: %.1f s (%.1f s load), %d drivers, peak %llu connections\n",
               r.wall_s, r.load_s, r.drivers_target,
               static_cast<unsigned long long>(r.peak_connections));
  std::fprintf(out, "  connections   %llu opened, %llu failed, %llu outbox drops\n", n("connects"),
               n("connect_failures"), n("outbox_drops"));
  std::fprintf(out, "  locations     %llu samples sent (%.0f/s)\n", n("location_samples"),
               static_cast<double>(r.count("location_samples")) / r.wall_s);
  std::fprintf(out,
               "  riders        %llu spawned (%llu skipped at the cap), %llu quotes, %llu requests "
               "(%.1f/s)\n",
               n("riders_spawned"), n("riders_skipped"), n("quotes"), n("requests"),
               req / r.load_s);
  std::fprintf(out,
               "  dispatch      %llu offers, %llu accepted, %llu declined; %llu matched (%.1f%% of "
               "requests), %llu no driver, %llu expired\n",
               n("offers"), n("accepts"), n("declines"), n("matched"),
               req > 0 ? 100.0 * static_cast<double>(r.count("matched")) / req : 0.0,
               n("no_driver"), n("expired"));
  std::fprintf(
      out,
      "  trips         %llu arrived, %llu started, %llu completed, %llu cancelled (%llu by "
      "riders), %llu receipts\n",
      n("arrived"), n("started"), n("completed"), n("cancelled"), n("rider_cancels"),
      n("receipts"));
  std::fprintf(out,
               "  cards         %llu sandbox test cards added (POST /api/payments/methods), %llu "
               "refused\n",
               n("cards_added"), n("cards_refused"));
  std::fprintf(out,
               "  req->offer    n=%zu p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms "
               "(client-side)\n",
               l.size(), quantile(l, 0.5) / 1000, quantile(l, 0.9) / 1000, quantile(l, 0.99) / 1000,
               l.empty() ? 0.0 : l.back() / 1000);
  std::fprintf(out, "  pickup ETA    mean %.0f s, p95 %.0f s (n=%zu)\n", mean(e), quantile(e, 0.95),
               e.size());
  const auto& w = r.samples.match_wait_s;
  std::fprintf(out,
               "  wait to match mean %.1f s, p95 %.1f s (n=%zu; wall clock, request -> accepted)\n",
               mean(w), quantile(w, 0.95), w.size());
  std::fprintf(out, "  surge         %.2fx - %.2fx\n", r.samples.surge_min / 1000.0,
               r.samples.surge_max / 1000.0);
  if (r.count("disconnects") > 0 || r.count("reconnects") > 0) {
    const auto& rc = r.samples.reconnect_s;
    std::fprintf(out,
                 "  reconnects    %llu (%llu gave up), %llu trips resumed, %llu requests in "
                 "doubt; drop -> open again p50 %.1f s, max %.1f s\n",
                 n("reconnects"), n("reconnect_failures"), n("resumed_trips"),
                 n("requests_in_doubt"), quantile(rc, 0.5), rc.empty() ? 0.0 : rc.back());
  }
  if (r.audit) {
    const auto& a = *r.audit;
    std::fprintf(out,
                 "  audit         %llu trips told to clients: %llu acknowledged states lost, %llu "
                 "double assignments, %llu unanswered\n",
                 static_cast<unsigned long long>(a.trips),
                 static_cast<unsigned long long>(a.acknowledged_lost),
                 static_cast<unsigned long long>(a.double_assignments),
                 static_cast<unsigned long long>(a.unreachable));
    for (const auto& ex : a.lost_examples) std::fprintf(out, "    lost %s\n", ex.c_str());
  }
  std::fprintf(out, "  errors        %llu protocol, %llu expected races",
               static_cast<unsigned long long>(r.samples.protocol_errors),
               static_cast<unsigned long long>(r.samples.race_errors));
  for (const auto& [name, c] : r.samples.errors)
    std::fprintf(out, " %s=%llu", name.c_str(), static_cast<unsigned long long>(c));
  std::fputc('\n', out);
}

bool write_json(const std::string& path, const sim_report& r) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "rideshard simulate: cannot write %s\n", path.c_str());
    return false;
  }
  const auto& l = r.samples.latency_us;
  const auto& e = r.samples.pickup_eta_s;
  std::fprintf(f, "{\n  \"wall_s\": %.3f,\n  \"load_s\": %.3f,\n  \"drivers\": %d,\n", r.wall_s,
               r.load_s, r.drivers_target);
  std::fprintf(f, "  \"peak_connections\": %llu,\n",
               static_cast<unsigned long long>(r.peak_connections));
  std::fprintf(f, "  \"counters\": {");
  for (std::size_t i = 0; i < r.counters.size(); ++i)
    std::fprintf(f, "%s\n    \"%s\": %llu", i ? "," : "", r.counters[i].first.c_str(),
                 static_cast<unsigned long long>(r.counters[i].second));
  std::fprintf(f, "\n  },\n");
  std::fprintf(f,
               "  \"request_to_offer_ms\": {\"count\": %zu, \"p50\": %.3f, \"p90\": %.3f, "
               "\"p99\": %.3f, \"max\": %.3f},\n",
               l.size(), quantile(l, 0.5) / 1000, quantile(l, 0.9) / 1000, quantile(l, 0.99) / 1000,
               l.empty() ? 0.0 : l.back() / 1000);
  std::fprintf(f, "  \"pickup_eta_s\": {\"count\": %zu, \"mean\": %.1f, \"p95\": %.1f},\n",
               e.size(), mean(e), quantile(e, 0.95));
  const auto& w = r.samples.match_wait_s;
  std::fprintf(f, "  \"wait_to_match_s\": {\"count\": %zu, \"mean\": %.3f, \"p95\": %.3f},\n",
               w.size(), mean(w), quantile(w, 0.95));
  std::fprintf(f, "  \"surge\": {\"min\": %.3f, \"max\": %.3f},\n", r.samples.surge_min / 1000.0,
               r.samples.surge_max / 1000.0);
  const auto& rc = r.samples.reconnect_s;
  std::fprintf(f, "  \"reconnect_s\": {\"count\": %zu, \"p50\": %.3f, \"max\": %.3f},\n", rc.size(),
               quantile(rc, 0.5), rc.empty() ? 0.0 : rc.back());
  if (r.audit)
    std::fprintf(f,
                 "  \"audit\": {\"trips\": %llu, \"acknowledged_lost\": %llu, "
                 "\"double_assignments\": %llu, \"unanswered\": %llu},\n",
                 static_cast<unsigned long long>(r.audit->trips),
                 static_cast<unsigned long long>(r.audit->acknowledged_lost),
                 static_cast<unsigned long long>(r.audit->double_assignments),
                 static_cast<unsigned long long>(r.audit->unreachable));
  std::fprintf(f, "  \"errors\": {\"protocol\": %llu, \"expected_races\": %llu, \"by_code\": {",
               static_cast<unsigned long long>(r.samples.protocol_errors),
               static_cast<unsigned long long>(r.samples.race_errors));
  for (std::size_t i = 0; i < r.samples.errors.size(); ++i)
    std::fprintf(f, "%s\"%s\": %llu", i ? ", " : "", r.samples.errors[i].first.c_str(),
                 static_cast<unsigned long long>(r.samples.errors[i].second));
  std::fprintf(f, "}}\n}\n");
  const bool ok = std::fclose(f) == 0;
  if (!ok) std::fprintf(stderr, "rideshard simulate: error writing %s\n", path.c_str());
  return ok;
}

}  // namespace rideshard::sim
