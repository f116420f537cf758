// The deterministic city behind `rideshard quality`: a fixed-step loop that feeds
// generated demand through the real engine pieces and measures the outcome.
#include "rideshard/engine/city_sim.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "city_sim_demand.hpp"

namespace rideshard {
namespace {

constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t retry_after_ms = 5000;

enum class driver_status : std::uint8_t { idle, offered, cooldown, busy };

struct sim_driver {
  driver_id id;
  lat_lng pos;
  driver_status status = driver_status::idle;
  std::int64_t until_ms = 0;  ///< end of cooldown
};

struct sim_trip {
  trip t;
  lat_lng dropoff;
  std::optional<sequential_dispatch> dispatch;  ///< sequential mode only
  std::size_t driver_index = 0;
  double offer_eta_s = 0;
  std::int64_t decision_at_ms = never;  ///< when the offered driver answers
  bool will_accept = false;
  std::int64_t next_step_ms = never;  ///< arrival, boarding or drop-off time
  std::int64_t retry_at_ms = 0;       ///< sequential: next search after finding nobody
  std::int32_t surge_permille = 1000;
  std::uint32_t windows_lost = 0;  ///< batched: windows left out with a driver in reach
};

class city {
 public:
  city(const region& r, const city_sim_config& cfg, spatial_index index, straight_line_eta eta,
       surge_engine surge)
      : r_(r),
        cfg_(cfg),
        index_(std::move(index)),
        eta_(eta),
        surge_(std::move(surge)),
        demand_(r, cfg.seed),
        arrivals_(cfg.seed ^ 0xa441),
        rng_(cfg.seed ^ 0x5eed) {
    report_.mode = cfg.mode;
    report_.currency = r.fare.currency;
  }

  result<city_sim_report> run();

 private:
  result<void> place_drivers();
  result<void> new_requests(std::int64_t now);
  result<void> answer_offers(std::int64_t now);
  result<void> advance_trips(std::int64_t now);
  result<void> dispatch_sequential(std::int64_t now);
  result<void> dispatch_batched(std::int64_t now);
  result<void> make_offer(sim_trip& st, driver_id d, double eta_s, std::int64_t now);
  result<void> expire_requests(std::int64_t now);
  result<void> release(std::size_t driver_index, driver_status to, std::int64_t now);
  result<void> sample_supply(std::int64_t now);
  result<void> step(trip& t, trip_event ev);
  void finish();

