// Hostile binary frames: random bytes, truncation, corrupted offsets, unknown
// union members, limits and content checks. Every case is a typed error, never a crash.
#include <doctest/doctest.h>
#include <flatbuffers/flatbuffers.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

#include "rideshard/schemas/codec.hpp"
#include "sample_messages.hpp"

using namespace rideshard;
using namespace rideshard::schemas;

namespace {

errc client_code(const std::vector<std::uint8_t>& buf,
                 const codec_limits& limits = client_frame_limits) {
  return decode_client_binary(buf.data(), buf.size(), limits).code();
}

errc client_code(const client_message& msg) { return client_code(encode_client_binary(msg)); }

/// A hand-built client_message (fields: seq=0, body_type=1, body=2) whose body is
/// an empty table, so tests can use union tags this build does not know.
std::vector<std::uint8_t> raw_client_message(std::uint8_t body_type, bool with_body = true) {
  flatbuffers::FlatBufferBuilder b;
  const auto body_start = b.StartTable();
  const flatbuffers::Offset<void> body(b.EndTable(body_start));
  const auto start = b.StartTable();
  b.AddElement<std::uint64_t>(4, 77, 0);
  b.AddElement<std::uint8_t>(6, body_type, 0);
  if (with_body) b.AddOffset(8, body);
  b.Finish(flatbuffers::Offset<void>(b.EndTable(start)));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

}  // namespace

TEST_CASE("random bytes are malformed_buffer, never a crash") {
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> len(0, 600);
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::uint8_t> buf(len(rng));
    for (auto& b : buf) b = static_cast<std::uint8_t>(byte(rng));
    CHECK(client_code(buf) == errc::malformed_buffer);
    CHECK(decode_server_binary(buf.data(), buf.size()).code() == errc::malformed_buffer);
  }
  CHECK(decode_client_binary(nullptr, 0).code() == errc::malformed_buffer);
}

// A truncation may only drop the unreferenced alignment padding after the last
// string's NUL terminator (then it decodes to the same message); any cut into
// referenced bytes must be rejected.
TEST_CASE("every truncation of every valid frame is rejected or loses only padding") {
  std::size_t rejected = 0, total = 0;
  for (const auto& msg : samples::client_messages()) {
    const auto full = encode_client_binary(msg);
    CAPTURE(kind_name(msg.body));
    for (std::size_t n = 0; n < full.size(); ++n, ++total) {
      const std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
      auto r = decode_client_binary(cut.data(), cut.size());
      if (r.ok()) {
        CHECK(full.size() - n < 4);
        CHECK(*r == msg);
      } else {
        CHECK(r.code() == errc::malformed_buffer);
        ++rejected;
      }
    }
  }
  for (const auto& msg : samples::server_messages()) {
    const auto full = encode_server_binary(msg);
    CAPTURE(kind_name(msg.body));
    for (std::size_t n = 0; n < full.size(); ++n, ++total) {
      auto r = decode_server_binary(full.data(), n);
      if (r.ok()) {
        CHECK(full.size() - n < 4);
        CHECK(*r == msg);
      } else {
        CHECK(r.code() == errc::malformed_buffer);
        ++rejected;
      }
    }
  }
  CHECK(rejected + 30 > total);  // at most 3 padding bytes in a few of the 22 frames
}

TEST_CASE("bit flips in valid frames never crash and stay verifiable") {
  std::mt19937_64 rng(7);
  for (const auto& msg : samples::client_messages()) {
    const auto full = encode_client_binary(msg);
    std::uniform_int_distribution<std::size_t> pos(0, full.size() - 1);
    for (int i = 0; i < 300; ++i) {
      auto buf = full;
      buf[pos(rng)] ^= static_cast<std::uint8_t>(1u << (i % 8));
      auto r = decode_client_binary(buf.data(), buf.size());
      if (r.ok()) CHECK(decode_client_binary(buf.data(), buf.size()).ok());  // deterministic
    }
  }
}

