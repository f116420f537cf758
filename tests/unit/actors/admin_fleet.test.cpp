// /v1/admin over real sockets (gateway + dispatch_node on 127.0.0.1, port 0):
// admin-only access, fleet_positions visible to nearby_batch, bad samples and
// queries rejected with typed errors, fed drivers never offered a trip and
// gone once the feed stops reporting them.
#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "gateway/listener.hpp"
#include "gateway/metrics.hpp"
#include "node/dispatch_node.hpp"
#include "rideshard/schemas/codec.hpp"

using namespace rideshard;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

/// Tokens are the subject: "d-7" driver, "r-7" rider, "admin-*" admin.
result<node::identity> verifier(const std::string& token) {
  if (token.rfind("admin-", 0) == 0) return node::identity{token, schemas::role::admin};
  if (token.rfind("d-", 0) == 0) return node::identity{token, schemas::role::driver};
  if (token.rfind("r-", 0) == 0) return node::identity{token, schemas::role::rider};
  return error{errc::unauthenticated, "bad token"};
}

struct no_http final : gateway::http_handler {
  void handle(gateway::http_request, std::function<void(gateway::http_response)> respond) override {
    respond(gateway::http_response{404, "application/json", "{}", {}, {}});
  }
};

/// A node (one region, the test config) behind a real gateway.
struct server {
  gateway::metrics stats;
  no_http http;
  std::unique_ptr<node::dispatch_node> node;
  gateway::gateway gw;
  std::uint16_t port = 0;

  explicit server(const std::function<void(node::dispatch_options&)>& tweak = nullptr) {
    auto regions =
        load_node_regions(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
    REQUIRE(regions.ok());
    for (auto& r : *regions) r.shard_level = 12;  // several shards: exercises the grouping
    node::dispatch_options o;
    o.offer_timeout = 2s;
    o.stats = &stats;
    if (tweak) tweak(o);
    auto n = node::dispatch_node::create(std::move(*regions), std::move(o), verifier);
    REQUIRE(n.ok());
    node = std::move(*n);
    auto bound = gw.start(gateway::gateway_config{}, *node, http, stats);
    REQUIRE(bound.ok());
    port = *bound;
  }
  ~server() { gw.stop(); }
};

/// A synchronous client speaking binary frames (the bench's format).
struct client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  std::uint64_t seq = 0;

  client(std::uint16_t port, const std::string& path) {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws.handshake("127.0.0.1", path);
    ws.binary(true);
  }
  std::uint64_t send(schemas::client_body body) {
    const auto bytes = schemas::encode_client_binary({++seq, std::move(body)});
    ws.write(net::buffer(bytes));
    return seq;
  }
  /// Reads frames until the answer to `s` (pushes such as offers are skipped).
  schemas::server_message answer(std::uint64_t s) {
    for (int i = 0; i < 100; ++i) {
      beast::flat_buffer buf;
      ws.read(buf);
      const auto d = buf.cdata();
      auto m = schemas::decode_server_binary(static_cast<const std::uint8_t*>(d.data()), d.size());
      REQUIRE(m.ok());
      if (m->reply_to == s) return std::move(*m);
    }
    FAIL("no answer to seq " << s);
    return {};
  }
  template <class T>
  T answer_as(std::uint64_t s) {
    auto m = answer(s);
    auto* body = std::get_if<T>(&m.body);
    REQUIRE_MESSAGE(body != nullptr, "answer is ", schemas::kind_name(m.body));
    return *body;
  }
  errc error_of(std::uint64_t s) { return answer_as<schemas::error_reply>(s).code; }
  /// A frame the codec refuses is answered by the gateway with reply_to 0.
  // A frame the codec refuses is still answered on its own seq (issue 12 item 8).
  errc codec_error(schemas::client_body body) { return error_of(send(std::move(body))); }
};

