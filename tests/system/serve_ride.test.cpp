// System test: the built `rideshard serve` binary on 127.0.0.1:0, a driver
// (binary FlatBuffers frames) and a rider (JSON text frames) riding from quote
// to receipt over real WebSockets, HTTP /health and /metrics, then SIGTERM.
#include <doctest/doctest.h>

#include "app_client.hpp"
#include "node_process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "auth/jwt.hpp"
#include "rideshard/schemas/codec.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using rideshard::system_test::app_client;
using rideshard::system_test::node_process;
using namespace rideshard::schemas;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

constexpr const char* test_secret = "serve-ride-system-test-secret-0123456789abcdef";

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string http_get(unsigned short port, const std::string& target, int& status) {
  net::io_context ioc;
  tcp::socket s(ioc);
  tcp::resolver resolver(ioc);
  net::connect(s, resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  status = static_cast<int>(res.result_int());
  return res.body();
}

std::string mint(const std::string& sub, auth::role r) {
  return system_test::mint_token(test_secret, sub, r);
}

trip_status wait_state(app_client& c, trip_state s) {
  return c.expect<trip_status>([s](const trip_status& t) { return t.state == s; });
}

}  // namespace

TEST_CASE("a driver and a rider ride from quote to receipt against the real binary") {
  node_process node(test_secret);
  const lat_lng midtown{40.7540, -73.9840};

  app_client driver(node.port, "/v1/driver", true);
  driver.send(hello{mint("d-501", auth::role::driver), "system-test-driver", false});
  CHECK(driver.expect<welcome>().subject == "d-501");
  driver.send(go_online{});
  driver.expect<ack>();
  // The first fix is 30 s old so that the next one implies a car's speed.
  driver.send(location_batch{{location_sample{midtown, 90, 0, now_ms() - 30'000}}});
  driver.expect<ack>();

  app_client rider(node.port, "/v1/rider", false);
  rider.send(hello{mint("r-601", auth::role::rider), "system-test-rider", false});
  CHECK(rider.expect<welcome>().subject == "r-601");
  const lat_lng pickup{40.7560, -73.9860};
  const lat_lng dropoff{40.7300, -73.9900};
  rider.send(quote_request{pickup, dropoff});
  const quote q = rider.expect<quote>();
  CHECK(q.fare.total_minor > 0);
  CHECK(q.currency == "USD");
  rider.send(ride_request{q.id, pickup, dropoff});

  const offer o = driver.expect<offer>();
  CHECK(o.pickup == pickup);
  driver.send(accept_offer{o.trip});
  const trip_status accepted = wait_state(rider, trip_state::accepted);
  CHECK(accepted.trip == o.trip);
  CHECK(accepted.pin.size() == 4);

  // The rider sees the driver move during pickup.
  driver.send(location_batch{{location_sample{{40.7550, -73.9850}, 300, 8, now_ms()}}});
  const driver_position pos = rider.expect<driver_position>();
  CHECK(pos.trip == o.trip);

  driver.send(arrived{o.trip});
  wait_state(rider, trip_state::driver_arrived);
  driver.send(start_trip{o.trip, accepted.pin});
  wait_state(rider, trip_state::in_progress);
  driver.send(complete_trip{o.trip});
  const receipt rr = rider.expect<receipt>();
  const receipt dr = driver.expect<receipt>();
  CHECK(rr.trip == o.trip);
  CHECK(dr.trip == o.trip);
  CHECK(rr.final_state == trip_state::completed);
  CHECK(rr.fare.total_minor == q.fare.total_minor);  // the quoted price holds

  int status = 0;
  const std::string health = http_get(node.port, "/health", status);
  CHECK(status == 200);
  CHECK(health.find("\"status\"") != std::string::npos);
  const std::string metrics = http_get(node.port, "/metrics", status);
  CHECK(status == 200);
  CHECK(metrics.find("rideshard_frames_in_total") != std::string::npos);

  // SIGTERM drains: both apps get a close frame (going away), the node exits 0.
  kill(node.pid, SIGTERM);
  for (app_client* c : {&rider, &driver}) {
    beast::flat_buffer buf;
    beast::error_code ec;
    for (int i = 0; i < 50 && !ec; ++i) ec = c->read_frame(buf);  // skip frames still queued
    CHECK(ec == websocket::error::closed);
    CHECK(c->ws.reason().code == websocket::close_code::going_away);
  }
  CHECK(node.wait_exit() == 0);
}

TEST_CASE("the binary refuses bad tokens and bad frames with typed errors") {
  node_process node(test_secret);
  app_client rider(node.port, "/v1/rider", false);
  rider.send(quote_request{{40.75, -73.98}, {40.73, -73.99}});
  auto m = rider.read();
  auto* e = std::get_if<error_reply>(&m.body);
  REQUIRE(e);
  CHECK(e->code == errc::unauthenticated);

  rider.send(hello{"not-a-jwt", "x", false});
  m = rider.read();
  e = std::get_if<error_reply>(&m.body);
  REQUIRE(e);
  CHECK(e->code == errc::unauthenticated);

  rider.send(hello{mint("d-9", auth::role::driver), "x", false});  // driver token, rider path
  m = rider.read();
  e = std::get_if<error_reply>(&m.body);
  REQUIRE(e);
  CHECK(e->code == errc::forbidden);

  rider.ws.text(true);
  rider.ws.write(net::buffer(
      std::string(R"({"seq": 1, "body_type": "quote_request", "body": {"pickup": "north"}})")));
  m = rider.read();
  e = std::get_if<error_reply>(&m.body);
  REQUIRE(e);
  CHECK(e->code == errc::bad_json);
  CHECK(node.terminate() == 0);
}
