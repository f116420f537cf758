// Fuzz target: binary (FlatBuffers) client frames, as the gateway decodes them.
// Properties: decoding never crashes; a frame that decodes re-encodes to a frame
// that decodes again, and re-encoding that gives the same bytes (a stable form);
// its JSON form decodes too.
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "rideshard/schemas/codec.hpp"

using namespace rideshard;
using rideshard::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto msg = schemas::decode_client_binary(data, size);
  if (!msg) {
    const errc c = msg.code();
    check(c == errc::frame_too_large || c == errc::malformed_buffer || c == errc::unknown_message ||
              c == errc::missing_field || c == errc::invalid_coordinate ||
              c == errc::invalid_argument,
          "a refused frame has one of decode_client_binary's documented errors");
    return 0;
  }
  const auto once = schemas::encode_client_binary(*msg);
  auto again = schemas::decode_client_binary(once.data(), once.size());
  check(again.ok(), "a decoded client frame re-encodes to a frame that decodes");
  check(schemas::encode_client_binary(*again) == once, "re-encoding is stable");
  // The same message as JSON text decodes. (Not equal: JSON text carries doubles to
  // 12 significant digits, and fleet samples, checked by the node, may hold -nan.)
  if (auto text = schemas::encode_client_json(*msg))
    check(schemas::decode_client_json(*text).ok(), "a decoded binary frame's JSON form decodes");
  return 0;
}