// The centre of the level-12 shard cell around Times Square: test points stay
// inside it unless a test means to cross shards.
const lat_lng midtown = cell_center(cell_of(lat_lng{40.754, -73.984}, 12).value());
lat_lng offset(lat_lng p, double north_m, double east_m) {
  return {p.lat + north_m / 111'195.0, p.lng + east_m / 84'300.0};
}

schemas::fleet_position fed(std::uint64_t id, lat_lng p) {
  return schemas::fleet_position{driver_id{id}, p, 1'750'000'000'000};
}

}  // namespace

TEST_CASE("/v1/admin: only admin tokens; admin messages forbidden elsewhere") {
  server s;
  {
    client rider(s.port, "/v1/admin");
    CHECK(rider.error_of(rider.send(schemas::hello{"r-1", "t", false})) == errc::forbidden);
  }
  {
    client admin(s.port, "/v1/driver");  // an admin token on a driver endpoint
    CHECK(admin.error_of(admin.send(schemas::hello{"admin-ops", "t", false})) == errc::forbidden);
  }
  client driver(s.port, "/v1/driver");
  driver.answer_as<schemas::welcome>(driver.send(schemas::hello{"d-1", "t", false}));
  CHECK(driver.error_of(driver.send(schemas::fleet_positions{{fed(5, midtown)}})) ==
        errc::forbidden);
  CHECK(driver.error_of(driver.send(schemas::nearby_batch{{{midtown, 1000, 5}}})) ==
        errc::forbidden);

  client admin(s.port, "/v1/admin");
  CHECK(admin.error_of(admin.send(schemas::nearby_batch{{{midtown, 1000, 5}}})) ==
        errc::unauthenticated);  // no hello yet
  auto w = admin.answer_as<schemas::welcome>(admin.send(schemas::hello{"admin-ops", "t", false}));
  CHECK(w.role == schemas::role::admin);
  CHECK(w.subject == "admin-ops");
  CHECK(admin.error_of(admin.send(schemas::go_online{})) == errc::forbidden);
  CHECK(admin.answer_as<schemas::pong>(admin.send(schemas::ping{9})).nonce == 9);
}

TEST_CASE("/v1/admin: a batched feed across shards is visible to a nearby batch") {
  server s;
  client admin(s.port, "/v1/admin");
  admin.answer_as<schemas::welcome>(admin.send(schemas::hello{"admin-ops", "t", false}));

  // 4096 drivers on a 64 x 64 grid, 100 m apart: spans several level-12 shards.
  schemas::fleet_positions feed;
  for (std::uint64_t i = 0; i < 4096; ++i)
    feed.samples.push_back(fed(
        1000 + i, offset(midtown, 100.0 * double(i / 64) - 3200, 100.0 * double(i % 64) - 3200)));
  CHECK(admin.answer_as<schemas::ack>(admin.send(feed)).accepted == 4096);

  // Driver 1000 + 32 * 64 + 32 sits exactly on midtown.
  schemas::nearby_batch q{{{midtown, 120, 10},
                           {offset(midtown, -3200, -3200), 1, 1},
                           {offset(midtown, 5000, 0), 1000, 3}}};
  auto r = admin.answer_as<schemas::nearby_results>(admin.send(q));
  REQUIRE(r.results.size() == 3);
  CHECK(r.results[0].code == errc::ok);
  REQUIRE(r.results[0].drivers.size() == 5);  // centre + 4 neighbours at 100 m
  CHECK(r.results[0].drivers[0] == driver_id{1000 + 32 * 64 + 32});
  CHECK(r.results[0].distances_m[0] < 1.0f);
  CHECK(std::abs(r.results[0].distances_m[4] - 100.0f) < 2.0f);
  REQUIRE(r.results[1].drivers.size() == 1);
  CHECK(r.results[1].drivers[0] == driver_id{1000});
  CHECK(r.results[2].drivers.empty());  // 1.8 km north of the grid's edge
  CHECK(r.results[2].code == errc::ok);

  // A second feed moves driver 1000 next to midtown: last sample wins.
  CHECK(admin.answer_as<schemas::ack>(admin.send(schemas::fleet_positions{{fed(1000, midtown)}}))
            .accepted == 1);
  r = admin.answer_as<schemas::nearby_results>(
      admin.send(schemas::nearby_batch{{{offset(midtown, -3200, -3200), 1, 1}, {midtown, 1, 5}}}));
  CHECK(r.results[0].drivers.empty());
  CHECK(r.results[1].drivers.size() == 2);
}

