// The crash test's fleet: drivers and riders on one io_context driving rides
// through random stages, and the model of what the node acknowledged (every
// trip_status, offer or welcome a client received) that recovery is checked
// against. Single-threaded; randomness from one seeded engine.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "app_link.hpp"
#include "auth/jwt.hpp"
#include "http_call.hpp"

namespace rideshard::system_test {

/// Lifecycle rank: requested and offered are one rank (an unanswered offer is
/// recovered as requested); every terminal state is the last rank.
inline int lifecycle_rank(trip_state s) {
  switch (s) {
    case trip_state::requested:
    case trip_state::offered:
      return 0;
    case trip_state::accepted:
      return 1;
    case trip_state::driver_arrived:
      return 2;
    case trip_state::in_progress:
      return 3;
    default:
      return 4;
  }
}

/// What the apps were told about one trip.
struct trip_model {
  rider_id rider;
  driver_id driver;  ///< the driver it was accepted by, once known
  trip_state acked = trip_state::requested;
  std::string pin;
  std::int64_t quoted_fare = 0;      ///< the quote the rider requested it at (quoted fleets)
  std::vector<std::string> history;  ///< "c<cycle> <who>: <state>" as frames arrived
};

/// A trip as GET /api/trips/{id} returns it.
struct stored_trip {
  int http_status = 0;
  trip_state state = trip_state::requested;
  std::string rider, driver;  ///< "r-<n>", "d-<n>" or empty
};

/// The store as the API shows it after a restart.
struct store_view {
  std::map<std::uint64_t, stored_trip> trips;
  std::size_t active = 0;    ///< not terminal
  std::size_t assigned = 0;  ///< accepted, driver_arrived or in_progress
};

struct driver_app {
  driver_id id;
  bool binary = false;
  lat_lng home;
  std::shared_ptr<app_link> link;
  std::optional<schemas::welcome> welcomed;  ///< of the current connection
  trip_id trip;                              ///< accepted .. in_progress
  trip_state state = trip_state::accepted;
  int pin_waits = 0;
};

struct rider_app {
  rider_id id;
  bool binary = false;
  std::shared_ptr<app_link> link;
  std::optional<schemas::welcome> welcomed;
  trip_id trip;                   ///< the active trip, if any
  std::uint64_t request_seq = 0;  ///< an unanswered ride_request
  std::uint64_t quote_seq = 0;    ///< an unanswered quote_request (quoted fleets)
  std::int64_t quote_fare = 0;    ///< the fare of the quote the pending request names
  lat_lng pickup, dropoff;        ///< of the pending quote
};

class crash_fleet {
 public:
  static constexpr int drivers_n = 12;
  static constexpr int riders_n = 12;

  boost::asio::io_context ioc;
  std::mt19937_64 rng;
  std::map<std::uint64_t, trip_model> trips;
  std::vector<std::string> problems;
  std::vector<driver_app> drivers;
  std::vector<rider_app> riders;
  int cycle = 0;
  std::size_t acks_in_cycle = 0, kill_target = 0, acks_at_kill = 0;
  bool kill_due = false;
  bool requests_open = true;
  /// Riders ask for a quote first and request at its upfront price (the rides
  /// are then charged: hold at request, capture or void at the end).
  bool quoted = false;
  std::set<std::uint64_t> active_at_restart, completed_after_restart;

  crash_fleet(std::uint64_t seed, const char* secret) : rng(seed), secret_(secret) {
    const lat_lng midtown{40.7540, -73.9840};
    for (int i = 0; i < drivers_n; ++i) {
      driver_app d;
      d.id = driver_id{static_cast<std::uint64_t>(1001 + i)};
      d.binary = i % 2 == 0;
      d.home = {midtown.lat + uniform(-0.004, 0.004), midtown.lng + uniform(-0.004, 0.004)};
      drivers.push_back(d);
    }
    for (int i = 0; i < riders_n; ++i) {
      rider_app r;
      r.id = rider_id{static_cast<std::uint64_t>(2001 + i)};
      r.binary = i % 2 == 1;
      riders.push_back(r);
    }
  }

  // ---- running --------------------------------------------------------------

  /// Runs the apps until `done` (true) or `limit` passes (false).
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  /// Arms the next kill after a random number of acknowledged transitions.
  std::size_t arm_kill(int lo, int hi) {
    ++cycle;
    acks_in_cycle = 0;
    kill_due = false;
    kill_target = static_cast<std::size_t>(std::uniform_int_distribution<int>(lo, hi)(rng));
    return kill_target;
  }

