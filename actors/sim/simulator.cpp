// run_simulation: io_context threads, paced spawning of clients, progress, stop.
#include "sim/simulator.hpp"

#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "sim/ack_audit.hpp"
#include "sim/driver_client.hpp"
#include "sim/rider_client.hpp"

namespace rideshard::sim {

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

result<void> check(const sim_options& o) {
  if (o.drivers < 0 || o.drivers > 200'000) return {errc::invalid_argument, "--drivers 0..200000"};
  if (o.riders_per_minute < 0) return {errc::invalid_argument, "--riders-per-minute >= 0"};
  if (!(o.duration_s > 0) || o.duration_s > 24 * 3600)
    return {errc::invalid_argument, "--duration-s in (0, 86400]"};
  if (o.drain_s < 0 || o.drain_s > 3600) return {errc::invalid_argument, "--drain-s 0..3600"};
  if (!(o.time_scale > 0) || o.time_scale > 3600)
    return {errc::invalid_argument, "--time-scale in (0, 3600]"};
  if (o.accept_probability < 0 || o.accept_probability > 1 || o.cancel_probability < 0 ||
      o.cancel_probability > 1)
    return {errc::invalid_argument, "probabilities must be in [0, 1]"};
  if (o.update_interval_s < 0.2 || o.update_interval_s > 60)
    return {errc::invalid_argument, "--update-interval-s 0.2..60 (the node allows 50 frames/s)"};
  if (o.threads < 1 || o.threads > 64) return {errc::invalid_argument, "--threads 1..64"};
  if (o.max_riders < 1) return {errc::invalid_argument, "--max-riders >= 1"};
  if (!(o.connect_rate_per_s > 0)) return {errc::invalid_argument, "--connect-rate > 0"};
  if (o.rider_delay_s < 0) return {errc::invalid_argument, "--rider-delay-s >= 0"};
  if (o.card_share < 0 || o.card_share > 1)
    return {errc::invalid_argument, "--card-share must be in [0, 1]"};
  return {};
}

/// The io_context threads and the clients living on them.
class client_pool {
 public:
  explicit client_pool(int threads) {
    for (int i = 0; i < threads; ++i) {
      ioc_.push_back(std::make_unique<net::io_context>(1));
      guards_.emplace_back(net::make_work_guard(*ioc_.back()));
      clients_.emplace_back();
    }
    for (auto& c : ioc_) threads_.emplace_back([&io = *c] { io.run(); });
  }
  ~client_pool() { stop(); }

  net::io_context& next() { return *ioc_[rr_ % ioc_.size()]; }

  /// Starts a client on the io_context it was built with (that of next()).
  void start(std::shared_ptr<ws_client> c) {
    const std::size_t i = rr_++ % ioc_.size();
    net::post(*ioc_[i], [this, i, c = std::move(c)] {
      auto& list = clients_[i];
      // Forget clients that are gone so the list stays as long as the live set.
      if (list.size() > 64 && list.size() % 64 == 0)
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [](const std::weak_ptr<ws_client>& w) { return w.expired(); }),
                   list.end());
      list.push_back(c);
      c->start();
    });
  }

  void close_all() {
    for (std::size_t i = 0; i < ioc_.size(); ++i)
      net::post(*ioc_[i], [this, i] {
        for (auto& w : clients_[i])
          if (auto c = w.lock()) c->close();
      });
  }

  void stop() {
    guards_.clear();
    for (auto& c : ioc_) c->stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    clients_.clear();
  }

