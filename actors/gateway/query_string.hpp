// Request-target parsing for the HTTP side of the gateway: path and query
// string, percent-decoded.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "rideshard/engine/result.hpp"

namespace rideshard::gateway {

/// A request target split into its decoded path and query parameters.
struct parsed_target {
  std::string path;
  std::map<std::string, std::string> query;
};

/// Decodes %XX escapes; with `plus_is_space` also '+' (query strings). Errors
/// (invalid_argument): a truncated or non-hex escape, or a decoded NUL byte.
[[nodiscard]] result<std::string> percent_decode(std::string_view in, bool plus_is_space);

/// Splits "/a/b?x=1&y=%20" into path and query. A key without '=' maps to "";
/// a repeated key keeps its first value; empty pairs ("&&") are skipped.
/// Errors (invalid_argument): a target not starting with '/', bad escapes.
[[nodiscard]] result<parsed_target> parse_target(std::string_view target);

}  // namespace rideshard::gateway
