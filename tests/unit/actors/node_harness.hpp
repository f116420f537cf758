// Test harness for dispatch_node: a recording fake connection (wait on a
// condition variable for an expected frame, bounded), a manual clock and
// helpers that play driver and rider apps.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "node/dispatch_node.hpp"

namespace rideshard::test {

using namespace std::chrono_literals;
using schemas::server_message;

inline constexpr std::int64_t t0_ms = 1'750'000'000'000;

/// Records every frame; thread-safe. wait<T>(pred) returns the first not yet
/// taken frame of type T matching pred, waiting up to `timeout` for it.
class fake_connection final : public gateway::connection {
 public:
  fake_connection(std::uint64_t id, gateway::endpoint ep) : id_(id), ep_(ep) {}
  std::uint64_t id() const noexcept override { return id_; }
  gateway::endpoint endpoint() const noexcept override { return ep_; }
  bool send(server_message msg) override {
    {
      std::lock_guard<std::mutex> lock{mu_};
      frames_.push_back(std::move(msg));
      taken_.push_back(false);
    }
    cv_.notify_all();
    return true;
  }
  void close(std::string reason) override {
    std::lock_guard<std::mutex> lock{mu_};
    closed_ = true;
    close_reason_ = std::move(reason);
  }

  template <class T>
  std::optional<std::pair<server_message, T>> wait(
      std::function<bool(const server_message&, const T&)> pred = nullptr,
      std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock{mu_};
    std::optional<std::pair<server_message, T>> out;
    cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = 0; i < frames_.size(); ++i) {
        if (taken_[i]) continue;
        auto* body = std::get_if<T>(&frames_[i].body);
        if (!body || (pred && !pred(frames_[i], *body))) continue;
        taken_[i] = true;
        out.emplace(frames_[i], *body);
        return true;
      }
      return false;
    });
    return out;
  }
  /// Frames of type T received so far (taken or not).
  template <class T>
  std::vector<T> all() {
    std::lock_guard<std::mutex> lock{mu_};
    std::vector<T> out;
    for (auto& f : frames_)
      if (auto* b = std::get_if<T>(&f.body)) out.push_back(*b);
    return out;
  }
  bool closed() {
    std::lock_guard<std::mutex> lock{mu_};
    return closed_;
  }

 private:
  std::uint64_t id_;
  gateway::endpoint ep_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<server_message> frames_;
  std::vector<bool> taken_;
  bool closed_ = false;
  std::string close_reason_;
};
using fake_ptr = std::shared_ptr<fake_connection>;

inline std::vector<region> test_regions() {
  auto r =
      load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  REQUIRE(r.ok());
  // Fine shards (as in a cluster) so the tests also cover shard routing; every
  // test point stays inside the one cell around `center`.
  for (region& x : *r) x.shard_level = 12;
  return std::move(r).value();
}

/// Tokens are the subject itself ("d-7", "r-42"); anything else is refused.
inline result<node::identity> test_verifier(const std::string& token) {
  if (token.size() > 2 && token[0] == 'd' && token[1] == '-')
    return node::identity{token, schemas::role::driver};
  if (token.size() > 2 && token[0] == 'r' && token[1] == '-')
    return node::identity{token, schemas::role::rider};
  return error{errc::unauthenticated, "bad token"};
}

/// A node with a manual clock plus helpers that speak the protocol.
struct harness {
  std::shared_ptr<std::atomic<std::int64_t>> clock =
      std::make_shared<std::atomic<std::int64_t>>(t0_ms);
  std::unique_ptr<node::dispatch_node> node;
  std::atomic<std::uint64_t> next_conn{1};
  std::atomic<std::uint64_t> next_seq{1};
  lat_lng center;  ///< centre of one shard cell in Manhattan

