// Strict JSON <-> FlatBuffers through flatbuffers::Parser and GenerateText,
// with parser errors mapped onto stable error codes.
#include "json_schema.hpp"

#include <flatbuffers/idl.h>

#include <optional>

#include "codec_support.hpp"

namespace rideshard::schemas::detail {
namespace {

flatbuffers::IDLOptions parser_options() {
  flatbuffers::IDLOptions opts;
  opts.strict_json = true;                      // quoted field names on output
  opts.skip_unexpected_fields_in_json = false;  // unknown fields are errors
  opts.output_default_scalars_in_json = true;   // every scalar on output
  opts.output_enum_identifiers = true;          // enums by name
  opts.natural_utf8 = true;                     // UTF-8 out as is, not \u escapes
  opts.allow_non_utf8 = false;                  // reject invalid UTF-8 both ways
  opts.indent_step = -1;
  return opts;
}

/// The string value of the top-level "body_type" key, if the text has one.
std::optional<std::string_view> body_type_value(std::string_view text) {
  const auto key = text.find("\"body_type\"");
  if (key == std::string_view::npos) return std::nullopt;
  auto i = key + 11;
  auto skip_ws = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
      ++i;
  };
  skip_ws();
  if (i >= text.size() || text[i] != ':') return std::nullopt;
  ++i;
  skip_ws();
  if (i >= text.size() || text[i] != '"') return std::nullopt;
  const auto end = text.find('"', i + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return text.substr(i + 1, end - i - 1);
}

/// Maps a parser error to a code: the parser only reports text.
errc classify(const std::string& message, std::string_view text) {
  if (message.find("required field is missing") != std::string::npos) return errc::missing_field;
  if (message.find("illegal type id") != std::string::npos) return errc::unknown_message;
  static constexpr std::string_view unknown_enum = "unknown enum value: ";
  if (const auto at = message.find(unknown_enum); at != std::string::npos) {
    const auto value = std::string_view(message).substr(at + unknown_enum.size());
    const auto body_type = body_type_value(text);
    if (body_type && value.substr(0, value.find_first_of("\r\n")) == *body_type)
      return errc::unknown_message;
  }
  return errc::bad_json;
}

/// "1: 52: error: unknown field: x" -> "line 1, column 52: unknown field: x".
std::string tidy(const std::string& message) {
  std::string out = message;
  if (const auto at = out.find(": error: "); at != std::string::npos) {
    const auto where = out.substr(0, at);
    const auto colon = where.find(": ");
    const auto what = out.substr(at + 9);
    if (colon != std::string::npos)
      return "line " + where.substr(0, colon) + ", column " + where.substr(colon + 2) + ": " + what;
    return what;
  }
  return out;
}

}  // namespace

json_schema& json_schema::for_thread(which w) {
  switch (w) {
    case which::events: {
      thread_local json_schema events(events_fbs);
      return events;
    }
    case which::records: {
      thread_local json_schema records(records_fbs);
      return records;
    }
    case which::wire:
      break;
  }
  thread_local json_schema wire(wire_fbs);
  return wire;
}

json_schema::json_schema(std::string_view fbs_text)
    : parser_(std::make_unique<flatbuffers::Parser>(parser_options())) {
  const std::string text(fbs_text);
  if (!parser_->Parse(text.c_str())) load_error_ = "schema failed to load: " + parser_->error_;
}

json_schema::~json_schema() = default;

result<parsed_buffer> json_schema::parse(std::string_view text, const char* root_table,
                                         std::size_t max_bytes) {
  if (!load_error_.empty()) return error{errc::internal, load_error_};
  if (text.size() > max_bytes)
    return error{errc::frame_too_large, "text frame of " + std::to_string(text.size()) +
                                            " bytes exceeds " + std::to_string(max_bytes)};
  // The parser reads a NUL-terminated string: an embedded NUL would hide the rest.
  if (text.find('\0') != std::string_view::npos)
    return error{errc::bad_json, "text frame contains a NUL byte"};
  if (!parser_->SetRootType(root_table))
    return error{errc::internal, std::string("unknown root table ") + root_table};
  const std::string copy(text);
  if (!parser_->ParseJson(copy.c_str())) {
    const std::string& why = parser_->error_;
    return error{classify(why, text), "JSON: " + tidy(why)};
  }
  return parsed_buffer{parser_->builder_.GetBufferPointer(), parser_->builder_.GetSize()};
}

result<std::string> json_schema::render(const std::uint8_t* buffer, const char* root_table,
                                        json_style style) {
  if (!load_error_.empty()) return error{errc::internal, load_error_};
  if (!parser_->SetRootType(root_table))
    return error{errc::internal, std::string("unknown root table ") + root_table};
  parser_->opts.indent_step = style == json_style::pretty ? 2 : -1;
  std::string out;
  if (!flatbuffers::GenerateText(*parser_, buffer, &out))
    return error{errc::bad_json, "message holds a string that is not valid UTF-8"};
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace rideshard::schemas::detail
