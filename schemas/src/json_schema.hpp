// Private: a flatbuffers::Parser loaded with one embedded .fbs text, used for
// strict JSON <-> FlatBuffers conversion. One instance per thread per schema.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "rideshard/engine/result.hpp"
#include "rideshard/schemas/codec.hpp"

namespace flatbuffers {
class Parser;
}

namespace rideshard::schemas::detail {

/// Bytes of a FlatBuffer owned by a json_schema; valid until its next call.
struct parsed_buffer {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

/// Not thread-safe (flatbuffers::Parser keeps per-parse state): use through
/// json_schema::for_thread(), which hands each thread its own instance.
class json_schema {
 public:
  enum class which : std::uint8_t { wire, events, records };

  /// This thread's parser for `w`, created on first use.
  static json_schema& for_thread(which w);

  explicit json_schema(std::string_view fbs_text);
  ~json_schema();
  json_schema(const json_schema&) = delete;
  json_schema& operator=(const json_schema&) = delete;

  /// Parses `text` as a `root_table` (strict: unknown fields, duplicate keys,
  /// trailing text rejected). Errors: frame_too_large, bad_json, missing_field,
  /// unknown_message (unknown `body_type`), internal (schema did not load).
  [[nodiscard]] result<parsed_buffer> parse(std::string_view text, const char* root_table,
                                            std::size_t max_bytes);

  /// Renders a (trusted, already verified or self-built) buffer of `root_table`
  /// as JSON with every scalar written. Errors: bad_json (non-UTF-8 strings).
  [[nodiscard]] result<std::string> render(const std::uint8_t* buffer, const char* root_table,
                                           json_style style);

 private:
  std::unique_ptr<flatbuffers::Parser> parser_;
  std::string load_error_;  // non-empty if the schema failed to parse
};

}  // namespace rideshard::schemas::detail