  const region& r_;
  city_sim_config cfg_;
  spatial_index index_;
  straight_line_eta eta_;
  surge_engine surge_;
  city_demand demand_;
  std::mt19937_64 arrivals_;  ///< demand only, so both modes see the same riders
  std::mt19937_64 rng_;       ///< driver behaviour
  std::vector<sim_driver> drivers_;
  std::map<std::uint64_t, std::size_t> driver_by_id_;
  std::deque<sim_trip> trips_;       ///< every trip, in request order
  std::vector<std::size_t> active_;  ///< indexes of non-terminal trips
  std::vector<double> pickup_etas_;
  double wait_sum_s_ = 0;
  double match_wait_sum_s_ = 0;
  std::int64_t waits_ = 0;
  std::vector<std::uint64_t> supplied_cells_;
  city_sim_report report_;
};

result<void> city::step(trip& t, trip_event ev) {
  auto tr = apply(t, ev, r_.trip);
  if (!tr) return tr.err();
  return {};
}

result<void> city::place_drivers() {
  drivers_.reserve(cfg_.drivers);
  for (std::size_t i = 0; i < cfg_.drivers; ++i) {
    sim_driver d;
    d.id = driver_id{i + 1};
    d.pos = demand_.driver_start();
    if (auto ok = index_.upsert(d.id, d.pos); !ok) return ok;
    driver_by_id_[d.id.value] = i;
    drivers_.push_back(d);
  }
  return {};
}

result<void> city::new_requests(std::int64_t now) {
  const int hour = static_cast<int>((cfg_.start_hour + now / 3'600'000) % 24);
  const double per_tick = cfg_.peak_requests_per_minute * r_.hourly_demand[hour] *
                          static_cast<double>(cfg_.tick_ms) / 60'000.0;
  const int n = std::poisson_distribution<int>(per_tick)(arrivals_);
  for (int i = 0; i < n; ++i) {
    sim_trip st;
    st.t.id = trip_id{trips_.size() + 1};
    st.t.rider = rider_id{trips_.size() + 1};
    st.t.pickup = demand_.pickup();
    st.dropoff = demand_.dropoff(st.t.pickup);
    st.t.dropoff = st.dropoff;
    st.t.pin = demand_.pin();
    st.t.requested_at_ms = now;
    auto cell = surge_.cell_for(st.t.pickup);
    if (!cell) return cell.err();
    if (auto ok = surge_.record_request(*cell, now); !ok) return ok;
    auto m = surge_.multiplier_permille(*cell, now);
    if (!m) return m.err();
    st.surge_permille = *m;
    report_.surge_min_permille = std::min(report_.surge_min_permille, *m);
    report_.surge_max_permille = std::max(report_.surge_max_permille, *m);
    if (cfg_.mode == matching_mode::sequential) {
      auto d = sequential_dispatch::create(st.t.id, st.t.pickup, r_.sequential);
      if (!d) return d.err();
      st.dispatch.emplace(std::move(*d));
    }
    active_.push_back(trips_.size());
    trips_.push_back(std::move(st));
    ++report_.requests;
  }
  return {};
}

result<void> city::make_offer(sim_trip& st, driver_id d, double eta_s, std::int64_t now) {
  const std::size_t di = driver_by_id_.at(d.value);
  if (auto ok = index_.remove(d); !ok) return ok;
  trip_event ev;
  ev.kind = trip_event_kind::offer;
  ev.at_ms = now;
  ev.driver = d;
  if (auto ok = step(st.t, ev); !ok) return ok;
  drivers_[di].status = driver_status::offered;
  st.driver_index = di;
  st.offer_eta_s = eta_s;
  ++report_.offers;
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng_) < cfg_.no_response_probability) {
    st.decision_at_ms = never;
  } else {
    st.will_accept = u(rng_) < cfg_.accept_probability;
    st.decision_at_ms = now + std::uniform_int_distribution<std::int64_t>(2000, 9000)(rng_);
  }
  return {};
}

result<void> city::release(std::size_t di, driver_status to, std::int64_t now) {
  sim_driver& d = drivers_[di];
  d.status = to;
  if (to == driver_status::cooldown) {
    d.until_ms = now + cfg_.decline_cooldown_ms;
    return {};
  }
  return index_.upsert(d.id, d.pos);
}

result<void> city::answer_offers(std::int64_t now) {
  for (std::size_t ti : active_) {
    sim_trip& st = trips_[ti];
    if (st.t.state != trip_state::offered) continue;
    const driver_id d = drivers_[st.driver_index].id;
    trip_event ev;
    ev.at_ms = now;
    ev.driver = d;
    if (now >= st.decision_at_ms && st.will_accept) {
      ev.kind = trip_event_kind::accept;
      if (auto ok = step(st.t, ev); !ok) return ok;
      if (st.dispatch) (void)st.dispatch->accept(d, now);
      drivers_[st.driver_index].status = driver_status::busy;
      st.next_step_ms = now + static_cast<std::int64_t>(st.offer_eta_s * 1000);
      pickup_etas_.push_back(st.offer_eta_s);
      // The rider's wait: from the request until the driver reaches the pickup.
      wait_sum_s_ += static_cast<double>(st.next_step_ms - st.t.requested_at_ms) / 1000.0;
      match_wait_sum_s_ += static_cast<double>(now - st.t.requested_at_ms) / 1000.0;
      ++waits_;
      ++report_.matched;
    } else if (now >= st.decision_at_ms || now >= st.t.offer_deadline_ms) {
      const bool declined = now >= st.decision_at_ms;
      ev.kind = declined ? trip_event_kind::decline : trip_event_kind::offer_timeout;
      if (auto ok = step(st.t, ev); !ok) return ok;
      if (st.dispatch) {
        auto ok = declined ? st.dispatch->decline(d) : st.dispatch->expire(now);
        if (!ok) return ok;
      }
      if (auto ok = release(st.driver_index, driver_status::cooldown, now); !ok) return ok;
    }
  }
  return {};
}