TEST_CASE("corrupted offsets are malformed_buffer") {
  const auto good = encode_client_binary(samples::client_messages()[0]);  // hello
  REQUIRE(client_code(good) == errc::ok);

  auto root = good;  // root offset beyond the end
  const std::uint32_t far = 0x7ffffff0;
  std::memcpy(root.data(), &far, sizeof far);
  CHECK(client_code(root) == errc::malformed_buffer);

  auto vtable = good;  // the root table's vtable offset points outside the buffer
  std::uint32_t root_at = 0;
  std::memcpy(&root_at, good.data(), sizeof root_at);
  const std::int32_t bad_vt = std::numeric_limits<std::int32_t>::min() + 8;
  std::memcpy(vtable.data() + root_at, &bad_vt, sizeof bad_vt);
  CHECK(client_code(vtable) == errc::malformed_buffer);

  // Every 4-byte word overwritten with a huge value gives the one answer its role in the
  // buffer calls for. The sample hello's layout (184 bytes, FlatBuffers 2.0.8 builder):
  //   offsets, vtables, string lengths and NUL terminators -> malformed_buffer (verifier)
  //   the client and token text                            -> malformed_buffer (not UTF-8)
  //   the body type byte (word 24)                         -> unknown_message
  //   seq (words 32, 36)                                   -> ok, with another seq
  //   alignment padding (words 4, 40)                      -> ok, the same message
  REQUIRE(good.size() == 184);  // another layout: work out the roles below again
  for (std::size_t at = 0; at + 4 <= good.size(); at += 4) {
    CAPTURE(at);
    auto buf = good;
    std::memcpy(buf.data() + at, &far, sizeof far);
    auto r = decode_client_binary(buf.data(), buf.size());
    if (at == 4 || at == 40) {
      REQUIRE(r.ok());
      CHECK(*r == samples::client_messages()[0]);
    } else if (at == 32 || at == 36) {
      REQUIRE(r.ok());
      CHECK(r->seq != samples::client_messages()[0].seq);
      CHECK(r->body == samples::client_messages()[0].body);
    } else if (at == 24) {
      CHECK(r.code() == errc::unknown_message);
    } else {
      CHECK(r.code() == errc::malformed_buffer);
    }
  }
}

TEST_CASE("unaligned input decodes (it is copied, not read in place)") {
  const auto good = encode_client_binary(samples::client_messages()[3]);
  std::vector<std::uint8_t> shifted(good.size() + 1);
  std::memcpy(shifted.data() + 1, good.data(), good.size());
  auto r = decode_client_binary(shifted.data() + 1, good.size());
  REQUIRE(r.ok());
  CHECK(*r == samples::client_messages()[3]);
}

TEST_CASE("a struct vector placed off its alignment is malformed_buffer, not read in place") {
  // Found by the client_binary fuzz target: a location_batch whose samples
  // (8-byte structs) start 4 bytes off; FlatBuffers 2.0.8's verifier passes it.
  std::ifstream in(std::string(RIDESHARD_SOURCE_DIR) +
                       "/tests/fuzz/corpus/client_binary/crash-misaligned-struct-vector",
                   std::ios::binary);
  REQUIRE(in);
  const std::vector<std::uint8_t> frame{std::istreambuf_iterator<char>(in), {}};
  REQUIRE(frame.size() > 16);
  auto r = decode_client_binary(frame.data(), frame.size(), client_frame_limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::malformed_buffer);
  CHECK(r.err().message.find("not aligned") != std::string::npos);
}

TEST_CASE("union members this build does not know are unknown_message") {
  CHECK(client_code(raw_client_message(200)) == errc::unknown_message);
  CHECK(client_code(raw_client_message(0)) == errc::unknown_message);          // NONE with a body
  CHECK(client_code(raw_client_message(2, false)) == errc::malformed_buffer);  // required body
  CHECK(client_code(raw_client_message(2)) == errc::ok);                       // go_online
}

