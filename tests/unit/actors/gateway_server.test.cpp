// The gateway over real sockets on 127.0.0.1, port 0, with Beast synchronous
// clients: WebSocket frames both ways, hostile frames, limits, HTTP, drain.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

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
// The stub answers with senders x per_sender frames, sent from `senders` threads
// at once: pong nonce = sender * 1000 + i.
constexpr std::uint64_t senders_nonce = 555;
constexpr std::uint64_t senders = 4;
constexpr std::uint64_t per_sender = 50;
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
      } else if (p->nonce == senders_nonce) {
        std::vector<std::thread> threads;
        for (std::uint64_t t = 0; t < senders; ++t) {
          threads.emplace_back([c, seq = msg.seq, t] {
            for (std::uint64_t i = 0; i < per_sender; ++i)
              c->send(schemas::server_message{0, seq, 0, schemas::pong{t * 1000 + i}});
          });
        }
        for (auto& th : threads) th.join();
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

/// Echoes the request it got in the reply; "/teapot" answers 418; the console
/// feed route answers feed_status.
struct stub_http final : http_handler {
  std::mutex m;
  std::vector<http_request> got;
  std::atomic<int> feed_status{200};
  void handle(http_request req, std::function<void(http_response)> respond) override {
    http_response res;
    res.status = req.path == "/teapot" ? 418 : 200;
    if (req.path == "/teapot") res.route = "/teapot";  // the only route it names
    if (req.path == "/api/admin/feed") res.status = feed_status.load();
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
  void send_raw(const std::vector<std::uint8_t>& data, bool binary) {
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

// A WebSocket upgrade request written by hand: Beast's client does not hand back
// a refused upgrade's response. Returns the plain HTTP answer.
http::response<http::string_body> raw_upgrade(
    std::uint16_t port, const std::string& path,
    const std::vector<std::pair<http::field, std::string>>& extra = {}) {
  net::io_context ioc;
  auto s = connect_to(ioc, port);
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  for (const auto& [field, value] : extra) req.set(field, value);
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return res;
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
  m = c.read();
  CHECK(error_code_of(m) == errc::bad_json);
  CHECK(std::get<schemas::error_reply>(m.body).ref_seq == 1);  // readable before the break
  CHECK(m.reply_to == 1);

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

  // Past the hard limit: the documented frame_too_large answer, then close 1009.
  beast::error_code write_ec;
  c.ws.binary(true);
  c.ws.write(net::buffer(std::string(200000, 'x')), write_ec);
  REQUIRE_FALSE(write_ec);
  auto answer = c.read();
  CHECK(error_code_of(answer) == errc::frame_too_large);
  const auto reason = c.read_until_closed(5);
  CHECK(reason.code == websocket::close_code::too_big);
  CHECK(std::string(reason.reason.c_str()) == "frame_too_large");
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

TEST_CASE("frames sent from several threads at once all arrive, each sender's in order") {
  fixture f;  // max_queue_frames 256: room for all of them
  ws_client c(f.port);
  c.send_json(ping_msg(1, senders_nonce));
  std::vector<std::uint64_t> next(senders, 0);
  for (std::uint64_t n = 0; n < senders * per_sender; ++n) {
    auto m = c.read();
    auto* pong = std::get_if<schemas::pong>(&m.body);
    REQUIRE(pong != nullptr);
    const auto sender = pong->nonce / 1000;
    REQUIRE(sender < senders);
    CHECK(pong->nonce % 1000 == next[sender]);
    ++next[sender];
  }
  for (auto n : next) CHECK(n == per_sender);
  CHECK(f.ws.send_refused == 0);
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

TEST_CASE("/v1/console: admitted by the feed route, pushes its answers, closes 1008 when refused") {
  gateway_config cfg;
  cfg.console_feed_interval = 20ms;
  fixture f(cfg);
  const auto upgrade = [&](const std::string& cookie, websocket::response_type& res,
                           websocket::stream<tcp::socket>& ws) {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), f.port));
    ws.set_option(websocket::stream_base::decorator(
        [cookie](websocket::request_type& r) { r.set(http::field::cookie, cookie); }));
    beast::error_code ec;
    ws.handshake(res, "127.0.0.1", "/v1/console", ec);
    return ec;
  };

  SUBCASE("a refused feed route is the upgrade's answer") {
    f.http_stub.feed_status = 401;
    const auto res =
        raw_upgrade(f.port, "/v1/console", {{http::field::cookie, "rs_console=expired"}});
    CHECK(res.result_int() == 401);
    CHECK(f.stats.console_feed_ticks(true) == 0);
  }

  SUBCASE("frames carry the feed route's answers until it refuses") {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    websocket::response_type res;
    REQUIRE_FALSE(upgrade("rs_console=good", res, ws));
    // Frame n+1 is written only after frame n's write completed: 4 read, >= 3 counted.
    for (int i = 0; i < 4; ++i) {
      beast::flat_buffer buf;
      ws.read(buf);
      CHECK(ws.got_text());
      CHECK(beast::buffers_to_string(buf.cdata()) == "{\"path\":\"/api/admin/feed\"}");
    }
    {
      std::lock_guard<std::mutex> l(f.http_stub.m);
      REQUIRE(f.http_stub.got.size() >= 4);
      for (const auto& r : f.http_stub.got) {
        CHECK(r.method == "GET");
        CHECK(r.cookie == "rs_console=good");  // the upgrade's credentials, every tick
        CHECK(r.client_address == "127.0.0.1");
      }
    }
    CHECK(f.stats.console_feed_ticks(true) >= 3);
    f.http_stub.feed_status = 403;  // e.g. the account was suspended
    beast::flat_buffer buf;
    beast::error_code ec;
    for (int i = 0; i < 100 && !ec; ++i)
      ws.read(buf, ec);  // frames already in flight, then the close
    REQUIRE(ec == websocket::error::closed);
    CHECK(ws.reason().code == websocket::close_code::policy_error);
    CHECK(std::string(ws.reason().reason.c_str()) == "feed refused: HTTP 403");
    CHECK(f.stats.closes_by_server("feed_refused") == 1);
  }

  SUBCASE("the feed takes no frames") {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    websocket::response_type res;
    REQUIRE_FALSE(upgrade("rs_console=good", res, ws));
    ws.text(true);
    ws.write(net::buffer(std::string("hello")));
    beast::flat_buffer buf;
    beast::error_code ec;
    for (int i = 0; i < 100 && !ec; ++i) ws.read(buf, ec);
    REQUIRE(ec == websocket::error::closed);
    CHECK(ws.reason().code == websocket::close_code::policy_error);
    CHECK(f.stats.closes_by_server("unexpected_frame") == 1);
  }
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

TEST_CASE("metric labels are route templates: unknown paths fold into one label") {
  fixture f;
  net::io_context ioc;
  auto s = connect_to(ioc, f.port);
  // A hostile client walks many distinct paths the handler names no route for.
  for (const char* p : {"/api/users/abc", "/api/users/abd", "/api/users/xyz", "/zz/top/q"})
    CHECK(http_call(s, http::verb::get, p).result_int() == 200);
  CHECK(http_call(s, http::verb::post, "/teapot", "{}").result_int() == 418);
  const auto text = http_call(s, http::verb::get, "/metrics").body();
  CHECK(text.find("rideshard_http_requests_total{route=\"unmatched\",status=\"200\"} 4") !=
        std::string::npos);
  CHECK(text.find("rideshard_http_requests_total{route=\"/teapot\",status=\"418\"} 1") !=
        std::string::npos);
  CHECK(text.find("abc") == std::string::npos);
  CHECK(text.find("/zz") == std::string::npos);
}

TEST_CASE("WebSocket upgrades from browsers need an allowed Origin; non-browsers pass") {
  gateway_config cfg;
  cfg.allowed_origins = {"https://console.example.com"};
  fixture f(cfg);
  auto upgrade = [&](const char* origin) {
    std::vector<std::pair<http::field, std::string>> extra;
    if (origin) extra.emplace_back(http::field::origin, origin);
    const auto res = raw_upgrade(f.port, "/v1/driver", extra);
    if (res.result_int() == 403)
      CHECK(res.body().find("\"code\":\"forbidden\"") != std::string::npos);
    return res.result_int();
  };
  CHECK(upgrade("https://evil.example.net") == 403);
  CHECK(upgrade("null") == 403);  // sandboxed frames
  CHECK(upgrade("https://Console.Example.com") == 101);
  CHECK(upgrade(nullptr) == 101);  // no Origin: an app or a script
  // A page this node served (the console) is same-origin: scheme://Host.
  CHECK(upgrade("http://127.0.0.1") == 101);
  CHECK(upgrade("https://127.0.0.1") == 403);  // not this listener's scheme
  CHECK(f.stats.security_events("origin_refused") == 3);
  CHECK(f.stats.errors(errc::forbidden) == 3);
}

namespace {
// A self-signed certificate for 127.0.0.1 made with the openssl CLI in a fresh dir.
struct self_signed {
  std::string dir, cert, key;
  self_signed() {
    char tmpl[] = "/tmp/rideshard-tls-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " >" + dir + "/openssl.log 2>&1";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, (std::string("openssl req failed, see ") + dir));
  }
  ~self_signed() { std::filesystem::remove_all(dir); }
};
}  // namespace

TEST_CASE("TLS: HTTPS and wss over a real TLS socket; plain text is not served") {
  self_signed tls;
  gateway_config cfg;
  cfg.tls_cert_file = tls.cert;
  cfg.tls_key_file = tls.key;
  fixture f(cfg);
  CHECK(f.gw.tls());
  net::ssl::context client_ctx(net::ssl::context::tls_client);
  client_ctx.load_verify_file(tls.cert);  // trust exactly this certificate
  client_ctx.set_verify_mode(net::ssl::verify_peer);
  net::io_context ioc;

  {  // HTTPS
    beast::ssl_stream<beast::tcp_stream> s(ioc, client_ctx);
    beast::get_lowest_layer(s).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), f.port));
    s.handshake(net::ssl::stream_base::client);
    http::request<http::string_body> req{http::verb::get, "/api/over-tls", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    CHECK(res.result_int() == 200);
    CHECK(res.body() == "{\"path\":\"/api/over-tls\"}");
  }
  {  // wss: JSON ping, pong back, over the same TLS session after the upgrade
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, client_ctx);
    beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), f.port));
    ws.next_layer().handshake(net::ssl::stream_base::client);
    ws.handshake("127.0.0.1", "/v1/rider");
    ws.text(true);
    auto text = schemas::encode_client_json(ping_msg(5, 42));
    REQUIRE(text.ok());
    ws.write(net::buffer(*text));
    beast::flat_buffer buf;
    ws.read(buf);
    auto msg = schemas::decode_server_json(
        std::string_view(static_cast<const char*>(buf.cdata().data()), buf.size()));
    REQUIRE(msg.ok());
    auto* pong = std::get_if<schemas::pong>(&msg->body);
    REQUIRE(pong);
    CHECK(pong->nonce == 42);
    CHECK(msg->reply_to == 5);
    ws.close(websocket::close_code::normal);
  }
  {  // A plain-text request to the TLS port gets no HTTP answer.
    auto s = connect_to(ioc, f.port);
    http::request<http::string_body> req{http::verb::get, "/api/plain", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    beast::error_code ec;
    http::read(s, buf, res, ec);
    CHECK(ec);
  }
  std::lock_guard<std::mutex> l(f.http_stub.m);
  REQUIRE(f.http_stub.got.size() == 1);  // only the HTTPS request reached the handler
}

