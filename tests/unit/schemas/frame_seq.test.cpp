// client_frame_seq / client_frame_seq_json: the seq of a frame that fails to
// decode, so its error_reply can answer it (protocol.md: ref_seq).
#include <doctest/doctest.h>

#include <string>

#include "rideshard/schemas/codec.hpp"

using namespace rideshard;
using namespace rideshard::schemas;

TEST_CASE("JSON: the top-level seq is found before the first malformed part") {
  CHECK(client_frame_seq_json(R"({"seq": 9, "body_type": "hello", "body": {"client": "x"}})") == 9);
  CHECK(client_frame_seq_json(R"({"body_type":"quote_request","body":{"pickup":{"lat":91,"lng":0},)"
                              R"("dropoff":{"lat":0,"lng":0}},"seq":10})") == 10);
  CHECK(client_frame_seq_json(R"( { "seq" : 18446744073709551615 )") == 18446744073709551615ull);
  CHECK(client_frame_seq_json(R"({"seq": 7, "body_type": )") == 7);
  // Nested "seq" keys and strings that look like them do not count.
  CHECK(client_frame_seq_json(R"({"body": {"seq": 5}, "x": "\"seq\": 6", "seq": 3})") == 3);
  CHECK(client_frame_seq_json(R"({"body": {"seq": 5}})") == 0);
  // Not readable: not an object, not an unsigned integer, broken before it, too big.
  CHECK(client_frame_seq_json("") == 0);
  CHECK(client_frame_seq_json("[1, 2]") == 0);
  CHECK(client_frame_seq_json(R"({"seq": -1})") == 0);
  CHECK(client_frame_seq_json(R"({"seq": 1.5})") == 0);
  CHECK(client_frame_seq_json(R"({"seq": "4"})") == 0);
  CHECK(client_frame_seq_json(R"({"seq": 18446744073709551616})") == 0);
  CHECK(client_frame_seq_json(R"({"body": {"a": [1, {"b": }]}, "seq": 4})") == 0);
  codec_limits tiny;
  tiny.max_frame_bytes = 8;
  CHECK(client_frame_seq_json(R"({"seq": 4})", tiny) == 0);
}

TEST_CASE("binary: the envelope's seq, whatever the body holds; 0 for garbage") {
  auto bad_quote = encode_client_binary({12, quote_request{{91.0, 0.0}, {0.0, 0.0}}});
  CHECK_FALSE(decode_client_binary(bad_quote.data(), bad_quote.size()).ok());
  CHECK(client_frame_seq(bad_quote.data(), bad_quote.size()) == 12);
  auto bad_pin = encode_client_binary({13, start_trip{trip_id{5}, "12a4"}});
  CHECK(client_frame_seq(bad_pin.data(), bad_pin.size()) == 13);
  // Unaligned input is copied, not misread.
  std::string shifted = " " + std::string(bad_pin.begin(), bad_pin.end());
  CHECK(client_frame_seq(reinterpret_cast<const std::uint8_t*>(shifted.data()) + 1,
                         bad_pin.size()) == 13);
  const std::string garbage("\x01\x02\x03\x04garbage", 11);
  CHECK(client_frame_seq(reinterpret_cast<const std::uint8_t*>(garbage.data()), garbage.size()) ==
        0);
  const std::uint8_t huge_offset[8] = {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};
  CHECK(client_frame_seq(huge_offset, sizeof huge_offset) == 0);
  CHECK(client_frame_seq(nullptr, 0) == 0);
}
