// The gateway over real sockets on 127.0.0.1, port 0, with Beast synchronous
// clients: WebSocket frames both ways, hostile frames, limits, HTTP, drain.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "gateway/listener.hpp"
#include "gateway/metrics.hpp"
#include "rideshard/schemas/codec.hpp"

using namespace rideshard;
using namespace rideshard::gateway;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t flood_nonce = 999;  // the stub answers with 100 frames
constexpr std::uint64_t close_nonce = 777;  // the stub closes with reason "bye"

/// Answers ping with pong; records what it saw. Waits are bounded.
struct stub_ws final : ws_handler {
  std::mutex m;
  std::condition_variable cv;
  int opened = 0;
  int closed = 0;
  int send_refused = 0;
  std::vector<schemas::client_message> got;

  void on_open(const connection_ptr&) override {
    std::lock_guard<std::mutex> l(m);
    ++opened;
    cv.notify_all();
  }
  void on_message(const connection_ptr& c, schemas::client_message msg) override {
    if (auto* p = std::get_if<schemas::ping>(&msg.body)) {
      if (p->nonce == flood_nonce) {
        int refused = 0;
        for (std::uint64_t i = 0; i < 100; ++i) {
          if (!c->send(schemas::server_message{0, msg.seq, 0, schemas::pong{i}})) ++refused;
        }
        std::lock_guard<std::mutex> l(m);
        send_refused += refused;
      } else if (p->nonce == close_nonce) {
        c->close("bye");
      } else {
        CHECK(c->send(schemas::server_message{0, msg.seq, 0, schemas::pong{p->nonce}}));
      }
    }
    std::lock_guard<std::mutex> l(m);
    got.push_back(std::move(msg));
  }
  void on_close(const connection_ptr& c) override {
    CHECK_FALSE(c->send(schemas::server_message{0, 0, 0, schemas::pong{1}}));
    std::lock_guard<std::mutex> l(m);
    ++closed;
    cv.notify_all();
  }
  bool wait_closed(int n) {
    std::unique_lock<std::mutex> l(m);
    return cv.wait_for(l, 20s, [&] { return closed >= n; });
  }
};

/// Echoes the request it got in the reply; "/teapot" answers 418.
struct stub_http final : http_handler {
  std::mutex m;
  std::vector<http_request> got;
  void handle(http_request req, std::function<void(http_response)> respond) override {
    http_response res;
    res.status = req.path == "/teapot" ? 418 : 200;
    res.body = "{\"path\":\"" + req.path + "\"}";
    {
      std::lock_guard<std::mutex> l(m);
      got.push_back(std::move(req));
    }
    respond(std::move(res));
  }
};

struct fixture {
  metrics stats;
  stub_ws ws;
  stub_http http_stub;
  class gateway gw;
  std::uint16_t port = 0;

  explicit fixture(gateway_config cfg = {}) {
    auto bound = gw.start(cfg, ws, http_stub, stats);
    REQUIRE(bound.ok());
    port = *bound;
    REQUIRE(port != 0);
  }
};

schemas::client_message ping_msg(std::uint64_t seq, std::uint64_t nonce) {
  return schemas::client_message{seq, schemas::ping{nonce}};
}

