// Fuzz target: JSON text client frames, as the gateway decodes them (strict
// parse against wire.fbs, then the binary checks).
// Properties: decoding never crashes; a frame that decodes re-encodes to JSON
// that decodes again, and re-encoding that gives the same text.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "rideshard/schemas/codec.hpp"

using namespace rideshard;
using rideshard::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto msg = schemas::decode_client_json(text);
  if (!msg) {
    const errc c = msg.code();
    check(c == errc::frame_too_large || c == errc::bad_json || c == errc::malformed_buffer ||
              c == errc::unknown_message || c == errc::missing_field ||
              c == errc::invalid_coordinate || c == errc::invalid_argument,
          "a refused frame has one of decode_client_json's documented errors");
    return 0;
  }
  auto once = schemas::encode_client_json(*msg);
  check(once.ok(), "a decoded JSON frame encodes");
  auto again = schemas::decode_client_json(*once);
  check(again.ok(), "a decoded JSON frame re-encodes to JSON that decodes");
  auto twice = schemas::encode_client_json(*again);
  check(twice.ok() && *twice == *once, "JSON re-encoding is stable");
  return 0;
}
