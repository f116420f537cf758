// Outbox value encoding (see keys.hpp).
#include "keys.hpp"

namespace rideshard::persistence::keys {
namespace {

void put_u32(std::string& out, std::uint32_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
}

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

bool get_u32(std::string_view& in, std::uint32_t& n) {
  if (in.size() < 4) return false;
  n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in[i]);
  in.remove_prefix(4);
  return true;
}

bool get_str(std::string_view& in, std::string& s) {
  std::uint32_t n = 0;
  if (!get_u32(in, n) || in.size() < n) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

}  // namespace

std::string encode_event(const outbox_event& ev) {
  std::string out;
  out.reserve(ev.topic.size() + ev.key.size() + ev.payload.size() + 32);
  put_str(out, ev.topic);
  put_str(out, ev.key);
  put_str(out, ev.payload);
  put_u32(out, static_cast<std::uint32_t>(ev.headers.size()));
  for (const auto& [name, value] : ev.headers) {
    put_str(out, name);
    put_str(out, value);
  }
  return out;
}

std::optional<outbox_event> decode_event(std::string_view in) {
  outbox_event ev;
  std::uint32_t headers = 0;
  if (!get_str(in, ev.topic) || !get_str(in, ev.key) || !get_str(in, ev.payload) ||
      !get_u32(in, headers))
    return std::nullopt;
  for (std::uint32_t i = 0; i < headers; ++i) {
    std::string name, value;
    if (!get_str(in, name) || !get_str(in, value)) return std::nullopt;
    ev.headers.emplace_back(std::move(name), std::move(value));
  }
  if (!in.empty()) return std::nullopt;
  return ev;
}

std::optional<std::string_view> event_topic(std::string_view in) {
  std::uint32_t n = 0;
  if (!get_u32(in, n) || in.size() < n) return std::nullopt;
  return in.substr(0, n);
}

}  // namespace rideshard::persistence::keys
