// Hostile JSON text frames: syntax, wrong types, missing and unknown fields,
// unknown body types, bad coordinates, size limits -> stable error codes.
#include <doctest/doctest.h>

#include <string>

#include "rideshard/schemas/codec.hpp"
#include "sample_messages.hpp"

using namespace rideshard;
using namespace rideshard::schemas;

namespace {

errc code_of(std::string_view text) { return decode_client_json(text).code(); }

std::string hello_with(std::string_view body) {
  return "{\"seq\": 1, \"body_type\": \"hello\", \"body\": " + std::string(body) + "}";
}

std::string quote_with(std::string_view pickup) {
  return "{\"seq\": 1, \"body_type\": \"quote_request\", \"body\": {\"pickup\": " +
         std::string(pickup) + ", \"dropoff\": {\"lat\": 40.7, \"lng\": -74.0}}}";
}

}  // namespace

TEST_CASE("a minimal valid frame parses") {
  CHECK(code_of(hello_with("{\"token\": \"t\", \"client\": \"c\"}")) == errc::ok);
  CHECK(code_of("{\"seq\":2,\"body_type\":\"go_online\",\"body\":{}}") == errc::ok);
}

TEST_CASE("syntax errors and non-objects are bad_json") {
  for (std::string_view text : {"", " ", "hello", "{", "[]", "null", "42", "{\"seq\": 1,}",
                                "{\"seq\":1,\"body_type\":\"go_online\",\"body\":{}} trailing",
                                "{\"seq\":1,\"body_type\":\"go_online\",\"body\":{}}{}"}) {
    CAPTURE(text);
    CHECK(code_of(text) == errc::bad_json);
  }
}

TEST_CASE("wrong types are bad_json") {
  CHECK(code_of("{\"seq\": \"abc\", \"body_type\": \"go_online\", \"body\": {}}") ==
        errc::bad_json);
  CHECK(code_of("{\"seq\": -1, \"body_type\": \"go_online\", \"body\": {}}") == errc::bad_json);
  CHECK(code_of("{\"seq\": 1.5, \"body_type\": \"go_online\", \"body\": {}}") == errc::bad_json);
  CHECK(code_of(hello_with("{\"token\": 5, \"client\": \"c\"}")) == errc::bad_json);
  CHECK(code_of(hello_with("{\"token\": \"t\", \"client\": \"c\", \"resume\": \"yes\"}")) ==
        errc::bad_json);
  CHECK(code_of(hello_with("[1, 2]")) == errc::bad_json);
  CHECK(code_of(quote_with("{\"lat\": \"north\", \"lng\": 1}")) == errc::bad_json);
  CHECK(code_of(quote_with("{\"lat\": 40.7}")) == errc::bad_json);  // struct needs both
}

TEST_CASE("missing required fields are missing_field") {
  CHECK(code_of(hello_with("{\"token\": \"t\"}")) == errc::missing_field);
  CHECK(code_of(hello_with("{\"client\": \"c\"}")) == errc::missing_field);
  CHECK(code_of("{\"seq\": 1}") == errc::missing_field);  // no body
  CHECK(code_of("{\"seq\":1,\"body_type\":\"location_batch\",\"body\":{}}") == errc::missing_field);
  CHECK(code_of("{\"seq\":1,\"body_type\":\"start_trip\",\"body\":{\"trip_id\":5}}") ==
        errc::missing_field);
  // Present but empty / zero is caught by the content checks.
  CHECK(code_of(hello_with("{\"token\": \"\", \"client\": \"c\"}")) == errc::missing_field);
  CHECK(code_of("{\"seq\":1,\"body_type\":\"accept_offer\",\"body\":{}}") == errc::missing_field);
}

TEST_CASE("unknown and duplicated fields are rejected") {
  CHECK(code_of(hello_with("{\"token\": \"t\", \"client\": \"c\", \"admin\": true}")) ==
        errc::bad_json);
  CHECK(code_of("{\"seq\":1,\"body_type\":\"go_online\",\"body\":{},\"extra\":1}") ==
        errc::bad_json);
  CHECK(code_of("{\"seq\":1,\"seq\":2,\"body_type\":\"go_online\",\"body\":{}}") == errc::bad_json);
}