/// A synchronous WebSocket client.
struct ws_client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};

  ws_client(std::uint16_t port, const std::string& path = "/v1/driver") {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws.handshake("127.0.0.1", path);
  }
  void send_json(const schemas::client_message& msg) {
    auto text = schemas::encode_client_json(msg);
    REQUIRE(text.ok());
    send_raw(*text, false);
  }
  void send_binary(const schemas::client_message& msg) {
    const auto bytes = schemas::encode_client_binary(msg);
    send_raw(std::string(bytes.begin(), bytes.end()), true);
  }
  void send_raw(const std::string& data, bool binary) {
    ws.binary(binary);
    ws.write(net::buffer(data));
  }
  /// Reads one frame and decodes it in the format it came in.
  schemas::server_message read(bool* was_binary = nullptr) {
    beast::flat_buffer buf;
    ws.read(buf);
    const auto data = buf.cdata();
    if (was_binary) *was_binary = ws.got_binary();
    auto msg = ws.got_binary() ? schemas::decode_server_binary(
                                     static_cast<const std::uint8_t*>(data.data()), data.size())
                               : schemas::decode_server_json(std::string_view(
                                     static_cast<const char*>(data.data()), data.size()));
    REQUIRE(msg.ok());
    return std::move(*msg);
  }
  /// Reads until the server's close frame; returns it. Bounded.
  websocket::close_reason read_until_closed(int max_frames, int* frames = nullptr) {
    beast::flat_buffer buf;
    for (int i = 0; i < max_frames; ++i) {
      beast::error_code ec;
      ws.read(buf, ec);
      if (ec) {
        CHECK(ec == websocket::error::closed);
        return ws.reason();
      }
      buf.consume(buf.size());
      if (frames) ++*frames;
    }
    FAIL("no close frame");
    return {};
  }
};

errc error_code_of(const schemas::server_message& m) {
  auto* e = std::get_if<schemas::error_reply>(&m.body);
  REQUIRE(e != nullptr);
  return e->code;
}

/// One HTTP request over a fresh or given connection.
http::response<http::string_body> http_call(tcp::socket& s, http::verb verb,
                                            const std::string& target, std::string body = {},
                                            std::string auth = {}) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!auth.empty()) req.set(http::field::authorization, auth);
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return res;
}

tcp::socket connect_to(net::io_context& ioc, std::uint16_t port) {
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  return s;
}

}  // namespace

TEST_CASE("JSON text and binary frames round-trip; replies follow the client's format") {
  fixture f;
  ws_client c(f.port);
  bool binary = true;
  c.send_json(ping_msg(1, 41));
  auto m = c.read(&binary);
  CHECK_FALSE(binary);
  CHECK(m.reply_to == 1);
  CHECK(std::get<schemas::pong>(m.body).nonce == 41);

  c.send_binary(ping_msg(2, 42));
  m = c.read(&binary);
  CHECK(binary);
  CHECK(m.reply_to == 2);
  CHECK(std::get<schemas::pong>(m.body).nonce == 42);

  c.ws.close(websocket::close_code::normal);
  REQUIRE(f.ws.wait_closed(1));
  CHECK(f.ws.got.size() == 2);
  CHECK(f.stats.frames_in("ping") == 2);
  CHECK(f.stats.frames_out("pong") == 2);
}

TEST_CASE("malformed binary and bad JSON get error replies; the connection stays open") {
  fixture f;
  ws_client c(f.port, "/v1/rider");
  c.send_raw(std::string("\x01\x02\x03\x04garbage", 11), true);
  auto m = c.read();
  CHECK(error_code_of(m) == errc::malformed_buffer);
  CHECK(std::get<schemas::error_reply>(m.body).ref_seq == 0);

  c.send_raw("{\"seq\": 1, \"body_type\": ", false);
  CHECK(error_code_of(c.read()) == errc::bad_json);

  c.send_json(ping_msg(3, 3));
  CHECK(std::get<schemas::pong>(c.read().body).nonce == 3);
  CHECK(f.stats.errors(errc::malformed_buffer) == 1);
  CHECK(f.stats.errors(errc::bad_json) == 1);
  {
    std::lock_guard<std::mutex> l(f.ws.m);
    CHECK(f.ws.got.size() == 1);  // only the valid ping reached the handler
  }
}

