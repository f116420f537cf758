// Fuzz target: an HTTP request as the gateway reads it — Beast's request parser
// with the gateway's header and body limits, then the request target's path and
// query (parse_target) and the metrics route label of the path (route_label).
// Properties: never crashes; a parsed path has no NUL byte and every query
// key/value came from the target; labels start with '/' and stay within six
// segments; error bodies carry no raw control characters.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "fuzz_check.hpp"
#include "gateway/detail/http_session.hpp"
#include "gateway/query_string.hpp"

using namespace rideshard;
using rideshard::fuzz::check;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

void check_target(std::string_view target) {
  auto t = gateway::parse_target(target);
  if (!t) {
    check(t.code() == errc::invalid_argument, "a refused target is invalid_argument");
    return;
  }
  check(t->path.find('\0') == std::string::npos, "a parsed path has no NUL byte");
  check(!t->path.empty() && t->path.front() == '/', "a parsed path starts with '/'");
  check(t->query.empty() || target.find('?') != std::string_view::npos,
        "query parameters come from a query string");
  // Labels come from the matched route template, never from the raw path: a
  // response without a route shares "unmatched", and even a hostile template is
  // either kept whole (bounded, starts with '/') or folded into "unmatched".
  gateway::http_response r;
  check(gateway::detail::route_label(r) == "unmatched", "unmatched requests share one label");
  r.route = t->path;
  const std::string label = gateway::detail::route_label(r);
  check(label == "unmatched" || (label == t->path && label.size() <= 64 && label.front() == '/'),
        "a route label is a bounded template or unmatched");
  const std::string body = gateway::detail::json_error_body("not_found", t->path);
  check(std::none_of(body.begin(), body.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20; }),
        "an error body escapes control characters");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);  // gateway_config::max_body_bytes
  parser.header_limit(16 * 1024);  // the gateway's max_header_bytes
  parser.eager(true);
  beast::error_code ec;
  std::size_t used = 0;
  while (!ec && !parser.is_done() && used < size) {
    const std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (ec == http::error::need_more) break;
    if (n == 0) break;
    used += n;
  }
  if (!ec && !parser.is_done() && parser.is_header_done()) parser.put_eof(ec);
  if (!parser.is_header_done()) return 0;
  const auto target = parser.get().target();
  check_target(std::string_view(target.data(), target.size()));
  // The raw bytes as a target too: the header parser only admits printable ones.
  check_target(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
