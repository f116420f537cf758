// Round trips of every wire message kind through binary and JSON frames, in
// both directions, plus cross-format equivalence.
#include <doctest/doctest.h>

#include <thread>

#include "rideshard/schemas/codec.hpp"
#include "sample_messages.hpp"

using namespace rideshard;
using namespace rideshard::schemas;

TEST_CASE("every client message kind round-trips through binary and JSON") {
  const auto msgs = samples::client_messages();
  REQUIRE(msgs.size() == std::variant_size_v<client_body>);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& msg = msgs[i];
    CAPTURE(kind_name(msg.body));
    CHECK(msg.body.index() == i);

    const auto bin = encode_client_binary(msg);
    auto from_bin = decode_client_binary(bin.data(), bin.size());
    REQUIRE_MESSAGE(from_bin.ok(), from_bin.err().message);
    CHECK(*from_bin == msg);

    for (auto style : {json_style::compact, json_style::pretty}) {
      auto json = encode_client_json(msg, style);
      REQUIRE(json.ok());
      auto from_json = decode_client_json(*json);
      REQUIRE_MESSAGE(from_json.ok(), (from_json.err().message + " in " + *json));
      CHECK(*from_json == msg);
    }
  }
}

TEST_CASE("every server message kind round-trips through binary and JSON") {
  const auto msgs = samples::server_messages();
  REQUIRE(msgs.size() == std::variant_size_v<server_body>);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& msg = msgs[i];
    CAPTURE(kind_name(msg.body));
    CHECK(msg.body.index() == i);

    const auto bin = encode_server_binary(msg);
    auto from_bin = decode_server_binary(bin.data(), bin.size());
    REQUIRE_MESSAGE(from_bin.ok(), from_bin.err().message);
    CHECK(*from_bin == msg);

    auto json = encode_server_json(msg);
    REQUIRE(json.ok());
    auto from_json = decode_server_json(*json);
    REQUIRE_MESSAGE(from_json.ok(), (from_json.err().message + " in " + *json));
    CHECK(*from_json == msg);
  }
}

TEST_CASE("search_radius_m survives both formats; a frame without it reads 0") {
  const auto msg = samples::search_progress_push();
  const auto bin = encode_server_binary(msg);
  auto from_bin = decode_server_binary(bin.data(), bin.size());
  REQUIRE(from_bin.ok());
  CHECK(std::get<trip_status>(from_bin->body).search_radius_m == 6000);
  auto json = encode_server_json(msg);
  REQUIRE(json.ok());
  CHECK(json->find("\"search_radius_m\"") != std::string::npos);
  auto from_json = decode_server_json(*json);
  REQUIRE(from_json.ok());
  CHECK(*from_json == msg);
  // A frame of a server from before the field: without it, it reads 0.
  auto old = *encode_server_json(msg, json_style::pretty);
  const std::string field = ",\n    \"search_radius_m\": 6000";
  const auto at = old.find(field);
  REQUIRE(at != std::string::npos);
  old.erase(at, field.size());
  auto read = decode_server_json(old);
  REQUIRE_MESSAGE(read.ok(), read.err().message);
  CHECK(std::get<trip_status>(read->body).search_radius_m == 0);
  CHECK(std::get<trip_status>(read->body).state == trip_state::requested);
}

TEST_CASE("optional fields: absent and present survive both formats") {
  client_message no_quote{5, ride_request{std::nullopt, samples::pickup, samples::dropoff}};
  auto json = encode_client_json(no_quote);
  REQUIRE(json.ok());
  CHECK(json->find("\"quote_id\": null") != std::string::npos);
  auto back = decode_client_json(*json);
  REQUIRE(back.ok());
  CHECK(*back == no_quote);

  server_message idle{1, 1, 5, welcome{"d-1", role::driver, false, std::nullopt}};
  const auto bin = encode_server_binary(idle);
  auto from_bin = decode_server_binary(bin.data(), bin.size());
  REQUIRE(from_bin.ok());
  CHECK(*from_bin == idle);

  // The driver's view of a trip carries no PIN and no driver position yet.
  auto driver_view = samples::status(trip_state::requested, false);
  server_message push{2, 0, 6, driver_view};
  auto text = encode_server_json(push);
  REQUIRE(text.ok());
  CHECK(text->find("\"pin\"") == std::string::npos);
  CHECK(text->find("driver_position") == std::string::npos);
  auto parsed = decode_server_json(*text);
  REQUIRE(parsed.ok());
  CHECK(*parsed == push);
}

TEST_CASE("JSON and binary frames decode to the same message") {
  const auto msg = samples::client_messages()[3];  // location_batch
  auto json = encode_client_json(msg);
  REQUIRE(json.ok());
  auto a = decode_client_json(*json);
  const auto bin = encode_client_binary(msg);
  auto b = decode_client_binary(bin.data(), bin.size());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
}

TEST_CASE("JSON input: field order is free, ids may be quoted, whitespace is ignored") {
  auto m = decode_client_json(
      "{ \"body\": { \"trip_id\": \"7208245990563841\" },\n  \"body_type\": \"accept_offer\","
      " \"seq\": 9 }");
  REQUIRE_MESSAGE(m.ok(), m.err().message);
  CHECK(m->seq == 9);
  CHECK(std::get<accept_offer>(m->body).trip == samples::trip);
}

TEST_CASE("error replies carry the stable code name and number") {
  server_message msg{3, 7, 9, error_reply{errc::wrong_pin, "PIN does not match", 7}};
  auto json = encode_server_json(msg);
  REQUIRE(json.ok());
  CHECK(json->find("\"code\": 21") != std::string::npos);
  CHECK(json->find("\"code_name\": \"wrong_pin\"") != std::string::npos);
}

TEST_CASE("kind names match the wire union names") {
  CHECK(kind_name(client_body{location_batch{}}) == "location_batch");
  CHECK(kind_name(client_body{ping{}}) == "ping");
  CHECK(kind_name(server_body{error_reply{}}) == "error_reply");
  CHECK(kind_name(server_body{welcome{}}) == "welcome");
}

TEST_CASE("the codec is usable from several threads (one parser per thread)") {
  const auto msg = samples::client_messages()[0];
  auto json = encode_client_json(msg);
  REQUIRE(json.ok());
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto m = decode_client_json(*json);
        if (m.ok() && *m == msg) ++ok[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : threads) th.join();
  for (int n : ok) CHECK(n == 200);
}