TEST_CASE("/v1/admin: bad samples and queries are rejected with typed errors") {
  server s;
  client admin(s.port, "/v1/admin");
  admin.answer_as<schemas::welcome>(admin.send(schemas::hello{"admin-ops", "t", false}));
  const double nan = std::numeric_limits<double>::quiet_NaN();

  // Mixed: 2 good, 4 bad -> ack{2}; each bad one counted by code.
  schemas::fleet_positions mixed{{fed(1, midtown), fed(0, midtown), fed(2, {91, 0}),
                                  fed(3, {nan, -73.9}), fed(4, {48.85, 2.35}),
                                  fed(5, offset(midtown, 50, 0))}};
  CHECK(admin.answer_as<schemas::ack>(admin.send(mixed)).accepted == 2);
  CHECK(s.stats.errors(errc::missing_field) == 1);
  CHECK(s.stats.errors(errc::invalid_coordinate) == 2);
  CHECK(s.stats.errors(errc::out_of_region) == 1);

  // All bad -> error_reply with the first bad sample's code.
  CHECK(admin.error_of(admin.send(schemas::fleet_positions{
            {fed(7, {48.85, 2.35}), fed(0, midtown)}})) == errc::out_of_region);
  auto neg = fed(8, midtown);
  neg.at_ms = -1;
  CHECK(admin.error_of(admin.send(schemas::fleet_positions{{neg}})) == errc::invalid_argument);
  // Frame-level limits: empty and oversized batches.
  CHECK(admin.codec_error(schemas::fleet_positions{}) == errc::invalid_argument);
  schemas::fleet_positions huge;
  huge.samples.assign(4097, fed(9, midtown));
  CHECK(admin.codec_error(huge) == errc::invalid_argument);
  CHECK(admin.codec_error(schemas::nearby_batch{}) == errc::invalid_argument);
  schemas::nearby_batch greedy;
  greedy.queries.assign(33, schemas::nearby_query{midtown, 500, 1000});  // k sum 33000
  CHECK(admin.codec_error(greedy) == errc::invalid_argument);

  // Per-query codes; the good query is still answered.
  auto r = admin.answer_as<schemas::nearby_results>(
      admin.send(schemas::nearby_batch{{{midtown, 0, 5},
                                        {midtown, 500, 0},
                                        {{95, 0}, 500, 5},
                                        {{48.85, 2.35}, 500, 5},
                                        {midtown, 500, 5},
                                        {midtown, 1e9, 5}}}));
  REQUIRE(r.results.size() == 6);
  CHECK(r.results[0].code == errc::invalid_radius);
  CHECK(r.results[1].code == errc::invalid_k);
  CHECK(r.results[2].code == errc::invalid_coordinate);
  CHECK(r.results[3].code == errc::out_of_region);
  CHECK(r.results[4].code == errc::ok);
  CHECK(r.results[4].drivers == std::vector<driver_id>{driver_id{1}, driver_id{5}});
  CHECK(r.results[5].code == errc::invalid_radius);
}

