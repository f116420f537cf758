// Wire protocol v1 codec: binary (FlatBuffers) and text (FlatBuffers' JSON
// mapping) frames <-> the plain structs of messages.hpp. Every decode verifies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rideshard/engine/result.hpp"
#include "rideshard/schemas/messages.hpp"

namespace rideshard::schemas {

/// Bounds applied while decoding. Anything beyond them is rejected with a typed
/// error before (frame size, verifier limits) or after (content) conversion.
struct codec_limits {
  std::size_t max_frame_bytes = 64 * 1024;  ///< whole frame, binary or JSON text
  std::size_t max_batch = 256;              ///< location samples per frame
  std::size_t max_token_bytes = 8 * 1024;   ///< hello.token
  std::size_t max_text_bytes = 256;         ///< client name, reasons, messages, currency
  std::uint32_t max_depth = 16;             ///< FlatBuffers verifier nesting depth
  std::uint32_t max_tables = 1024;          ///< FlatBuffers verifier table count
  std::size_t max_fleet_samples = 4096;     ///< fleet_positions.samples per frame
  std::size_t max_nearby_queries = 1024;    ///< nearby_batch.queries per frame
  std::size_t max_nearby_k_total = 32768;   ///< sum of k over one nearby_batch
};

/// Limits for frames from clients (untrusted).
inline constexpr codec_limits client_frame_limits{};
/// Limits for frames from the server (test clients, the simulator): larger.
inline constexpr codec_limits server_frame_limits{1024 * 1024, 4096, 8 * 1024, 4096, 16, 8192};
/// Limits for frames from fleet admins on /v1/admin (bulk feeds): 1 MiB frames.
inline constexpr codec_limits admin_frame_limits{1024 * 1024};

/// Text frame layout: one line (what the server sends) or indented (docs, logs).
enum class json_style : std::uint8_t { compact, pretty };

// All functions are thread-safe. The JSON ones use one flatbuffers::Parser per
// thread (thread_local, created on first use: ~0.4 ms and ~80 KiB for wire.fbs).

// ---- binary frames ----------------------------------------------------------

/// Verifies a client frame (size, FlatBuffers verifier), converts it and checks
/// its content. Errors: frame_too_large, malformed_buffer (also non-UTF-8
/// strings), unknown_message (a body type this build does not know),
/// missing_field (empty required string, zero trip id), invalid_coordinate,
/// invalid_argument (batch size, speed, heading, timestamp, PIN, text too long or
/// holding a control character).
/// `data` need not be aligned; it is not retained.
[[nodiscard]] result<client_message> decode_client_binary(
    const std::uint8_t* data, std::size_t size, const codec_limits& limits = client_frame_limits);

/// Encodes a client frame (for test clients and the simulator). Never fails;
/// the content is not validated.
std::vector<std::uint8_t> encode_client_binary(const client_message& msg);

/// Verifies and converts a server frame; same errors as decode_client_binary.
[[nodiscard]] result<server_message> decode_server_binary(
    const std::uint8_t* data, std::size_t size, const codec_limits& limits = server_frame_limits);

/// Encodes a server frame. Never fails.
std::vector<std::uint8_t> encode_server_binary(const server_message& msg);

/// The `seq` of a binary client frame that failed to decode, when the envelope
/// can be read safely (the root table and its seq field verify, whatever the
/// body holds); 0 otherwise (too large, not a FlatBuffer). Error replies answer it.
std::uint64_t client_frame_seq(const std::uint8_t* data, std::size_t size,
                               const codec_limits& limits = client_frame_limits);

// ---- JSON text frames -------------------------------------------------------

/// Parses a JSON text frame strictly against wire.fbs (unknown fields, wrong
/// types, duplicate keys and trailing text are errors), then verifies and
/// checks it like a binary frame. Errors: frame_too_large, bad_json,
/// missing_field (a required field absent), unknown_message (unknown
/// body_type), plus the content errors of decode_client_binary.
[[nodiscard]] result<client_message> decode_client_json(
    std::string_view text, const codec_limits& limits = client_frame_limits);

/// The top-level `seq` of a JSON client frame that failed to decode, when the
/// text is well-formed enough to find it as an unsigned integer before any
/// malformed part; 0 otherwise (also over limits.max_frame_bytes).
std::uint64_t client_frame_seq_json(std::string_view text,
                                    const codec_limits& limits = client_frame_limits);

/// Encodes a client frame as JSON text. Fails (bad_json) only on strings that
/// are not valid UTF-8. Every scalar is written, defaults included.
[[nodiscard]] result<std::string> encode_client_json(const client_message& msg,
                                                     json_style style = json_style::compact);

/// Parses a server JSON text frame; errors as decode_client_json.
[[nodiscard]] result<server_message> decode_server_json(
    std::string_view text, const codec_limits& limits = server_frame_limits);

/// Encodes a server frame as JSON text; fails like encode_client_json.
[[nodiscard]] result<std::string> encode_server_json(const server_message& msg,
                                                     json_style style = json_style::compact);

}  // namespace rideshard::schemas
