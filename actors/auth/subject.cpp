// Role names and subject <-> id parsing for auth (see subject.hpp).
#include "auth/subject.hpp"

#include <limits>

namespace rideshard::auth {
namespace {

constexpr std::size_t max_subject_len = 128;

// Parses the "<n>" of "<prefix>-<n>"; 0 on any malformation (0 is never a valid id).
std::uint64_t parse_id_number(std::string_view subject, char prefix) {
  if (subject.size() < 3 || subject.size() > 22 || subject[0] != prefix || subject[1] != '-')
    return 0;
  const std::string_view digits = subject.substr(2);
  if (digits[0] == '0') return 0;  // no leading zeros: one canonical spelling per id
  std::uint64_t v = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return 0;  // overflow
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::rider:
      return "rider";
    case role::driver:
      return "driver";
    case role::admin:
      return "admin";
  }
  return "unknown";
}

result<role> role_from_string(std::string_view name) {
  if (name == "rider") return role::rider;
  if (name == "driver") return role::driver;
  if (name == "admin") return role::admin;
  return {errc::invalid_argument, "unknown role '" + std::string(name.substr(0, 32)) + "'"};
}

std::string subject_of(rider_id id) { return to_string(id); }
std::string subject_of(driver_id id) { return to_string(id); }

result<rider_id> parse_rider_subject(std::string_view subject) {
  const std::uint64_t v = parse_id_number(subject, 'r');
  if (v == 0)
    return {errc::invalid_argument,
            "not a rider subject (want r-<n>): '" + std::string(subject.substr(0, 32)) + "'"};
  return rider_id{v};
}

result<driver_id> parse_driver_subject(std::string_view subject) {
  const std::uint64_t v = parse_id_number(subject, 'd');
  if (v == 0)
    return {errc::invalid_argument,
            "not a driver subject (want d-<n>): '" + std::string(subject.substr(0, 32)) + "'"};
  return driver_id{v};
}

result<void> validate_subject(role r, std::string_view subject) {
  switch (r) {
    case role::rider: {
      auto id = parse_rider_subject(subject);
      if (!id) return id.err();
      return {};
    }
    case role::driver: {
      auto id = parse_driver_subject(subject);
      if (!id) return id.err();
      return {};
    }
    case role::admin:
      break;
  }
  if (subject.empty() || subject.size() > max_subject_len)
    return {errc::invalid_argument, "admin subject must be 1..128 characters"};
  for (char c : subject)
    if (c <= ' ' || c > '~')
      return {errc::invalid_argument, "admin subject must be printable ASCII without spaces"};
  return {};
}

}  // namespace rideshard::auth