TEST_CASE("oversized frames: frame_too_large reply, then close 1009 past the hard limit") {
  gateway_config cfg;
  cfg.max_frame_bytes = 1024;
  fixture f(cfg);
  ws_client c(f.port);
  c.send_raw(std::string(1500, 'x'), true);
  CHECK(error_code_of(c.read()) == errc::frame_too_large);
  c.send_json(ping_msg(1, 1));
  CHECK(std::get<schemas::pong>(c.read().body).nonce == 1);

  // The server may fail the connection before it has read all of it.
  beast::error_code write_ec;
  c.ws.binary(true);
  c.ws.write(net::buffer(std::string(10000, 'x')), write_ec);
  // Beast sends close 1009 and tears the socket down. The frame's unread bytes make
  // the server's kernel answer with a reset, which may overtake the close frame: the
  // client then sees the reset. Never another frame, never a close without 1009.
  beast::flat_buffer buf;
  beast::error_code ec;
  c.ws.read(buf, ec);
  CAPTURE(ec.message());
  if (ec == websocket::error::closed) {
    CHECK(c.ws.reason().code == websocket::close_code::too_big);
  } else {
    CHECK(ec == net::error::connection_reset);
  }
  REQUIRE(f.ws.wait_closed(1));
  CHECK(f.stats.errors(errc::frame_too_large) == 2);
  CHECK(f.stats.closes_by_server("frame_too_large") == 1);
}

TEST_CASE("a flood is answered with rate_limited; the connection stays") {
  gateway_config cfg;
  cfg.rate_per_s = 0;  // no refill: the count of accepted frames is exactly the burst
  cfg.burst = 5;
  fixture f(cfg);
  ws_client c(f.port);
  for (int i = 1; i <= 20; ++i) c.send_json(ping_msg(static_cast<std::uint64_t>(i), 7));
  int pongs = 0;
  int limited = 0;
  for (int i = 0; i < 20; ++i) {
    const auto m = c.read();
    if (std::holds_alternative<schemas::pong>(m.body)) ++pongs;
    if (auto* e = std::get_if<schemas::error_reply>(&m.body))
      limited += e->code == errc::rate_limited;
  }
  CHECK(pongs == 5);
  CHECK(limited == 15);
  CHECK(f.stats.errors(errc::rate_limited) == 15);
}

TEST_CASE("a client that cannot keep up is closed with 'slow consumer'") {
  gateway_config cfg;
  cfg.max_queue_frames = 4;
  fixture f(cfg);
  ws_client c(f.port);
  c.send_json(ping_msg(1, flood_nonce));
  int frames = 0;
  const auto reason = c.read_until_closed(200, &frames);
  CHECK(reason.code == websocket::close_code::policy_error);
  CHECK(std::string(reason.reason.c_str()) == "slow consumer");
  CHECK(frames <= 4);
  REQUIRE(f.ws.wait_closed(1));
  CHECK(f.ws.send_refused >= 96);
  CHECK(f.stats.closes_by_server("slow_consumer") == 1);
}

TEST_CASE("connection::close sends a close frame with the reason") {
  fixture f;
  ws_client c(f.port, "/v1/admin");
  c.send_json(ping_msg(1, close_nonce));
  const auto reason = c.read_until_closed(5);
  CHECK(reason.code == websocket::close_code::normal);
  CHECK(std::string(reason.reason.c_str()) == "bye");
  REQUIRE(f.ws.wait_closed(1));
}