  explicit harness(std::chrono::milliseconds offer_timeout = 3s,
                   const std::function<void(node::dispatch_options&)>& tweak = nullptr) {
    node::dispatch_options o;
    auto c = clock;
    o.now_ms = [c] { return c->load(); };
    o.offer_timeout = offer_timeout;
    if (tweak) tweak(o);
    auto regions = test_regions();
    center = cell_center(cell_of(lat_lng{40.754, -73.984}, regions.at(0).shard_level).value());
    auto n = node::dispatch_node::create(std::move(regions), std::move(o), test_verifier);
    REQUIRE(n.ok());
    node = std::move(n).value();
  }

  /// A point `north_m`/`east_m` metres from the centre.
  lat_lng near(double north_m, double east_m = 0) const {
    return {center.lat + north_m / 111'195.0, center.lng + east_m / 84'300.0};
  }

  fake_ptr open(gateway::endpoint ep) {
    auto c = std::make_shared<fake_connection>(next_conn++, ep);
    node->on_open(c);
    return c;
  }
  std::uint64_t send(const fake_ptr& c, schemas::client_body body) {
    auto seq = next_seq++;
    node->on_message(c, schemas::client_message{seq, std::move(body)});
    return seq;
  }
  template <class T>
  T reply(const fake_ptr& c, std::uint64_t seq) {
    auto r = c->wait<T>([seq](const server_message& m, const T&) { return m.reply_to == seq; });
    REQUIRE_MESSAGE(r.has_value(), "no reply of the expected kind to seq ", seq);
    return r->second;
  }
  errc error_of(const fake_ptr& c, std::uint64_t seq) {
    return reply<schemas::error_reply>(c, seq).code;
  }

  fake_ptr connect(const std::string& subject, bool resume = false) {
    auto c = open(subject[0] == 'd' ? gateway::endpoint::driver : gateway::endpoint::rider);
    auto w = reply<schemas::welcome>(c, send(c, schemas::hello{subject, "test", resume}));
    CHECK(w.subject == subject);
    return c;
  }
  schemas::location_sample sample(lat_lng p, std::int64_t ts) const {
    schemas::location_sample s;
    s.pos = p;
    s.timestamp_ms = ts;
    return s;
  }
  /// Connects a driver, sends a first fix and goes online.
  fake_ptr online_driver(const std::string& subject, lat_lng pos) {
    auto c = connect(subject);
    auto a = reply<schemas::ack>(c, send(c, schemas::location_batch{{sample(pos, clock->load())}}));
    CHECK(a.accepted == 1);
    reply<schemas::ack>(c, send(c, schemas::go_online{}));
    return c;
  }
  /// Requests a ride; returns the rider's first trip_status (requested).
  schemas::trip_status request_ride(const fake_ptr& rider, lat_lng pickup, lat_lng dropoff) {
    return reply<schemas::trip_status>(rider,
                                       send(rider, schemas::ride_request{{}, pickup, dropoff}));
  }
  /// Waits for the next offer to `driver`.
  std::optional<schemas::offer> next_offer(const fake_ptr& driver,
                                           std::chrono::milliseconds t = 5s) {
    auto o = driver->wait<schemas::offer>(nullptr, t);
    if (!o) return std::nullopt;
    return o->second;
  }
  /// Waits for a trip_status push of `trip` in `state`.
  std::optional<schemas::trip_status> status(const fake_ptr& c, trip_id trip, trip_state state) {
    auto r =
        c->wait<schemas::trip_status>([&](const server_message&, const schemas::trip_status& s) {
          return s.trip == trip && s.state == state;
        });
    if (!r) return std::nullopt;
    return r->second;
  }
  std::optional<schemas::receipt> receipt(const fake_ptr& c, trip_id trip) {
    auto r = c->wait<schemas::receipt>(
        [&](const server_message&, const schemas::receipt& s) { return s.trip == trip; });
    if (!r) return std::nullopt;
    return r->second;
  }
};

/// The value of one series line ("name{labels} value") of a Prometheus text
/// exposition (gateway::metrics::render_text); -1 if absent.
inline double series(const std::string& text, const std::string& name) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return -1;
}

}  // namespace rideshard::test
