// JSON text frames of wire protocol v1: FlatBuffers' own JSON mapping of
// wire.fbs, so text and binary frames carry exactly the same messages.
#include <limits>

#include "codec_support.hpp"
#include "json_schema.hpp"
#include "rideshard/schemas/codec.hpp"

namespace rideshard::schemas {
namespace {

using detail::json_schema;

/// The limits for re-reading the parser's own buffer: the text was size-checked.
codec_limits after_parse(const codec_limits& limits) {
  codec_limits out = limits;
  out.max_frame_bytes = std::numeric_limits<std::size_t>::max();
  return out;
}

/// The parser's output is verified and content-checked like any binary frame.
template <class Message, class Decode>
result<Message> decode_json(std::string_view text, const char* root, const codec_limits& limits,
                            Decode decode) {
  auto& schema = json_schema::for_thread(json_schema::which::wire);
  auto buf = schema.parse(text, root, limits.max_frame_bytes);
  if (!buf) return buf.err();
  auto msg = decode(buf->data, buf->size, after_parse(limits));
  if (!msg && msg.code() == errc::malformed_buffer) return error{errc::bad_json, msg.err().message};
  return msg;
}

result<std::string> render(const std::vector<std::uint8_t>& buf, const char* root,
                           json_style style) {
  auto& schema = json_schema::for_thread(json_schema::which::wire);
  return schema.render(buf.data(), root, style);
}

}  // namespace

result<client_message> decode_client_json(std::string_view text, const codec_limits& limits) {
  return decode_json<client_message>(
      text, "client_message", limits,
      [](const std::uint8_t* d, std::size_t n, const codec_limits& l) {
        return decode_client_binary(d, n, l);
      });
}

result<server_message> decode_server_json(std::string_view text, const codec_limits& limits) {
  return decode_json<server_message>(
      text, "server_message", limits,
      [](const std::uint8_t* d, std::size_t n, const codec_limits& l) {
        return decode_server_binary(d, n, l);
      });
}

result<std::string> encode_client_json(const client_message& msg, json_style style) {
  return render(encode_client_binary(msg), "client_message", style);
}

result<std::string> encode_server_json(const server_message& msg, json_style style) {
  return render(encode_server_binary(msg), "server_message", style);
}

}  // namespace rideshard::schemas