  /// After SIGKILL: stale timers go quiet; frames already sent are still read.
  void on_killed() {
    ++epoch_;
    acks_at_kill = acks_in_cycle;
    const bool down = run_until([&] { return all_closed(); }, std::chrono::seconds(10));
    CHECK_MESSAGE(down, "apps still connected 10 s after kill -9");
  }

  /// (Re)connects every app, riders first, and waits for every welcome.
  void connect_all(unsigned short port, bool resume) {
    ++epoch_;  // think times started while draining the dead node's frames: void
    for (auto& r : riders) {
      r.welcomed.reset();
      r.request_seq = 0;
      r.quote_seq = 0;
      r.link = open(port, "/v1/rider", r.binary,
                    [this, &r](const schemas::server_message& m) { on_rider_frame(r, m); });
      r.link->send(schemas::hello{mint(to_string(r.id), auth::role::rider), "crash-rider", resume});
    }
    CHECK_MESSAGE(run_until([&] { return welcomed(riders); }, std::chrono::seconds(10)),
                  "riders not welcomed within 10 s");
    for (auto& d : drivers) {
      d.welcomed.reset();
      d.link = open(port, "/v1/driver", d.binary,
                    [this, &d](const schemas::server_message& m) { on_driver_frame(d, m); });
      d.link->send(
          schemas::hello{mint(to_string(d.id), auth::role::driver), "crash-driver", resume});
    }
    CHECK_MESSAGE(run_until([&] { return welcomed(drivers); }, std::chrono::seconds(10)),
                  "drivers not welcomed within 10 s");
    port_ = port;
  }

  /// Drivers report a position and go online; everyone resumes their ride.
  void start_acting() {
    for (auto& d : drivers) {
      const auto ts = now_ms() - 1000;
      d.link->send(schemas::location_batch{{schemas::location_sample{d.home, 0, 0, ts}}});
      d.link->send(schemas::go_online{});
      if (d.trip.valid()) step(d);
    }
    for (auto& r : riders)
      if (!r.trip.valid()) schedule_request(r);
  }

  bool all_settled() const {
    for (const auto& [id, t] : trips)
      if (!is_terminal(t.acked)) return false;
    for (const auto& r : riders)
      if (r.request_seq != 0 || r.quote_seq != 0 || r.trip.valid()) return false;
    return true;
  }

  std::string open_trips() const {
    std::string out;
    for (const auto& [id, t] : trips)
      if (!is_terminal(t.acked)) out += describe(id) + "; ";
    return out;
  }

  std::size_t count(trip_state s) const {
    return static_cast<std::size_t>(std::count_if(
        trips.begin(), trips.end(), [s](const auto& kv) { return kv.second.acked == s; }));
  }

  // ---- checks after a restart -----------------------------------------------

  /// Reads every known trip through the API and compares it with what the apps
  /// were told: known, same or later state, same driver, one trip per driver.
  store_view check_store(unsigned short port) {
    store_view v;
    const auto admin = mint("crash-admin", auth::role::admin);
    std::map<std::string, std::vector<std::uint64_t>> by_driver, by_rider;
    for (auto& [id, t] : trips) {
      auto s = get_trip(port, id, admin);
      v.trips[id] = s;
      if (s.http_status != 200) {
        problem("LOST " + describe(id) + ": GET /api/trips -> HTTP " +
                std::to_string(s.http_status));
        continue;
      }
      if (is_terminal(t.acked) ? s.state != t.acked
                               : lifecycle_rank(s.state) < lifecycle_rank(t.acked))
        problem("BACKWARDS " + describe(id) + ": stored " + std::string(to_string(s.state)));
      if (t.driver.valid() && s.driver != to_string(t.driver))
        problem("DRIVER CHANGED " + describe(id) + ": stored driver '" + s.driver + "'");
      if (t.rider.valid() && s.rider != to_string(t.rider))
        problem("RIDER CHANGED " + describe(id) + ": stored rider '" + s.rider + "'");
      // Committed but never told (killed in between): the apps learn it now.
      if (!is_terminal(t.acked) &&
          (is_terminal(s.state) || lifecycle_rank(s.state) > lifecycle_rank(t.acked))) {
        t.history.push_back("c" + std::to_string(cycle) +
                            " store: " + std::string(to_string(s.state)));
        t.acked = s.state;
      }
      if (!is_terminal(s.state)) {
        ++v.active;
        by_rider[s.rider].push_back(id);
        active_at_restart.insert(id);
      } else {
        active_at_restart.erase(id);
      }
      if (s.state == trip_state::accepted || s.state == trip_state::driver_arrived ||
          s.state == trip_state::in_progress) {
        ++v.assigned;
        by_driver[s.driver].push_back(id);
      }
    }
    for (const auto& [who, ids] : by_driver)
      if (ids.size() > 1) problem("TWO TRIPS for driver " + who + ": " + list(ids));
    for (const auto& [who, ids] : by_rider)
      if (ids.size() > 1) problem("TWO ACTIVE TRIPS for rider " + who + ": " + list(ids));
    return v;
  }