TEST_CASE("HTTP: handler routing with decoded query, keep-alive, /metrics, errors") {
  gateway_config cfg;
  cfg.max_body_bytes = 100;
  fixture f(cfg);
  {
    ws_client c(f.port);  // something for /metrics to show
    c.send_json(ping_msg(1, 1));
    c.read();
  }
  net::io_context ioc;
  auto s = connect_to(ioc, f.port);
  auto res = http_call(s, http::verb::get, "/api/drivers/nearby?lat=40.7&lon=-73.9&who=a%20b+c", {},
                       "Bearer t0k");
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "{\"path\":\"/api/drivers/nearby\"}");
  // Same connection (keep-alive).
  res = http_call(s, http::verb::post, "/teapot", "{}");
  CHECK(res.result_int() == 418);
  {
    std::lock_guard<std::mutex> l(f.http_stub.m);
    REQUIRE(f.http_stub.got.size() == 2);
    const auto& r = f.http_stub.got[0];
    CHECK(r.method == "GET");
    CHECK(r.path == "/api/drivers/nearby");
    CHECK(r.query.at("lat") == "40.7");
    CHECK(r.query.at("lon") == "-73.9");
    CHECK(r.query.at("who") == "a b c");
    CHECK(r.authorization == "Bearer t0k");
    CHECK(f.http_stub.got[1].body == "{}");
  }
  res = http_call(s, http::verb::get, "/metrics");
  CHECK(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "text/plain; version=0.0.4");
  CHECK(res.body().find("rideshard_frames_in_total{type=\"ping\"} 1") != std::string::npos);
  CHECK(res.body().find("rideshard_http_requests_total{route=\"/teapot\",status=\"418\"} 1") !=
        std::string::npos);

  res = http_call(s, http::verb::get, "/x?bad=%zz");
  CHECK(res.result_int() == 400);
  CHECK(res.body().find("\"code\":\"invalid_argument\"") != std::string::npos);

  auto s2 = connect_to(ioc, f.port);
  res = http_call(s2, http::verb::post, "/api/trips", std::string(1000, 'x'));
  CHECK(res.result_int() == 413);
  CHECK(res.body().find("{\"error\":{\"code\":") == 0);

  auto s3 = connect_to(ioc, f.port);
  net::write(s3, net::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  beast::flat_buffer buf;
  http::response<http::string_body> bad;
  http::read(s3, buf, bad);
  CHECK(bad.result_int() == 400);
  CHECK(bad.body().find("\"error\"") != std::string::npos);
}

TEST_CASE("WebSocket upgrade on an unknown path is 404") {
  fixture f;
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), f.port));
  beast::error_code ec;
  ws.handshake("127.0.0.1", "/v1/nope", ec);
  CHECK(ec == websocket::error::upgrade_declined);
  // The same request by hand, to see the status.
  auto s = connect_to(ioc, f.port);
  http::request<http::empty_body> req{http::verb::get, "/v1/nope", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  CHECK(res.result_int() == 404);
  CHECK(res.body().find("\"code\":\"not_found\"") != std::string::npos);
  CHECK(f.ws.opened == 0);
}

TEST_CASE("200 concurrent connections open and close cleanly") {
  gateway_config cfg;
  cfg.io_threads = 2;
  fixture f(cfg);
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(std::make_unique<ws_client>(f.port, i % 2 ? "/v1/rider" : "/v1/driver"));
  }
  for (std::size_t i = 0; i < clients.size(); ++i) clients[i]->send_binary(ping_msg(1, i));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    CHECK(std::get<schemas::pong>(clients[i]->read().body).nonce == i);
  }
  CHECK(f.stats.connections(endpoint::driver) == 100);
  CHECK(f.stats.connections(endpoint::rider) == 100);
  for (auto& c : clients) c->ws.close(websocket::close_code::normal);
  REQUIRE(f.ws.wait_closed(200));
  CHECK(f.gw.drain(std::chrono::steady_clock::now() + 20s));
  CHECK(f.gw.session_count() == 0);
  CHECK(f.ws.opened == 200);
  CHECK(f.stats.connections(endpoint::driver) == 0);
  CHECK(f.stats.connections(endpoint::rider) == 0);
}

TEST_CASE("drain sends going_away close frames and stops accepting") {
  fixture f;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<ws_client>(f.port));
    clients.back()->send_json(ping_msg(1, 1));
    clients.back()->read();  // the session is open on the server
  }
  auto drained = std::async(std::launch::async,
                            [&] { return f.gw.drain(std::chrono::steady_clock::now() + 20s); });
  for (auto& c : clients) {
    const auto reason = c->read_until_closed(5);
    CHECK(reason.code == websocket::close_code::going_away);
  }
  CHECK(drained.get());
  CHECK(f.ws.closed == 3);
  CHECK(f.stats.closes_by_server("drain") == 3);
  net::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), f.port), ec);
  CHECK(ec);
  f.gw.stop();
}
