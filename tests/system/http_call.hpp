// One blocking HTTP/1.1 request to the node under test on 127.0.0.1, for the
// system tests: status and parsed JSON body; status -1 when the request failed.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace rideshard::system_test {

struct http_reply {
  int status = -1;      ///< -1: connect, write or read failed
  nlohmann::json body;  ///< discarded (is_discarded()) when not JSON
  std::string text;     ///< the body as received (e.g. /metrics)
  std::string content_type;
  std::string set_cookie;  ///< the Set-Cookie header, if any
};

using http_headers = std::vector<std::pair<std::string, std::string>>;

/// One request with the given extra headers (e.g. Cookie, X-CSRF-Token).
/// Never throws; bounded by `timeout`.
inline http_reply http_call_with(unsigned short port, boost::beast::http::verb verb,
                                 const std::string& target, const http_headers& headers,
                                 const std::string& body = {},
                                 std::chrono::seconds timeout = std::chrono::seconds(20)) {
  namespace http = boost::beast::http;
  http_reply out;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  boost::beast::error_code ec;
  stream.expires_after(timeout);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port),
                 ec);
  if (ec) return out;
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) return out;
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res, ec);
  if (ec) return out;
  out.status = static_cast<int>(res.result_int());
  out.body = nlohmann::json::parse(res.body(), nullptr, false);
  out.text = res.body();
  out.content_type = std::string(res[http::field::content_type]);
  out.set_cookie = std::string(res[http::field::set_cookie]);
  return out;
}

/// `token` empty: no Authorization header. Never throws; bounded by `timeout`.
inline http_reply http_call(unsigned short port, boost::beast::http::verb verb,
                            const std::string& target, const std::string& token = {},
                            const std::string& body = {},
                            std::chrono::seconds timeout = std::chrono::seconds(20)) {
  http_headers h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return http_call_with(port, verb, target, h, body, timeout);
}

}  // namespace rideshard::system_test