  /// Each resumed app's welcome shows exactly its stored active trip.
  void check_welcomes(const store_view& v) {
    auto expected = [&](const std::string& who, bool driver) {
      std::uint64_t found = 0;
      for (const auto& [id, s] : v.trips) {
        if (s.http_status != 200) continue;
        const bool active =
            driver ? (s.state == trip_state::accepted || s.state == trip_state::driver_arrived ||
                      s.state == trip_state::in_progress)
                   : !is_terminal(s.state);
        if (active && (driver ? s.driver : s.rider) == who) found = id;
      }
      return found;
    };
    auto compare = [&](const std::string& who, const std::optional<schemas::welcome>& w,
                       std::uint64_t want) {
      if (!w) return problem("NO WELCOME for " + who);
      const auto got = w->current_trip ? w->current_trip->trip.value : 0;
      if (got != want)
        return problem("WELCOME of " + who + " shows trip " + std::to_string(got) +
                       ", the store has its active trip " +
                       (want != 0
                            ? std::string(to_string(v.trips.at(want).state)) + " " + describe(want)
                            : std::string("none")));
      if (want != 0 && !w->resumed) problem("WELCOME of " + who + " has a trip but resumed=false");
      if (want != 0 &&
          lifecycle_rank(w->current_trip->state) != lifecycle_rank(v.trips.at(want).state))
        problem("WELCOME of " + who + " shows " + std::string(to_string(w->current_trip->state)) +
                ", the store " + std::string(to_string(v.trips.at(want).state)));
    };
    for (const auto& r : riders)
      compare(to_string(r.id), r.welcomed, expected(to_string(r.id), false));
    for (const auto& d : drivers)
      compare(to_string(d.id), d.welcomed, expected(to_string(d.id), true));
  }

  /// A token for `sub` signed with the node's secret (the apps' and the test's).
  std::string mint(const std::string& sub, auth::role r) {
    auto a = auth::token_authority::create(secret_, "rideshard", auth::system_unix_seconds);
    REQUIRE(a.ok());
    auto t = a->mint(sub, r, 3600);
    REQUIRE(t.ok());
    return *t;
  }

 private:
  std::string secret_;
  std::uint64_t epoch_ = 0;
  unsigned short port_ = 0;

