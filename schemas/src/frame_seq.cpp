// The seq of a client frame that failed to decode, read as far as it can be
// trusted, so an error_reply can still answer it (ref_seq) — protocol.md's promise.
#include <cstdint>
#include <string_view>

#include "codec_support.hpp"
#include "rideshard/schemas/codec.hpp"
#include "rideshard/schemas/generated/wire_generated.h"

namespace rideshard::schemas {
namespace {

namespace fbw = rideshard::wire::v1;

// A tiny scanner over JSON text: skips one value at `i`; false on malformed input.
class json_scan {
 public:
  explicit json_scan(std::string_view t) : t_(t) {}

  // The top-level "seq" when it is a plain unsigned integer, else 0.
  std::uint64_t top_level_seq() {
    ws();
    if (!eat('{')) return 0;
    for (int fields = 0; fields < 64; ++fields) {
      ws();
      std::string_view key;
      if (!string(key)) return 0;
      ws();
      if (!eat(':')) return 0;
      ws();
      if (key == "seq") return unsigned_number();
      if (!skip_value(0)) return 0;
      ws();
      if (!eat(',')) return 0;
    }
    return 0;
  }

 private:
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    if (i_ >= t_.size() || t_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const auto start = i_;
    while (i_ < t_.size() && t_[i_] != '"') i_ += t_[i_] == '\\' ? 2 : 1;
    if (i_ >= t_.size()) return false;
    out = t_.substr(start, i_ - start);
    ++i_;
    return true;
  }
  std::uint64_t unsigned_number() {
    std::uint64_t v = 0;
    std::size_t digits = 0;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9' && digits < 20) {
      const std::uint64_t d = static_cast<std::uint64_t>(t_[i_] - '0');
      if (v > (UINT64_MAX - d) / 10) return 0;
      v = v * 10 + d;
      ++i_, ++digits;
    }
    if (digits == 0 || (i_ < t_.size() && (t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')))
      return 0;
    return v;
  }
  bool skip_value(int depth) {
    if (depth > 32 || i_ >= t_.size()) return false;
    const char c = t_[i_];
    if (c == '"') {
      std::string_view s;
      return string(s);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      ws();
      if (eat(close)) return true;
      for (;;) {
        ws();
        if (c == '{') {
          std::string_view k;
          if (!string(k)) return false;
          ws();
          if (!eat(':')) return false;
          ws();
        }
        if (!skip_value(depth + 1)) return false;
        ws();
        if (eat(close)) return true;
        if (!eat(',')) return false;
      }
    }
    // number, true, false, null: up to the next delimiter
    const auto start = i_;
    while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' && t_[i_] != ' ' &&
           t_[i_] != '\n' && t_[i_] != '\r' && t_[i_] != '\t')
      ++i_;
    return i_ > start;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace

std::uint64_t client_frame_seq(const std::uint8_t* data, std::size_t size,
                               const codec_limits& limits) {
  if (data == nullptr || size < 2 * sizeof(flatbuffers::uoffset_t) || size > limits.max_frame_bytes)
    return 0;
  const detail::aligned_frame frame(data, size);
  const auto root = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(frame.data());
  if (root >= frame.size()) return 0;
  // Only the envelope: the table header, its vtable and the seq field itself.
  flatbuffers::Verifier v(frame.data(), frame.size());
  const auto* t = reinterpret_cast<const flatbuffers::Table*>(frame.data() + root);
  if (!t->VerifyTableStart(v) ||
      !t->VerifyField<std::uint64_t>(v, fbw::client_message::VT_SEQ, alignof(std::uint64_t)))
    return 0;
  return t->GetField<std::uint64_t>(fbw::client_message::VT_SEQ, 0);
}

std::uint64_t client_frame_seq_json(std::string_view text, const codec_limits& limits) {
  if (text.size() > limits.max_frame_bytes) return 0;
  return json_scan(text).top_level_seq();
}

}  // namespace rideshard::schemas
