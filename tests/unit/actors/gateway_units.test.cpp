// Gateway building blocks without sockets: token bucket, request targets,
// metrics text, the WebSocket Origin rule.
#include <doctest/doctest.h>

#include <chrono>

#include "gateway/detail/http_session.hpp"
#include "gateway/metrics.hpp"
#include "gateway/query_string.hpp"
#include "gateway/token_bucket.hpp"

using namespace rideshard;
using namespace rideshard::gateway;
using namespace std::chrono_literals;

TEST_CASE("token_bucket allows a burst, then the rate") {
  const auto t0 = token_bucket::clock::time_point{} + 1h;
  token_bucket b(10, 3, t0);
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0 + 50ms));  // half a token
  CHECK(b.try_take(t0 + 100ms));
  CHECK_FALSE(b.try_take(t0 + 100ms));
  // Refill is capped at the burst.
  CHECK(b.try_take(t0 + 10s));
  CHECK(b.try_take(t0 + 10s));
  CHECK(b.try_take(t0 + 10s));
  CHECK_FALSE(b.try_take(t0 + 10s));
  // A clock that goes backwards refills nothing.
  CHECK_FALSE(b.try_take(t0));
}

TEST_CASE("token_bucket with rate 0 never refills") {
  const auto t0 = token_bucket::clock::time_point{};
  token_bucket b(0, 2, t0);
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0 + 1000h));
}

TEST_CASE("percent_decode") {
  CHECK(*percent_decode("a%20b+c", true) == "a b c");
  CHECK(*percent_decode("a%20b+c", false) == "a b+c");
  CHECK(*percent_decode("%e2%82%AC", false) == "\xe2\x82\xac");
  CHECK(percent_decode("%2", true).code() == errc::invalid_argument);
  CHECK(percent_decode("%", true).code() == errc::invalid_argument);
  CHECK(percent_decode("%zz", true).code() == errc::invalid_argument);
  CHECK(percent_decode("%00", true).code() == errc::invalid_argument);
}

TEST_CASE("parse_target splits path and query") {
  auto t =
      parse_target("/api/drivers/nearby?lat=40.7&lon=-73.9&name=J%C3%BCrgen+X&flag&&k=1&k=2#frag");
  REQUIRE(t.ok());
  CHECK(t->path == "/api/drivers/nearby");
  CHECK(t->query.size() == 5);
  CHECK(t->query.at("lat") == "40.7");
  CHECK(t->query.at("lon") == "-73.9");
  CHECK(t->query.at("name") == "J\xc3\xbcrgen X");
  CHECK(t->query.at("flag").empty());
  CHECK(t->query.at("k") == "1");
  CHECK(parse_target("/health")->query.empty());
  CHECK(parse_target("health").code() == errc::invalid_argument);
  CHECK(parse_target("/x?a=%G1").code() == errc::invalid_argument);
}

TEST_CASE("metrics render the text format") {
  metrics m;
  m.connection_opened(endpoint::driver);
  m.frame_in(schemas::client_body{schemas::ping{1}});
  m.frame_out(schemas::server_body{schemas::pong{1}});
  m.error(errc::bad_json);
  m.error(errc::bad_json);
  m.http_request("/health", 200);
  m.observe_request_to_offer(3ms);
  m.set_trips(trip_state::in_progress, 4);
  m.set_queue_depth("matcher", 7);
  m.connection_closed_by_server("slow_consumer");
  CHECK(m.errors(errc::bad_json) == 2);
  CHECK(m.frames_in("ping") == 1);
  CHECK(m.frames_out("pong") == 1);
  CHECK(m.connections(endpoint::driver) == 1);
  const auto text = m.render_text();
  CHECK(text.find("rideshard_connections{endpoint=\"driver\"} 1") != std::string::npos);
  CHECK(text.find("rideshard_frames_in_total{type=\"ping\"} 1") != std::string::npos);
  CHECK(text.find("rideshard_frames_out_total{type=\"pong\"} 1") != std::string::npos);
  CHECK(text.find("rideshard_errors_total{code=\"bad_json\"} 2") != std::string::npos);
  CHECK(text.find("rideshard_http_requests_total{route=\"/health\",status=\"200\"} 1") !=
        std::string::npos);
  CHECK(text.find("rideshard_request_to_offer_seconds_count 1") != std::string::npos);
  CHECK(text.find("rideshard_trips{state=\"in_progress\"} 4") != std::string::npos);
  CHECK(text.find("rideshard_queue_depth{queue=\"matcher\"} 7") != std::string::npos);
  CHECK(text.find("rideshard_connection_closes_total{reason=\"slow_consumer\"} 1") !=
        std::string::npos);
}

TEST_CASE("business metrics: payment success rate, revenue per ride, driver utilization") {
  metrics m;
  // No drivers: 0, not a division by zero.
  CHECK(m.render_text().find("rideshard_driver_utilization_ratio 0\n") != std::string::npos);
  for (int i = 0; i < 4; ++i) m.connection_opened(endpoint::driver);
  m.set_trips(trip_state::accepted, 1);
  m.set_trips(trip_state::in_progress, 2);
  m.set_trips(trip_state::requested, 5);  // no driver yet: not counted
  m.payment_event("authorized", 2000);
  m.payment_event("authorized", 1000);
  m.payment_event("declined", 0);
  m.payment_event("captured", 2000);
  m.payment_event("captured", 1000);
  m.payment_event("refunded", 500);
  CHECK(m.payment_success_ratio() == doctest::Approx(2.0 / 3));
  const auto text = m.render_text();
  CHECK(text.find("rideshard_revenue_per_ride_minor 1250\n") != std::string::npos);  // (3000-500)/2
  CHECK(text.find("rideshard_driver_utilization_ratio 0.75\n") != std::string::npos);
}

TEST_CASE("origin_allowed: no header, the node's own origin, or the allowlist") {
  using gateway::detail::origin_allowed;
  const std::vector<std::string> allow{"https://ops.example.com"};
  const std::string own = "http://127.0.0.1:8080";
  // No Origin header: not a browser (apps, curl).
  CHECK(origin_allowed(std::nullopt, own, allow));
  CHECK(origin_allowed(std::nullopt, "", {}));
  // A page this node served (the console) is same-origin, in any letter case.
  CHECK(origin_allowed(std::string_view("http://127.0.0.1:8080"), own, {}));
  CHECK(origin_allowed(std::string_view("HTTP://127.0.0.1:8080"), own, {}));
  // Allowlisted, case-insensitively.
  CHECK(origin_allowed(std::string_view("https://OPS.example.com"), own, allow));
  // Refused: an empty header, another site, another scheme or port of this host,
  // and a same-origin claim when the request named no Host.
  CHECK_FALSE(origin_allowed(std::string_view(""), own, allow));
  CHECK_FALSE(origin_allowed(std::string_view("https://evil.example"), own, allow));
  CHECK_FALSE(origin_allowed(std::string_view("https://127.0.0.1:8080"), own, allow));
  CHECK_FALSE(origin_allowed(std::string_view("http://127.0.0.1:8081"), own, allow));
  CHECK_FALSE(origin_allowed(std::string_view("http://127.0.0.1:8080"), "", allow));
  CHECK_FALSE(origin_allowed(std::string_view("https://ops.example.com.evil"), own, allow));
}
