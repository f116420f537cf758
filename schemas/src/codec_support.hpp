// Private helpers shared by the codec sources: buffer verification with limits,
// string/coordinate checks and engine <-> schema enum conversion.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/schemas/codec.hpp"

namespace rideshard::schemas::detail {

/// The schema texts, embedded by schemas/embed_schemas.cmake.
extern const std::string_view wire_fbs;
extern const std::string_view events_fbs;
extern const std::string_view records_fbs;

/// True if `s` is well-formed UTF-8 without NUL bytes (FlatBuffers strings must be UTF-8).
bool valid_utf8(std::string_view s) noexcept;

/// Keeps a verified buffer alive: either the caller's bytes (if 8-byte aligned)
/// or an aligned copy, since FlatBuffers reads scalars in place.
class aligned_frame {
 public:
  aligned_frame(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::uint64_t) != 0 && size > 0) {
      copy_.resize((size + 7) / 8);
      std::memcpy(copy_.data(), data, size);
      data_ = reinterpret_cast<const std::uint8_t*>(copy_.data());
    }
  }
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::vector<std::uint64_t> copy_;
};

/// The type a FlatBuffers vector element is read as: the struct itself for a
/// vector of structs (Vector<const S*>), the scalar otherwise.
template <class T>
struct vector_element {
  using type = T;
};
template <class S>
struct vector_element<const S*> {
  using type = S;
};

/// FlatBuffers 2.0.8's verifier checks the alignment of a vector's length prefix
/// (4 bytes), not of its elements: a hostile frame can put a vector of 8-byte
/// structs or scalars 4 bytes off their alignment, and reading it in place is
/// undefined behaviour (found by the client_binary fuzz target). The frame
/// itself is 8-byte aligned (aligned_frame), so the offset decides.
/// Errors: malformed_buffer. A null vector is fine (absence is checked elsewhere).
template <class T>
[[nodiscard]] result<void> check_aligned(const flatbuffers::Vector<T>* v, const char* field) {
  using element = typename vector_element<T>::type;
  if (v && reinterpret_cast<std::uintptr_t>(v->Data()) % alignof(element) != 0)
    return error{errc::malformed_buffer, std::string(field) + " is not aligned for its elements"};
  return {};
}

/// Checks the frame size and runs the FlatBuffers verifier for root type Root.
/// Errors: frame_too_large, malformed_buffer.
template <class Root>
[[nodiscard]] result<const Root*> verify_root(const aligned_frame& frame,
                                              const codec_limits& limits) {
  if (frame.size() > limits.max_frame_bytes)
    return error{errc::frame_too_large, "frame of " + std::to_string(frame.size()) +
                                            " bytes exceeds " +
                                            std::to_string(limits.max_frame_bytes)};
  if (frame.data() == nullptr || frame.size() < sizeof(flatbuffers::uoffset_t) * 2)
    return error{errc::malformed_buffer, "frame too short to be a FlatBuffer"};
  flatbuffers::Verifier::Options opts;
  opts.max_depth = limits.max_depth;
  opts.max_tables = limits.max_tables;
  flatbuffers::Verifier verifier(frame.data(), frame.size(), opts);
  if (!verifier.VerifyBuffer<Root>(nullptr))
    return error{errc::malformed_buffer, "frame failed FlatBuffers verification"};
  return flatbuffers::GetRoot<Root>(frame.data());
}

/// Reads a verified string: UTF-8 (malformed_buffer), no control characters
/// U+0000-U+001F or U+007F and at most `max` bytes (invalid_argument), non-empty
/// when `required` (missing_field).
[[nodiscard]] result<std::string> read_text(const flatbuffers::String* s, std::string_view field,
                                            std::size_t max, bool required);

/// A checked position (invalid_coordinate names the field).
[[nodiscard]] result<lat_lng> read_position(double lat, double lng, std::string_view field);

/// A non-zero id (missing_field names the field).
[[nodiscard]] result<std::uint64_t> read_id(std::uint64_t value, std::string_view field);

/// A checked enum value: < `count` alternatives, else invalid_argument.
template <class To, class From>
[[nodiscard]] result<To> read_enum(From raw, unsigned count, std::string_view field) {
  const auto v = static_cast<unsigned>(raw);
  if (v >= count)
    return error{errc::invalid_argument,
                 std::string(field) + ": unknown enum value " + std::to_string(v)};
  return static_cast<To>(v);
}

inline constexpr unsigned trip_state_count = 8;  // engine trip_state == wire trip_state
inline constexpr unsigned party_count = 3;

/// Builds an error whose message is prefixed by `where`.
inline error with_context(const error& e, std::string_view where) {
  return error{e.code, std::string(where) + ": " + e.message};
}

}  // namespace rideshard::schemas::detail
