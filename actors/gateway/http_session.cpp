// http_session: HTTP/1.1 keep-alive requests until a WebSocket upgrade or close.
#include "gateway/detail/http_session.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "gateway/detail/ws_session.hpp"
#include "gateway/query_string.hpp"

namespace rideshard::gateway::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;

std::optional<endpoint> endpoint_for(std::string_view path) {
  if (path == "/v1/driver") return endpoint::driver;
  if (path == "/v1/rider") return endpoint::rider;
  if (path == "/v1/admin") return endpoint::admin;
  return std::nullopt;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string json_error_body(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":{\"code\":";
  append_json_string(out, code);
  out += ",\"message\":";
  append_json_string(out, message);
  out += "}}";
  return out;
}

std::string route_label(std::string_view path, int status) {
  if (status == 404) return "unmatched";
  std::string out;
  std::size_t segments = 0;
  while (!path.empty() && segments < 6) {
    path.remove_prefix(1);  // the '/'
    const auto slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    const bool id_like = std::any_of(seg.begin(), seg.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
    out += '/';
    out += id_like && seg != "v1" ? std::string("{id}") : std::string(seg);
    ++segments;
  }
  return out.empty() ? "/" : out;
}

http_session::http_session(std::shared_ptr<gateway_core> core, net::ip::tcp::socket&& socket)
    : core_(std::move(core)),
      ex_(socket.get_executor()),
      stream_(std::move(socket)),
      id_(core_->next_id.fetch_add(1)) {}

http_session::~http_session() { core_->sessions.remove(id_); }

void http_session::run() {
  core_->sessions.add(id_, weak_from_this());
  do_read();
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(core_->config.max_body_bytes);
  parser_->header_limit(max_header_bytes);
  stream_.expires_after(core_->config.handshake_timeout);
  reading_ = true;
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (ec == http::error::end_of_stream) return do_close();
  if (ec == http::error::body_limit) {
    core_->stats.error(errc::frame_too_large);
    return send_error(413, "frame_too_large", "request body too large", "rejected", true);
  }
  if (ec && ec.category() == make_error_code(http::error::end_of_stream).category()) {
    core_->stats.error(errc::invalid_argument);
    return send_error(400, "invalid_argument", "malformed HTTP request: " + ec.message(),
                      "rejected", true);
  }
  if (ec) return;  // timeout, reset, aborted: the socket goes with the session
  handle_request();
}

void http_session::handle_request() {
  auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  auto target = parse_target(std::string_view(req.target().data(), req.target().size()));
  if (!target) {
    core_->stats.error(target.code());
    return send_error(400, to_string(target.code()), target.err().message, "rejected", true);
  }
  if (beast::websocket::is_upgrade(req)) {
    const auto ep = endpoint_for(target->path);
    if (!ep) return send_error(404, "not_found", "no WebSocket endpoint here", "unmatched", false);
    if (core_->draining.load()) {
      return send_error(503, "unavailable", "server shutting down", target->path, true);
    }
    core_->stats.http_request(target->path, 101);
    upgraded_ = true;
    std::make_shared<ws_session>(core_, stream_.release_socket(), *ep)->run(parser_->release());
    core_->sessions.remove(id_);
    return;
  }
  if (target->path == "/metrics") {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return send_error(405, "method_not_allowed", "use GET", "/metrics", false);
    }
    response res{http::status::ok, version_};
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.body() = core_->stats.render_text();
    return send(std::move(res), "/metrics");
  }
  http_request out;
  out.method = std::string(req.method_string());
  out.path = std::move(target->path);
  out.query = std::move(target->query);
  out.authorization = std::string(req[http::field::authorization]);
  out.body = std::move(req.body());
  const std::string path = out.path;
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto respond_fn = [self = shared_from_this(), once, path](http_response r) {
    if (once->exchange(true)) return;  // exactly once, whatever the caller does
    std::string route = route_label(path, r.status);
    net::post(self->ex_, [self, r = std::move(r), route = std::move(route)]() mutable {
      self->respond(std::move(r), std::move(route));
    });
  };
  try {
    core_->http.handle(std::move(out), std::move(respond_fn));
  } catch (const std::exception& e) {
    // The handler broke its contract; answer rather than hang the client.
    core_->stats.error(errc::internal);
    if (!once->exchange(true)) send_error(500, "internal", e.what(), route_label(path, 500), true);
  }
}

void http_session::respond(http_response r, std::string route) {
  const auto status = static_cast<http::status>(r.status);
  response res{status, version_};
  res.set(http::field::content_type, r.content_type);
  res.body() = std::move(r.body);
  send(std::move(res), std::move(route));
}

void http_session::send_error(int status, std::string_view code, std::string_view message,
                              std::string route, bool close) {
  response res{static_cast<http::status>(status), version_};
  res.set(http::field::content_type, "application/json");
  res.body() = json_error_body(code, message);
  if (close) keep_alive_ = false;
  send(std::move(res), std::move(route));
}

void http_session::send(response res, std::string route) {
  core_->stats.http_request(route, static_cast<int>(res.result_int()));
  res.set(http::field::server, "rideshard");
  res.keep_alive(keep_alive_ && !core_->draining.load());
  res.prepare_payload();
  in_flight_ = std::make_shared<response>(std::move(res));
  stream_.expires_after(core_->config.handshake_timeout);
  http::async_write(stream_, *in_flight_,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(),
                                              in_flight_->need_eof()));
}

void http_session::on_write(bool close, beast::error_code ec, std::size_t) {
  in_flight_.reset();
  if (ec) return;
  if (close) return do_close();
  do_read();
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

void http_session::drain() {
  net::post(ex_, [self = shared_from_this()] {
    // Between requests: nothing in flight to finish.
    if (self->reading_ && !self->upgraded_) self->stream_.close();
  });
}

void http_session::abort() {
  net::post(ex_, [self = shared_from_this()] {
    if (!self->upgraded_) self->stream_.close();
  });
}

}  // namespace rideshard::gateway::detail
