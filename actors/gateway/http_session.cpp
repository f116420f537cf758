// http_session: HTTP/1.1 keep-alive requests until a WebSocket upgrade or close.
#include "gateway/detail/http_session.hpp"

#include <atomic>
#include <cstdio>
#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "gateway/detail/feed_session.hpp"
#include "gateway/detail/ws_session.hpp"
#include "gateway/query_string.hpp"

namespace rideshard::gateway::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::string_view console_path = "/v1/console";

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

bool same_ascii_lower(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool origin_allowed(std::optional<std::string_view> origin, std::string_view own_origin,
                    const std::vector<std::string>& allowed) {
  if (!origin) return true;  // not a browser
  if (origin->empty()) return false;
  if (!own_origin.empty() && same_ascii_lower(*origin, own_origin)) return true;
  for (const auto& a : allowed)
    if (same_ascii_lower(*origin, a)) return true;
  return false;
}

std::string json_error_body(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":{\"code\":";
  append_json_string(out, code);
  out += ",\"message\":";
  append_json_string(out, message);
  out += "}}";
  return out;
}

std::string route_label(const http_response& r) {
  constexpr std::size_t max_route = 64;
  if (r.route.empty() || r.route.size() > max_route || r.route.front() != '/') return "unmatched";
  return r.route;
}

http_session::http_session(std::shared_ptr<gateway_core> core, net::ip::tcp::socket&& socket)
    : core_(std::move(core)),
      ex_(socket.get_executor()),
      stream_(std::move(socket), core_->tls.get()),
      id_(core_->next_id.fetch_add(1)) {}

http_session::~http_session() { core_->sessions.remove(id_); }

void http_session::run() {
  core_->sessions.add(id_, weak_from_this());
  if (!stream_.is_tls()) return do_read();
  stream_.next_layer().expires_after(core_->config.handshake_timeout);
  stream_.tls().async_handshake(
      net::ssl::stream_base::server,
      beast::bind_front_handler(&http_session::on_handshake, shared_from_this()));
}

void http_session::on_handshake(beast::error_code ec) {
  if (ec) {  // not TLS, a bad client hello, a timeout: nothing to answer
    core_->stats.connection_closed_by_server("tls_handshake_failed");
    return;
  }
  do_read();
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(core_->config.max_body_bytes);
  parser_->header_limit(max_header_bytes);
  stream_.next_layer().expires_after(core_->config.handshake_timeout);
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
    const bool console = target->path == console_path;
    const auto ep = endpoint_for(target->path);
    if (!ep && !console)
      return send_error(404, "not_found", "no WebSocket endpoint here", "unmatched", false);
    const std::string route = console                  ? std::string(console_path)
                              : ep == endpoint::driver ? "/v1/driver"
                              : ep == endpoint::rider  ? "/v1/rider"
                                                       : "/v1/admin";
    if (core_->draining.load()) {
      return send_error(503, "unavailable", "server shutting down", route, true);
    }
    std::optional<std::string_view> origin;
    if (const auto it = req.find(http::field::origin); it != req.end())
      origin.emplace(it->value().data(), it->value().size());
    const auto host = req[http::field::host];
    const std::string own_origin = host.empty()
                                       ? std::string()
                                       : std::string(stream_.is_tls() ? "https://" : "http://") +
                                             std::string(host.data(), host.size());
    if (!origin_allowed(origin, own_origin, core_->config.allowed_origins)) {
      core_->stats.security_event("origin_refused");
      core_->stats.error(errc::forbidden);
      return send_error(403, "forbidden", "WebSocket upgrade from an Origin that is not allowed",
                        route, true);
    }
    if (console) return upgrade_console();
    core_->stats.http_request(route, 101);
    upgraded_ = true;
    std::make_shared<ws_session>(core_, std::move(stream_), *ep)->run(parser_->release());
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
  http_request out = credentials(req);
  out.method = std::string(req.method_string());
  out.path = std::move(target->path);
  out.query = std::move(target->query);
  out.csrf_token = std::string(req["X-CSRF-Token"]);
  out.idempotency_key = std::string(req["Idempotency-Key"]);
  out.body = std::move(req.body());
  ask_handler(std::move(out), "unmatched",
              [](const std::shared_ptr<http_session>& self, http_response r) {
                std::string route = route_label(r);
                self->respond(std::move(r), std::move(route));
              });
}

void http_session::ask_handler(
    http_request req, std::string route,
    std::function<void(const std::shared_ptr<http_session>&, http_response)> then) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto answer = [self = shared_from_this(), once, then = std::move(then)](http_response r) {
    if (once->exchange(true)) return;
    net::post(self->ex_, [self, then, r = std::move(r)]() mutable { then(self, std::move(r)); });
  };
  try {
    core_->http.handle(std::move(req), std::move(answer));
  } catch (const std::exception& e) {
    // The handler broke its contract; answer rather than hang the client.
    core_->stats.error(errc::internal);
    if (!once->exchange(true)) send_error(500, "internal", e.what(), std::move(route), true);
  }
}

http_request http_session::credentials(const request& req) {
  http_request out;
  out.authorization = std::string(req[http::field::authorization]);
  out.cookie = std::string(req[http::field::cookie]);
  beast::error_code ec;
  const auto peer = stream_.next_layer().socket().remote_endpoint(ec);
  if (!ec) out.client_address = peer.address().to_string();
  return out;
}

// /v1/console: the feed route must answer 200 for these credentials before the
// upgrade is accepted; any other answer is sent back as the upgrade's answer.
void http_session::upgrade_console() {
  http_request probe = credentials(parser_->get());
  probe.method = "GET";
  probe.path = core_->config.console_feed_route;
  ask_handler(probe, std::string(console_path),
              [probe](const std::shared_ptr<http_session>& self, http_response r) mutable {
                if (r.status != 200) {
                  self->keep_alive_ = false;
                  return self->respond(std::move(r), std::string(console_path));
                }
                self->core_->stats.http_request(console_path, 101);
                self->upgraded_ = true;
                std::make_shared<feed_session>(self->core_, std::move(self->stream_),
                                               std::move(probe), std::move(r.body))
                    ->run(self->parser_->release());
                self->core_->sessions.remove(self->id_);
              });
}

void http_session::respond(http_response r, std::string route) {
  const auto status = static_cast<http::status>(r.status);
  response res{status, version_};
  res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.insert(name, value);
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
  stream_.next_layer().expires_after(core_->config.handshake_timeout);
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
  // With TLS this skips close_notify: every response is length-delimited, so a
  // client cannot mistake the TCP FIN for a truncated body.
  stream_.next_layer().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

void http_session::drain() {
  net::post(ex_, [self = shared_from_this()] {
    // Between requests: nothing in flight to finish.
    if (self->reading_ && !self->upgraded_) self->stream_.next_layer().close();
  });
}

void http_session::abort() {
  net::post(ex_, [self = shared_from_this()] {
    if (!self->upgraded_) self->stream_.next_layer().close();
  });
}

}  // namespace rideshard::gateway::detail