TEST_CASE("unknown body types are unknown_message") {
  CHECK(code_of("{\"seq\":1,\"body_type\":\"teleport\",\"body\":{}}") == errc::unknown_message);
  CHECK(code_of("{\"seq\":1,\"body_type\":\"NONE\",\"body\":{}}") == errc::unknown_message);
  // A server-only message is not a client message.
  CHECK(code_of("{\"seq\":1,\"body_type\":\"welcome\",\"body\":{\"subject\":\"x\"}}") ==
        errc::unknown_message);
  // An unknown enum value elsewhere is plain bad JSON.
  CHECK(decode_server_json("{\"seq\":1,\"body_type\":\"trip_status\",\"body\":"
                           "{\"state\":\"flying\"}}")
            .code() == errc::bad_json);
}

TEST_CASE("invalid coordinates are invalid_coordinate") {
  CHECK(code_of(quote_with("{\"lat\": 91, \"lng\": 0}")) == errc::invalid_coordinate);
  CHECK(code_of(quote_with("{\"lat\": 0, \"lng\": -181}")) == errc::invalid_coordinate);
  CHECK(code_of(quote_with("{\"lat\": nan, \"lng\": 0}")) == errc::invalid_coordinate);
  CHECK(code_of(quote_with("{\"lat\": 1e999, \"lng\": 0}")) == errc::invalid_coordinate);
  CHECK(code_of("{\"seq\":1,\"body_type\":\"location_batch\",\"body\":{\"samples\":[{\"lat\":"
                "95,\"lng\":1,\"heading_deg\":0,\"speed_mps\":0,\"timestamp_ms\":1}]}}") ==
        errc::invalid_coordinate);
}

TEST_CASE("strings: invalid UTF-8 and NUL bytes are bad_json") {
  CHECK(code_of(hello_with("{\"token\": \"t\\ud800\", \"client\": \"c\"}")) == errc::bad_json);
  CHECK(code_of(hello_with("{\"token\": \"t\xff\", \"client\": \"c\"}")) == errc::bad_json);
  const std::string with_nul =
      hello_with("{\"token\": \"t\", \"client\": \"c\"}") + std::string(1, '\0') + "junk";
  CHECK(code_of(with_nul) == errc::bad_json);
  CHECK(code_of(hello_with("{\"token\": \"a\\u0000b\", \"client\": \"c\"}")) == errc::bad_json);
  CHECK(code_of(hello_with("{\"token\": \"caf\\u00e9 \xf0\x9f\x9a\x95\", \"client\": \"c\"}")) ==
        errc::ok);
}

// A text a client sends may reach a JSON client (a cancel reason in trip_status), and
// JSON text cannot hold raw control characters: they are refused in both encodings.
TEST_CASE("control characters in text fields are invalid_argument, binary and JSON alike") {
  CHECK(code_of(hello_with("{\"token\": \"a\\u001cb\", \"client\": \"c\"}")) ==
        errc::invalid_argument);
  CHECK(code_of(hello_with("{\"token\": \"t\", \"client\": \"tab\\there\"}")) ==
        errc::invalid_argument);
  const client_message cancel{1, cancel_trip{samples::trip, "late \x1b[31m"}};
  const auto buf = encode_client_binary(cancel);
  CHECK(decode_client_binary(buf.data(), buf.size()).code() == errc::invalid_argument);
  const client_message del{1, cancel_trip{samples::trip, "late\x7f"}};
  const auto buf2 = encode_client_binary(del);
  CHECK(decode_client_binary(buf2.data(), buf2.size()).code() == errc::invalid_argument);
}

TEST_CASE("oversized and deeply nested frames") {
  std::string big =
      hello_with("{\"token\": \"" + std::string(70 * 1024, 'x') + "\", \"client\": \"c\"}");
  CHECK(code_of(big) == errc::frame_too_large);
  std::string deep = hello_with(std::string(5000, '[') + std::string(5000, ']'));
  CHECK(code_of(deep) == errc::bad_json);
}

TEST_CASE("the per-thread parser recovers after errors") {
  const auto msg = samples::client_messages()[4];
  auto good = encode_client_json(msg);
  REQUIRE(good.ok());
  for (int i = 0; i < 20; ++i) {
    CHECK(code_of("{\"seq\":1,\"body_type\":\"teleport\",\"body\":{}}") == errc::unknown_message);
    CHECK(code_of("{") == errc::bad_json);
    auto r = decode_client_json(*good);
    REQUIRE(r.ok());
    CHECK(*r == msg);
  }
}

TEST_CASE("error messages say where the problem is") {
  auto r = decode_client_json(hello_with("{\"token\": \"t\", \"client\": \"c\", \"zzz\": 1}"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("unknown field: zzz") != std::string::npos);
  CHECK(r.err().message.find("column") != std::string::npos);
}
