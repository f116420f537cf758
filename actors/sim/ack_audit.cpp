// ack_audit: what clients were told against what the nodes hold afterwards.
#include "sim/ack_audit.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace rideshard::sim {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;

constexpr std::uint8_t bit(trip_state s) {
  return static_cast<std::uint8_t>(1U << static_cast<unsigned>(s));
}

/// 0 before assignment, then accepted 1, arrived 2, in progress 3.
int assigned_rank(trip_state s) {
  switch (s) {
    case trip_state::accepted:
      return 1;
    case trip_state::driver_arrived:
      return 2;
    case trip_state::in_progress:
      return 3;
    default:
      return 0;
  }
}

/// GET `target` from one node: status and body, nothing when it does not answer.
std::optional<std::pair<int, std::string>> get(const boost::asio::ip::tcp::endpoint& ep,
                                               const std::string& target, const std::string& token,
                                               int timeout_ms) {
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    stream.connect(ep);
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, ep.address().to_string());
    req.set(http::field::authorization, "Bearer " + token);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    return std::make_pair(static_cast<int>(res.result_int()), res.body());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::uint64_t id_number(const json& v, char prefix) {
  if (!v.is_string()) return 0;
  const auto s = v.get<std::string>();
  if (s.size() < 3 || s[0] != prefix || s[1] != '-') return 0;
  try {
    return std::stoull(s.substr(2));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

bool keeps_acknowledged(std::uint8_t told, driver_id told_driver, trip_state held,
                        driver_id held_driver) {
  for (trip_state end : {trip_state::completed, trip_state::cancelled, trip_state::expired})
    if ((told & bit(end)) != 0) return held == end;
  int told_rank = 0;
  for (trip_state s : {trip_state::accepted, trip_state::driver_arrived, trip_state::in_progress})
    if ((told & bit(s)) != 0) told_rank = std::max(told_rank, assigned_rank(s));
  if (told_rank == 0) return true;  // told requested (or offered): any state of the trip keeps it
  if (held == trip_state::completed || held == trip_state::cancelled) return true;  // moved on
  if (assigned_rank(held) < told_rank) return false;
  return !told_driver.valid() || held_driver == told_driver;
}

std::uint64_t count_overlaps(std::vector<assignment> all) {
  std::sort(all.begin(), all.end(), [](const assignment& a, const assignment& b) {
    return a.driver.value != b.driver.value ? a.driver.value < b.driver.value
                                            : a.from_ms < b.from_ms;
  });
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size() && all[j].driver == all[i].driver; ++j) {
      const std::int64_t end_i = all[i].to_ms > 0 ? all[i].to_ms : INT64_MAX;
      if (all[j].from_ms < end_i) ++n;
    }
  return n;
}

audit_report audit_acknowledged(const std::vector<trip_board::acked_trip>& acked,
                                const std::vector<boost::asio::ip::tcp::endpoint>& nodes,
                                const auth::token_authority& tokens, int timeout_ms) {
  audit_report rep;
  auto token = tokens.mint("simulate-audit", auth::role::admin, 3600);
  if (!token) {
    rep.unreachable = acked.size();
    return rep;
  }
  std::vector<assignment> assignments;
  for (const auto& a : acked) {
    ++rep.trips;
    const std::string target = "/api/admin/trips/" + to_string(a.trip);
    std::optional<json> held;
    bool answered = false;
    for (const auto& ep : nodes) {
      auto r = get(ep, target, *token, timeout_ms);
      if (!r) continue;
      answered = true;
      if (r->first != 200) continue;  // 404 here: another node may hold it
      auto j = json::parse(r->second, nullptr, false);
      if (j.is_discarded() || !j.is_object()) continue;
      held = std::move(j);
      break;
    }
    if (!answered) {
      ++rep.unreachable;
      continue;
    }
    std::optional<trip_state> state;
    if (held && (*held)["state"].is_string())
      state = trip_state_from_string((*held)["state"].get<std::string>());
    const driver_id held_driver{held ? id_number((*held)["driver"], 'd') : 0};
    if (!state || !keeps_acknowledged(a.states, a.driver, *state, held_driver)) {
      ++rep.acknowledged_lost;
      if (rep.lost_examples.size() < 10) {
        std::string told;
        for (unsigned s = 0; s < 8; ++s)
          if ((a.states & (1U << s)) != 0)
            told += (told.empty() ? "" : ",") + std::string(to_string(static_cast<trip_state>(s)));
        rep.lost_examples.push_back(to_string(a.trip) + ": told " + told + ", holds " +
                                    (state ? std::string(to_string(*state)) : "nothing"));
      }
    }
    if (!held || !held_driver.valid()) continue;
    // The driver's time on the trip, from the journal's timeline when the node has it.
    assignment as{a.trip, held_driver, 0, 0};
    const json& tl = (*held)["timeline"];
    if (!tl.is_array()) continue;
    for (const auto& e : tl) {
      if (!e.is_object() || !e["state"].is_string() || !e["at_ms"].is_number_integer()) continue;
      const auto s = trip_state_from_string(e["state"].get<std::string>());
      if (!s) continue;
      if (*s == trip_state::accepted) as.from_ms = e["at_ms"].get<std::int64_t>();
      if (is_terminal(*s) && as.from_ms > 0) as.to_ms = e["at_ms"].get<std::int64_t>();
    }
    if (as.from_ms > 0) assignments.push_back(as);
  }
  rep.double_assignments = count_overlaps(std::move(assignments));
  return rep;
}

}  // namespace rideshard::sim
