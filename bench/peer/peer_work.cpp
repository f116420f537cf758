// peer_work: the same data, sliced the same way, encoded for each peer.
#include "peer/peer_work.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "peer/resp_client.hpp"
#include "peer/ws_admin_client.hpp"

namespace rideshard::peer {

namespace {

std::pair<std::size_t, std::size_t> slice(std::size_t n, std::size_t parts, std::size_t i) {
  return {n * i / parts, n * (i + 1) / parts};
}

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7f", v);
  return buf;
}

// rideshard seqs increase over the whole benchmark (a client's seq only grows),
// so work must be encoded just before the phase that sends it.
std::uint64_t next_seq = 2;

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

work_set redis_geoadd_work(const std::vector<driver_fix>& drivers, std::size_t clients,
                           std::size_t members, std::string_view key) {
  work_set w(clients);
  members = std::max<std::size_t>(1, members);
  std::uint64_t id = 1;
  std::vector<std::string> text;
  std::vector<std::string_view> args;
  for (std::size_t c = 0; c < clients; ++c) {
    const auto [first, last] = slice(drivers.size(), clients, c);
    for (std::size_t i = first; i < last; i += members) {
      const std::size_t end = std::min(last, i + members);
      text.clear();
      for (std::size_t j = i; j < end; ++j) {
        text.push_back(coord(drivers[j].pos.lng));
        text.push_back(coord(drivers[j].pos.lat));
        text.push_back(std::to_string(drivers[j].id));
      }
      args = {"GEOADD", key};
      for (const auto& t : text) args.emplace_back(t);
      wire_request r;
      r.id = id++;
      r.items = static_cast<std::uint32_t>(end - i);
      append_resp_command(r.bytes, args);
      w[c].push_back(std::move(r));
    }
  }
  return w;
}

work_set redis_geosearch_work(const std::vector<lat_lng>& queries, std::size_t count,
                              std::size_t clients, std::size_t pipeline, double radius_m,
                              std::uint32_t k, std::string_view key) {
  work_set w(clients);
  count = std::min(count, queries.size());
  pipeline = std::max<std::size_t>(1, pipeline);
  std::uint64_t id = 1;
  const std::string radius = std::to_string(static_cast<long>(radius_m));
  const std::string kk = std::to_string(k);
  for (std::size_t c = 0; c < clients; ++c) {
    const auto [first, last] = slice(count, clients, c);
    for (std::size_t i = first; i < last; i += pipeline) {
      const std::size_t end = std::min(last, i + pipeline);
      wire_request r;
      r.id = id++;
      r.items = static_cast<std::uint32_t>(end - i);
      r.replies = r.items;
      r.first_query = static_cast<std::uint32_t>(i);
      for (std::size_t j = i; j < end; ++j) {
        const std::string lng = coord(queries[j].lng), lat = coord(queries[j].lat);
        append_resp_command(r.bytes, {"GEOSEARCH", key, "FROMLONLAT", lng, lat, "BYRADIUS", radius,
                                      "m", "ASC", "COUNT", kk});
      }
      w[c].push_back(std::move(r));
    }
  }
  return w;
}

work_set rideshard_fleet_work(const std::vector<driver_fix>& drivers, std::size_t clients,
                              std::size_t batch) {
  work_set w(clients);
  const std::int64_t now = unix_ms();
  for (std::size_t c = 0; c < clients; ++c) {
    const auto [first, last] = slice(drivers.size(), clients, c);
    w[c] = encode_fleet_frames(drivers, first, last, batch, next_seq, now);
  }
  return w;
}

work_set rideshard_nearby_work(const std::vector<lat_lng>& queries, std::size_t count,
                               std::size_t clients, std::size_t batch, double radius_m,
                               std::uint32_t k) {
  work_set w(clients);
  count = std::min(count, queries.size());
  for (std::size_t c = 0; c < clients; ++c) {
    const auto [first, last] = slice(count, clients, c);
    w[c] = encode_nearby_frames(queries, first, last, batch, radius_m, k, next_seq);
  }
  return w;
}

}  // namespace rideshard::peer