TEST_CASE("oversized frames are frame_too_large; verifier limits hold") {
  location_batch huge;
  huge.samples.assign(3000, location_sample{samples::nearby, 10.0f, 5.0f, 1718000000000});
  const auto big = encode_client_binary(client_message{1, huge});
  REQUIRE(big.size() > client_frame_limits.max_frame_bytes);
  CHECK(client_code(big) == errc::frame_too_large);

  codec_limits tiny;
  tiny.max_frame_bytes = 16;
  CHECK(client_code(encode_client_binary(samples::client_messages()[0]), tiny) ==
        errc::frame_too_large);

  // welcome -> current_trip is 3 tables deep; allow only 2.
  codec_limits shallow = server_frame_limits;
  shallow.max_tables = 2;
  const auto welcome_buf = encode_server_binary(samples::server_messages()[0]);
  CHECK(decode_server_binary(welcome_buf.data(), welcome_buf.size(), shallow).code() ==
        errc::malformed_buffer);
}

TEST_CASE("content checks after verification") {
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(client_code({1, quote_request{{91, 0}, samples::dropoff}}) == errc::invalid_coordinate);
  CHECK(client_code({1, quote_request{samples::pickup, {0, -180.5}}}) == errc::invalid_coordinate);
  CHECK(client_code({1, ride_request{std::nullopt, {nan, 0}, samples::dropoff}}) ==
        errc::invalid_coordinate);
  CHECK(client_code({1, ride_request{quote_id{0}, samples::pickup, samples::dropoff}}) ==
        errc::missing_field);
  CHECK(client_code({1, location_batch{{location_sample{{0, INFINITY}, 0, 0, 1}}}}) ==
        errc::invalid_coordinate);

  CHECK(client_code({1, hello{"", "app", false}}) == errc::missing_field);
  CHECK(client_code({1, hello{"tok", "", false}}) == errc::missing_field);
  CHECK(client_code({1, hello{std::string(9000, 'x'), "app", false}}) == errc::invalid_argument);
  CHECK(client_code({1, hello{"tok\xff\xfe", "app", false}}) == errc::malformed_buffer);
  CHECK(client_code({1, accept_offer{trip_id{0}}}) == errc::missing_field);
  CHECK(client_code({1, arrived{trip_id{0}}}) == errc::missing_field);
  CHECK(client_code({1, start_trip{samples::trip, ""}}) == errc::missing_field);
  CHECK(client_code({1, start_trip{samples::trip, "12a4"}}) == errc::invalid_argument);
  CHECK(client_code({1, cancel_trip{samples::trip, std::string(300, 'r')}}) ==
        errc::invalid_argument);

  const location_sample ok{samples::nearby, 90.0f, 5.0f, 1718000000000};
  auto with = [&](auto mutate) {
    location_sample s = ok;
    mutate(s);
    return client_code({1, location_batch{{s}}});
  };
  CHECK(with([](location_sample&) {}) == errc::ok);
  CHECK(with([](location_sample& s) { s.speed_mps = -1; }) == errc::invalid_argument);
  CHECK(with([](location_sample& s) { s.speed_mps = NAN; }) == errc::invalid_argument);
  CHECK(with([](location_sample& s) { s.heading_deg = 360; }) == errc::invalid_argument);
  CHECK(with([](location_sample& s) { s.heading_deg = -1; }) == errc::ok);  // unknown
  CHECK(with([](location_sample& s) { s.timestamp_ms = 0; }) == errc::invalid_argument);
  CHECK(client_code({1, location_batch{}}) == errc::invalid_argument);
  location_batch too_many;
  too_many.samples.assign(client_frame_limits.max_batch + 1, ok);
  CHECK(client_code({1, too_many}) == errc::invalid_argument);
}

TEST_CASE("server frames: bad strings are caught on decode and on JSON encode") {
  server_message bad{1, 0, 0, error_reply{errc::internal, "oops \xc3\x28", 0}};
  const auto bin = encode_server_binary(bad);
  CHECK(decode_server_binary(bin.data(), bin.size()).code() == errc::malformed_buffer);
  CHECK(encode_server_json(bad).code() == errc::bad_json);
}