result<void> city::advance_trips(std::int64_t now) {
  for (std::size_t ti : active_) {
    sim_trip& st = trips_[ti];
    if (now < st.next_step_ms) continue;
    sim_driver& d = drivers_[st.driver_index];
    trip_event ev;
    ev.at_ms = now;
    ev.driver = d.id;
    if (st.t.state == trip_state::accepted) {
      ev.kind = trip_event_kind::arrive;
      d.pos = st.t.pickup;
      st.next_step_ms = now + std::uniform_int_distribution<std::int64_t>(10'000, 60'000)(rng_);
    } else if (st.t.state == trip_state::driver_arrived) {
      ev.kind = trip_event_kind::start;
      ev.pin = st.t.pin;
      st.next_step_ms =
          now + static_cast<std::int64_t>(eta_.estimate_s(st.t.pickup, st.dropoff) * 1000);
    } else if (st.t.state == trip_state::in_progress) {
      ev.kind = trip_event_kind::complete;
      d.pos = st.dropoff;
      const double road_m = distance_m(st.t.pickup, st.dropoff) * r_.eta.detour_factor;
      auto fare = compute_fare(r_.fare, static_cast<std::int64_t>(road_m),
                               (now - st.t.started_at_ms) / 1000, st.surge_permille);
      if (!fare) return fare.err();
      report_.revenue_minor += fare->total_minor;
      ++report_.completed;
      st.next_step_ms = never;
    } else {
      continue;
    }
    if (auto ok = step(st.t, ev); !ok) return ok;
    if (st.t.state == trip_state::completed) {
      if (auto ok = release(st.driver_index, driver_status::idle, now); !ok) return ok;
    }
  }
  return {};
}

result<void> city::dispatch_sequential(std::int64_t now) {
  for (std::size_t ti : active_) {
    sim_trip& st = trips_[ti];
    if (st.t.state != trip_state::requested || now < st.retry_at_ms) continue;
    if (st.dispatch->state() == sequential_dispatch::phase::exhausted) {
      // Nobody within reach: start over with the drivers free now.
      auto d = sequential_dispatch::create(st.t.id, st.t.pickup, r_.sequential);
      if (!d) return d.err();
      st.dispatch.emplace(std::move(*d));
    }
    auto o = st.dispatch->next_offer(index_, eta_, now);
    if (!o) {
      // Nobody free within max radius: look again a little later, as a matcher
      // would on the next supply change, instead of rescanning every tick.
      if (o.code() == errc::no_driver_available) {
        st.retry_at_ms = now + retry_after_ms;
        continue;
      }
      return o.err();
    }
    if (auto ok = make_offer(st, o->driver, o->eta_s, now); !ok) return ok;
  }
  return {};
}

result<void> city::dispatch_batched(std::int64_t now) {
  if (now % r_.batch_window_ms != 0) return {};
  std::vector<batch_request> reqs;
  std::vector<std::size_t> owners;
  for (std::size_t ti : active_) {
    if (trips_[ti].t.state != trip_state::requested) continue;
    reqs.push_back({trips_[ti].t.id, trips_[ti].t.pickup, now - trips_[ti].t.requested_at_ms,
                    trips_[ti].windows_lost});
    owners.push_back(ti);
  }
  if (reqs.empty() || index_.size() == 0) return {};
  auto a = batch_assign(reqs, index_, eta_, r_.batch);
  if (!a) return a.err();
  for (std::size_t i : a->left_out) ++trips_[owners[i]].windows_lost;
  for (const batch_match& m : a->matches)
    if (auto ok = make_offer(trips_[owners[m.request_index]], m.driver, m.eta_s, now); !ok)
      return ok;
  return {};
}

result<void> city::expire_requests(std::int64_t now) {
  for (std::size_t ti : active_) {
    sim_trip& st = trips_[ti];
    if (st.t.state != trip_state::requested && st.t.state != trip_state::offered) continue;
    if (now < st.t.requested_at_ms + r_.trip.request_ttl_ms) continue;
    const bool offered = st.t.state == trip_state::offered;
    trip_event ev;
    ev.kind = trip_event_kind::expire;
    ev.at_ms = now;
    if (auto ok = step(st.t, ev); !ok) return ok;
    if (offered)
      if (auto ok = release(st.driver_index, driver_status::idle, now); !ok) return ok;
    ++report_.expired;
  }
  return {};
}