  static std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }

  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }

  void problem(const std::string& p) {
    problems.push_back("cycle " + std::to_string(cycle) + ": " + p);
    MESSAGE(problems.back());
  }

  std::string describe(std::uint64_t id) const {
    std::string out = to_string(trip_id{id});
    const auto it = trips.find(id);
    if (it == trips.end()) return out;
    out += " (acked " + std::string(to_string(it->second.acked)) + "; history:";
    for (const auto& h : it->second.history) out += " " + h + ",";
    return out + ")";
  }

  static std::string list(const std::vector<std::uint64_t>& ids) {
    std::string out;
    for (auto id : ids) out += to_string(trip_id{id}) + " ";
    return out;
  }

  std::shared_ptr<app_link> open(unsigned short port, const char* path, bool binary,
                                 app_link::frame_handler on_frame) {
    auto link =
        app_link::open(ioc, port, path, binary, std::move(on_frame), [](const std::string&) {});
    CHECK_MESSAGE(!link->closed(), "cannot connect to ", path);
    return link;
  }

  template <class Apps>
  static bool welcomed(const Apps& apps) {
    for (const auto& a : apps)
      if (!a.welcomed && !a.link->closed()) return false;
    return true;
  }

  bool all_closed() const {
    for (const auto& r : riders)
      if (!r.link->closed()) return false;
    for (const auto& d : drivers)
      if (!d.link->closed()) return false;
    return true;
  }

  /// Runs `fn` after a random think time unless the node was killed meanwhile.
  void after(int lo_ms, int hi_ms, std::function<void()> fn) {
    auto timer = std::make_shared<boost::asio::steady_timer>(ioc);
    timer->expires_after(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(lo_ms, hi_ms)(rng)));
    timer->async_wait([this, timer, fn = std::move(fn), e = epoch_](boost::system::error_code ec) {
      if (!ec && e == epoch_) fn();
    });
  }

  // ---- the model ------------------------------------------------------------

  /// A client was told trip s.trip is in s.state: that state must survive.
  void record(const schemas::trip_status& s, const std::string& who) {
    auto& t = trips[s.trip.value];
    const bool first = t.history.empty();
    t.history.push_back("c" + std::to_string(cycle) + " " + who + ": " +
                        std::string(to_string(s.state)));
    if (s.rider.valid()) t.rider = s.rider;
    if (!s.pin.empty()) t.pin = s.pin;
    if (s.driver.valid() && lifecycle_rank(s.state) >= 1 && lifecycle_rank(s.state) <= 3)
      t.driver = s.driver;
    if (first) {
      t.acked = s.state;
    } else if (is_terminal(t.acked)) {
      if (s.state != t.acked) problem("AFTER TERMINAL " + describe(s.trip.value));
    } else if (is_terminal(s.state) || lifecycle_rank(s.state) >= lifecycle_rank(t.acked)) {
      t.acked = s.state;
    } else {
      problem("TOLD BACKWARDS " + describe(s.trip.value));
    }
    if (s.state == trip_state::completed && active_at_restart.count(s.trip.value))
      completed_after_restart.insert(s.trip.value);
    if (++acks_in_cycle >= kill_target && kill_target != 0) kill_due = true;
  }

  void unexpected_error(const std::string& who, const schemas::error_reply& e) {
    switch (e.code) {
      case errc::illegal_transition:  // raced with the other party's command
      case errc::offer_expired:
      case errc::not_offered_to_driver:
      case errc::forbidden:  // a command for a trip the rider just cancelled
      case errc::unknown_trip:
        return;
      default:
        problem("ERROR to " + who + ": " + std::string(to_string(e.code)) + " " + e.message);
    }
  }

  // ---- riders ---------------------------------------------------------------

  void on_rider_frame(rider_app& r, const schemas::server_message& m) {
    const auto who = to_string(r.id);
    if (auto* w = std::get_if<schemas::welcome>(&m.body)) {
      r.welcomed = *w;
      r.trip = {};
      if (w->current_trip) {
        record(*w->current_trip, who + " welcome");
        r.trip = w->current_trip->trip;
        // The kill took the request's answer after its commit: the trip is the one
        // the rider asked for, at the quote it named.
        if (quoted && r.quote_fare > 0) {
          auto& t = trips[w->current_trip->trip.value];
          if (t.quoted_fare == 0) t.quoted_fare = r.quote_fare;
        }
      }
    } else if (auto* s = std::get_if<schemas::trip_status>(&m.body)) {
      record(*s, who);
      on_rider_status(r, *s, m.reply_to);
    } else if (auto* q = std::get_if<schemas::quote>(&m.body)) {
      if (m.reply_to == 0 || m.reply_to != r.quote_seq) return;
      r.quote_seq = 0;
      r.quote_fare = q->fare.total_minor;
      r.request_seq = r.link->send(schemas::ride_request{q->id, r.pickup, r.dropoff});
    } else if (auto* e = std::get_if<schemas::error_reply>(&m.body)) {
      if (e->ref_seq != 0 && e->ref_seq == r.quote_seq) {
        r.quote_seq = 0;
        unexpected_error(who, *e);
        schedule_request(r);
      } else if (e->ref_seq != 0 && e->ref_seq == r.request_seq) {
        r.request_seq = 0;
        if (e->code == errc::illegal_transition)
          problem("RIDE REFUSED: the node says " + who +
                  " has an active trip it was never told of");
        else if (e->code != errc::no_driver_available)
          unexpected_error(who, *e);
        schedule_request(r);
      } else {
        unexpected_error(who, *e);
      }
    }
  }

  void on_rider_status(rider_app& r, const schemas::trip_status& s, std::uint64_t reply_to) {
    if (reply_to != 0 && reply_to == r.request_seq) {
      r.request_seq = 0;
      if (quoted) trips[s.trip.value].quoted_fare = r.quote_fare;
    }
    if (is_terminal(s.state)) {
      if (r.trip == s.trip) {
        r.trip = {};
        schedule_request(r);
      }
      return;
    }
    if (r.trip != s.trip) r.trip = s.trip;
    // Some riders give up before the ride starts.
    if (lifecycle_rank(s.state) <= 2 && chance(0.07)) {
      const auto t = s.trip;
      after(0, 300, [this, &r, t] {
        if (r.trip == t) r.link->send(schemas::cancel_trip{t, "crash test: changed my mind"});
      });
    }
  }

  void schedule_request(rider_app& r) {
    if (!requests_open) return;
    after(50, 600, [this, &r] {
      if (!requests_open || r.trip.valid() || r.request_seq != 0 || r.quote_seq != 0) return;
      const lat_lng pickup{40.7540 + uniform(-0.006, 0.006), -73.9840 + uniform(-0.006, 0.006)};
      const lat_lng dropoff{40.7400 + uniform(-0.03, 0.03), -73.9900 + uniform(-0.02, 0.02)};
      if (quoted) {
        r.pickup = pickup;
        r.dropoff = dropoff;
        r.quote_seq = r.link->send(schemas::quote_request{pickup, dropoff});
        return;
      }
      r.request_seq = r.link->send(schemas::ride_request{std::nullopt, pickup, dropoff});
    });
  }

  // ---- drivers --------------------------------------------------------------

  void on_driver_frame(driver_app& d, const schemas::server_message& m) {
    const auto who = to_string(d.id);
    if (auto* w = std::get_if<schemas::welcome>(&m.body)) {
      d.welcomed = *w;
      d.trip = {};
      if (w->current_trip) {
        record(*w->current_trip, who + " welcome");
        d.trip = w->current_trip->trip;
        d.state = w->current_trip->state;
      }
    } else if (auto* o = std::get_if<schemas::offer>(&m.body)) {
      schemas::trip_status offered;  // the node says: this trip exists, offered
      offered.trip = o->trip;
      offered.state = trip_state::offered;
      record(offered, who + " offer");
      const auto t = o->trip;
      after(20, 250, [this, &d, t] {
        if (chance(0.85))
          d.link->send(schemas::accept_offer{t});
        else
          d.link->send(schemas::decline_offer{t, "crash test"});
      });
    } else if (auto* s = std::get_if<schemas::trip_status>(&m.body)) {
      on_driver_status(d, *s);
    } else if (auto* e = std::get_if<schemas::error_reply>(&m.body)) {
      unexpected_error(who, *e);
    }
  }

  void on_driver_status(driver_app& d, const schemas::trip_status& s) {
    const bool assigned = s.driver == d.id && lifecycle_rank(s.state) >= 1 &&
                          s.state != trip_state::cancelled && s.state != trip_state::expired;
    // Other views (a withdrawn offer shown as expired) are not the trip's state.
    if (assigned) record(s, to_string(d.id));
    if (assigned && !is_terminal(s.state)) {
      if (d.trip.valid() && d.trip != s.trip)
        problem("DRIVER " + to_string(d.id) + " told of " + to_string(s.trip) + " while on " +
                to_string(d.trip));
      d.trip = s.trip;
      d.state = s.state;
      d.pin_waits = 0;
      step(d);
    } else if (d.trip == s.trip && (is_terminal(s.state) || s.driver != d.id)) {
      d.trip = {};
    }
  }

  /// The driver's next command for its trip after a think time.
  void step(driver_app& d) {
    const auto t = d.trip;
    const auto at = d.state;
    after(40, 300, [this, &d, t, at] {
      if (d.trip != t || d.state != at) return;
      switch (at) {
        case trip_state::accepted:
          d.link->send(schemas::arrived{t});
          break;
        case trip_state::driver_arrived: {
          const auto& pin = trips[t.value].pin;
          if (pin.empty() && ++d.pin_waits < 50) return step(d);  // the rider's frame is late
          d.link->send(schemas::start_trip{t, pin.empty() ? "0000" : pin});
          break;
        }
        case trip_state::in_progress:
          d.link->send(schemas::complete_trip{t});
          break;
        default:
          break;
      }
    });
  }

  // ---- HTTP -----------------------------------------------------------------

  stored_trip get_trip(unsigned short port, std::uint64_t id, const std::string& token) {
    stored_trip out;
    auto r = http_call(port, boost::beast::http::verb::get, "/api/trips/" + to_string(trip_id{id}),
                       token);
    if (r.status < 0) return out;
    out.http_status = r.status;
    if (out.http_status != 200) return out;
    const auto& j = r.body;
    if (j.is_discarded() || !j.contains("state")) {
      out.http_status = -1;
      return out;
    }
    out.state =
        trip_state_from_string(j["state"].get<std::string>()).value_or(trip_state::requested);
    if (j["rider"].is_string()) out.rider = j["rider"].get<std::string>();
    if (j["driver"].is_string()) out.driver = j["driver"].get<std::string>();
    return out;
  }
};

}  // namespace rideshard::system_test