TEST_CASE("fed drivers are never offered a trip; a connected driver is, and the feed stays") {
  server s;
  client admin(s.port, "/v1/admin");
  admin.answer_as<schemas::welcome>(admin.send(schemas::hello{"admin-ops", "t", false}));
  // Fed drivers right at the pickup, the only app-connected driver 800 m away.
  CHECK(admin
            .answer_as<schemas::ack>(admin.send(
                schemas::fleet_positions{{fed(11, midtown), fed(12, offset(midtown, 20, 0))}}))
            .accepted == 2);

  client driver(s.port, "/v1/driver");
  driver.answer_as<schemas::welcome>(driver.send(schemas::hello{"d-3", "t", false}));
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  schemas::location_sample fix{offset(midtown, 800, 0), -1, 0, now_ms};
  CHECK(driver.answer_as<schemas::ack>(driver.send(schemas::location_batch{{fix}})).accepted == 1);
  driver.answer_as<schemas::ack>(driver.send(schemas::go_online{}));
  // The live driver's app owns its position: the feed may not move it.
  CHECK(admin.error_of(admin.send(schemas::fleet_positions{{fed(3, offset(midtown, 790, 0))}})) ==
        errc::duplicate_id);

  client rider(s.port, "/v1/rider");
  rider.answer_as<schemas::welcome>(rider.send(schemas::hello{"r-4", "t", false}));
  auto st = rider.answer_as<schemas::trip_status>(
      rider.send(schemas::ride_request{{}, midtown, offset(midtown, 3000, 0)}));

  // The first frame the driver gets is the offer (no answer is pending).
  beast::flat_buffer buf;
  driver.ws.read(buf);
  auto m = schemas::decode_server_binary(static_cast<const std::uint8_t*>(buf.cdata().data()),
                                         buf.cdata().size());
  REQUIRE(m.ok());
  auto* o = std::get_if<schemas::offer>(&m->body);
  REQUIRE(o != nullptr);
  CHECK(o->trip == st.trip);

  // The fed drivers are still indexed (not dropped as "no actor") and visible.
  auto r = admin.answer_as<schemas::nearby_results>(
      admin.send(schemas::nearby_batch{{{midtown, 100, 10}}}));
  CHECK(r.results[0].drivers == std::vector<driver_id>{driver_id{11}, driver_id{12}});
  auto http_view = s.node->nearby(midtown.lat, midtown.lng, 100, 10);
  REQUIRE(http_view.ok());
  CHECK(http_view->size() == 2);
}

TEST_CASE("fed drivers the feed stops reporting expire after idle_timeout") {
  auto clock = std::make_shared<std::atomic<std::int64_t>>(1'750'000'000'000);
  server s([clock](node::dispatch_options& o) {
    o.now_ms = [clock] { return clock->load(); };
    o.idle_timeout = 60s;  // a fed driver with no sample for 60 s is gone
  });
  client admin(s.port, "/v1/admin");
  admin.answer_as<schemas::welcome>(admin.send(schemas::hello{"admin-ops", "t", false}));
  auto near_midtown = [&] {
    auto r = admin.answer_as<schemas::nearby_results>(
        admin.send(schemas::nearby_batch{{{midtown, 500, 10}}}));
    return r.results.at(0).drivers;
  };
  // Two fed drivers; only d-22 keeps being reported.
  CHECK(admin
            .answer_as<schemas::ack>(admin.send(
                schemas::fleet_positions{{fed(21, midtown), fed(22, offset(midtown, 20, 0))}}))
            .accepted == 2);
  CHECK(near_midtown() == std::vector<driver_id>{driver_id{21}, driver_id{22}});
  *clock += 40'000;
  CHECK(admin
            .answer_as<schemas::ack>(
                admin.send(schemas::fleet_positions{{fed(22, offset(midtown, 30, 0))}}))
            .accepted == 1);
  *clock += 30'000;  // d-21 silent for 70 s, d-22 for 30 s
  CHECK(near_midtown() == std::vector<driver_id>{driver_id{22}});
  auto http_view = s.node->nearby(midtown.lat, midtown.lng, 500, 10);
  REQUIRE(http_view.ok());
  CHECK(http_view->size() == 1);
  *clock += 31'000;  // d-22 silent for 61 s
  CHECK(near_midtown().empty());
  // Reported again, a driver is back.
  CHECK(admin.answer_as<schemas::ack>(admin.send(schemas::fleet_positions{{fed(21, midtown)}}))
            .accepted == 1);
  CHECK(near_midtown() == std::vector<driver_id>{driver_id{21}});
}