TEST_CASE("TLS config: a certificate without its key, or an unreadable one, is bad_config") {
  metrics stats;
  stub_ws ws;
  stub_http h;
  gateway_config cfg;
  cfg.tls_cert_file = "/nonexistent/cert.pem";
  class gateway gw;
  CHECK(gw.start(cfg, ws, h, stats).code() == errc::bad_config);
  cfg.tls_key_file = "/nonexistent/key.pem";
  class gateway gw2;
  CHECK(gw2.start(cfg, ws, h, stats).code() == errc::bad_config);
}

TEST_CASE("error replies answer their frame's seq even when the frame fails validation") {
  fixture f;
  ws_client c(f.port, "/v1/rider");
  auto ref_of = [&](const schemas::server_message& m) {
    auto* e = std::get_if<schemas::error_reply>(&m.body);
    REQUIRE(e != nullptr);
    CHECK(m.reply_to == e->ref_seq);
    return std::make_pair(e->code, e->ref_seq);
  };
  // JSON: hello without a token, a quote at latitude 91, a start_trip with a non-digit PIN.
  c.send_raw(R"({"seq": 9, "body_type": "hello", "body": {"client": "x"}})", false);
  auto r = ref_of(c.read());
  CHECK(r.second == 9);
  c.send_raw(R"({"body_type": "quote_request", "body": {"pickup": {"lat": 91, "lng": 0},)"
             R"( "dropoff": {"lat": 0, "lng": 0}}, "seq": 10})",
             false);  // seq after the body
  r = ref_of(c.read());
  CHECK(r.first == errc::invalid_coordinate);
  CHECK(r.second == 10);
  c.send_raw(R"({"seq": 11, "body_type": "start_trip", "body": {"trip_id": 5, "pin": "12a4"}})",
             false);
  r = ref_of(c.read());
  CHECK(r.first == errc::invalid_argument);
  CHECK(r.second == 11);
  // Binary: the same invalid quote and PIN, encoded without validation.
  c.send_raw(schemas::encode_client_binary({12, schemas::quote_request{{91.0, 0.0}, {0.0, 0.0}}}),
             true);
  r = ref_of(c.read());
  CHECK(r.first == errc::invalid_coordinate);
  CHECK(r.second == 12);
  c.send_raw(schemas::encode_client_binary({13, schemas::start_trip{trip_id{5}, "12a4"}}), true);
  r = ref_of(c.read());
  CHECK(r.first == errc::invalid_argument);
  CHECK(r.second == 13);
  c.send_raw(schemas::encode_client_binary({14, schemas::hello{"", "x", false}}), true);
  r = ref_of(c.read());
  CHECK(r.first == errc::missing_field);
  CHECK(r.second == 14);
}