 private:
  std::vector<std::unique_ptr<net::io_context>> ioc_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::vector<std::vector<std::weak_ptr<ws_client>>> clients_;  // [i]: only on thread i
  std::vector<std::thread> threads_;
  std::size_t rr_ = 0;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace

result<sim_report> run_simulation(const sim_options& opts, const region& reg, std::FILE* progress) {
  if (auto ok = check(opts); !ok) return ok.err();
  net::io_context resolve_ioc;
  net::ip::tcp::resolver resolver(resolve_ioc);
  std::vector<net::ip::tcp::endpoint> nodes;
  std::vector<std::pair<std::string, std::string>> all{{opts.host, opts.port}};
  all.insert(all.end(), opts.more_nodes.begin(), opts.more_nodes.end());
  for (const auto& [host, port] : all) {
    boost::system::error_code ec;
    auto resolved = resolver.resolve(host, port, ec);
    if (ec || resolved.empty()) return {errc::unavailable, "cannot resolve " + host + ":" + port};
    nodes.push_back(resolved.begin()->endpoint());
  }
  auto tokens = auth::token_authority::create(opts.jwt_secret, std::string(auth::default_issuer),
                                              auth::system_unix_seconds);
  if (!tokens) return tokens.err();

  sim_stats stats;
  trip_board board;
  const sim_context ctx{opts, reg, *tokens, stats, board, nodes};
  sim_report report;
  report.drivers_target = opts.drivers;

  std::mt19937_64 rng(opts.seed);
  const double base_weight = demand_weight(reg, opts.start_hour);
  auto riders_per_s = [&](double t) {
    const double hour = opts.start_hour + t * opts.time_scale / 3600;
    return opts.riders_per_minute / 60 * demand_weight(reg, hour) / base_weight;
  };
  auto next_gap = [&](double rate) {
    return rate <= 0 ? 1e9 : std::exponential_distribution<double>(rate)(rng);
  };

  {
    client_pool pool(opts.threads);
    const auto t0 = clock_type::now();
    int drivers_started = 0;
    std::uint64_t riders_started = 0;
    double next_rider = opts.rider_delay_s + next_gap(riders_per_s(0));
    double next_progress = 1;
    std::uint64_t last_samples = 0, last_requests = 0;
    double last_progress_t = 0;
    double load_end = opts.duration_s;
    bool draining = false;
    for (;;) {
      const double t = seconds_since(t0);
      if (!draining && t >= opts.duration_s) {
        draining = true;
        load_end = t;
      }
      if (draining && (stats.trips_active.load() <= 0 || t >= opts.duration_s + opts.drain_s))
        break;
      // Drivers ramp up at connect_rate so the node's accept loop is not flooded.
      const int due =
          std::min<int>(opts.drivers, static_cast<int>(t * opts.connect_rate_per_s) + 1);
      for (; !draining && drivers_started < due; ++drivers_started)
        pool.start(std::make_shared<driver_client>(pool.next(), ctx, drivers_started));
      for (; !draining && t >= next_rider; next_rider += next_gap(riders_per_s(t))) {
        if (static_cast<int>(stats.riders_connected.load()) >= opts.max_riders) {
          ++stats.riders_skipped;
          continue;
        }
        ++stats.riders_spawned;
        pool.start(std::make_shared<rider_client>(pool.next(), ctx, riders_started++));
      }
      const std::uint64_t conns = stats.drivers_connected + stats.riders_connected;
      report.peak_connections = std::max(report.peak_connections, conns);
      if (t >= next_progress) {
        const std::uint64_t samples = stats.location_samples, requests = stats.requests;
        if (progress) {
          std::fprintf(progress, "%s%s\n",
                       progress_line(t, stats, t - last_progress_t, samples - last_samples,
                                     requests - last_requests)
                           .c_str(),
                       draining ? " (draining)" : "");
          std::fflush(progress);
        }
        last_samples = samples;
        last_requests = requests;
        last_progress_t = t;
        next_progress += 1;
        if (opts.on_tick) opts.on_tick(t, stats);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // pacing tick
    }
    // Close every connection; give the close handshakes a bounded moment.
    pool.close_all();
    const auto close_start = clock_type::now();
    while (stats.drivers_connected + stats.riders_connected > 0 && seconds_since(close_start) < 3)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    pool.stop();
    report.wall_s = seconds_since(t0);
    report.load_s = load_end;
  }
  report.samples = stats.snapshot();
  fill_counters(stats, report);
  if (opts.audit) {
    if (progress) {
      std::fprintf(progress, "auditing what %zu trips' clients were told...\n",
                   board.acknowledged().size());
      std::fflush(progress);
    }
    report.audit = audit_acknowledged(board.acknowledged(), nodes, *tokens);
  }
  for (const auto& f : board.first_offers())
    report.first_offers.emplace_back(f.unix_ms, f.trip.value);
  return report;
}

}  // namespace rideshard::sim