result<void> city::sample_supply(std::int64_t now) {
  for (std::size_t i = 0; i < drivers_.size(); ++i)  // cooldowns end: available again
    if (drivers_[i].status == driver_status::cooldown && now >= drivers_[i].until_ms)
      if (auto ok = release(i, driver_status::idle, now); !ok) return ok;
  if (now % r_.surge.bucket_ms != 0) return {};
  std::map<std::uint64_t, std::int64_t> supply;
  for (std::uint64_t c : supplied_cells_) supply[c] = 0;  // cells that emptied report 0
  for (const sim_driver& d : drivers_) {
    if (d.status != driver_status::idle) continue;
    auto c = surge_.cell_for(d.pos);
    if (!c) return c.err();
    ++supply[c->value];
  }
  supplied_cells_.clear();
  for (const auto& [c, n] : supply) {
    if (auto ok = surge_.record_supply(cell_id{c}, n, now); !ok) return ok;
    if (n > 0) supplied_cells_.push_back(c);
  }
  return {};
}

result<city_sim_report> city::run() {
  if (auto ok = place_drivers(); !ok) return ok.err();
  for (std::int64_t now = 0; now < cfg_.duration_ms; now += cfg_.tick_ms) {
    using phase_fn = result<void> (city::*)(std::int64_t);
    for (phase_fn phase : {&city::sample_supply, &city::new_requests, &city::answer_offers,
                           &city::advance_trips, &city::expire_requests})
      if (auto ok = (this->*phase)(now); !ok) return ok.err();
    auto ok =
        cfg_.mode == matching_mode::sequential ? dispatch_sequential(now) : dispatch_batched(now);
    if (!ok) return ok.err();
    active_.erase(std::remove_if(active_.begin(), active_.end(),
                                 [&](std::size_t ti) { return is_terminal(trips_[ti].t.state); }),
                  active_.end());
  }
  finish();
  return report_;
}

void city::finish() {
  if (report_.requests > 0)
    report_.matched_pct =
        100.0 * static_cast<double>(report_.matched) / static_cast<double>(report_.requests);
  if (!pickup_etas_.empty()) {
    double sum = 0;
    for (double e : pickup_etas_) sum += e;
    report_.mean_pickup_eta_s = sum / static_cast<double>(pickup_etas_.size());
    std::sort(pickup_etas_.begin(), pickup_etas_.end());
    report_.p95_pickup_eta_s = pickup_etas_[(pickup_etas_.size() - 1) * 95 / 100];
  }
  if (waits_ > 0) {
    report_.mean_wait_s = wait_sum_s_ / static_cast<double>(waits_);
    report_.mean_match_wait_s = match_wait_sum_s_ / static_cast<double>(waits_);
  }
}

}  // namespace

std::string_view to_string(matching_mode m) noexcept {
  return m == matching_mode::sequential ? "sequential" : "batched";
}

result<city_sim_report> run_city_sim(const region& r, const city_sim_config& cfg) {
  if (cfg.drivers == 0 || cfg.duration_ms <= 0 || cfg.tick_ms <= 0 || cfg.start_hour < 0 ||
      cfg.start_hour > 23 || !(cfg.peak_requests_per_minute >= 0) ||
      !(cfg.accept_probability >= 0 && cfg.accept_probability <= 1) ||
      !(cfg.no_response_probability >= 0 && cfg.no_response_probability <= 1) ||
      r.batch_window_ms % cfg.tick_ms != 0 || r.surge.bucket_ms % cfg.tick_ms != 0)
    return error{errc::bad_config,
                 "city_sim: drivers > 0, duration > 0, start_hour 0..23, probabilities in "
                 "[0, 1], batch window and surge bucket multiples of the tick"};
  spatial_index_config icfg;
  icfg.bounds = r.bounds;
  auto index = spatial_index::create(icfg);
  if (!index) return index.err();
  auto eta = straight_line_eta::create(r.eta);
  if (!eta) return eta.err();
  auto surge = surge_engine::create(r.surge);
  if (!surge) return surge.err();
  city c(r, cfg, std::move(*index), *eta, std::move(*surge));
  return c.run();
}

}  // namespace rideshard
