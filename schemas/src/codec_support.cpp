// Private codec helpers: UTF-8 validation and field readers with typed errors.
#include "codec_support.hpp"

namespace rideshard::schemas::detail {

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else
      return false;
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values beyond U+10FFFF are invalid.
    static constexpr std::uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
}

result<std::string> read_text(const flatbuffers::String* s, std::string_view field, std::size_t max,
                              bool required) {
  if (s == nullptr || s->size() == 0) {
    if (required) return error{errc::missing_field, std::string(field) + " must not be empty"};
    return std::string();
  }
  std::string_view v(s->c_str(), s->size());
  if (!valid_utf8(v))
    return error{errc::malformed_buffer, std::string(field) + " is not valid UTF-8"};
  // JSON text frames cannot carry raw control characters, and a text read here may
  // be relayed to a JSON client (a cancel reason): refuse them at the door.
  for (const char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return error{errc::invalid_argument, std::string(field) + " holds a control character"};
  if (v.size() > max)
    return error{errc::invalid_argument,
                 std::string(field) + " is longer than " + std::to_string(max) + " bytes"};
  return std::string(v);
}

result<lat_lng> read_position(double lat, double lng, std::string_view field) {
  const lat_lng p{lat, lng};
  if (auto ok = validate(p); !ok) return with_context(ok.err(), field);
  return p;
}

result<std::uint64_t> read_id(std::uint64_t value, std::string_view field) {
  if (value == 0) return error{errc::missing_field, std::string(field) + " must be non-zero"};
  return value;
}

}  // namespace rideshard::schemas::detail
