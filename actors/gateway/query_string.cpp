// Request-target parsing: RFC 3986 percent-decoding, form-style '+' in queries.
#include "gateway/query_string.hpp"

namespace rideshard::gateway {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

result<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      if (i + 2 >= in.size()) return error{errc::invalid_argument, "truncated percent escape"};
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return error{errc::invalid_argument, "bad percent escape"};
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return error{errc::invalid_argument, "NUL byte in URL"};
      out.push_back(decoded);
      i += 2;
    }
  }
  return out;
}

result<parsed_target> parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return error{errc::invalid_argument, "request target must start with '/'"};
  }
  parsed_target out;
  const auto qpos = target.find('?');
  auto path = percent_decode(target.substr(0, qpos), false);
  if (!path) return path.err();
  out.path = std::move(*path);
  if (qpos == std::string_view::npos) return out;
  std::string_view rest = target.substr(qpos + 1);
  // A fragment never reaches a server, but a hostile client may send one.
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (!key) return key.err();
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!value) return value.err();
    out.query.emplace(std::move(*key), std::move(*value));
  }
  return out;
}

}  // namespace rideshard::gateway
