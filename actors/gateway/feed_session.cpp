// feed_session: the admin console's live feed, after the HTTP upgrade.
#include "gateway/detail/feed_session.hpp"

#include <atomic>
#include <utility>

#include <boost/asio/post.hpp>

#include "gateway/detail/ws_options.hpp"

namespace rideshard::gateway::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

// The console sends nothing but control frames; anything larger is refused.
constexpr std::size_t max_client_frame_bytes = 4096;

}  // namespace

feed_session::feed_session(std::shared_ptr<gateway_core> core, flex_stream&& stream,
                           http_request probe, std::string first)
    : core_(std::move(core)),
      ex_(stream.get_executor()),
      ws_(std::move(stream)),
      tick_timer_(ex_),
      close_timer_(ex_),
      id_(core_->next_id.fetch_add(1)),
      probe_(std::move(probe)),
      out_(std::move(first)) {}

feed_session::~feed_session() { core_->sessions.remove(id_); }

void feed_session::run(beast::http::request<beast::http::string_body> req) {
  core_->sessions.add(id_, weak_from_this());
  set_server_options(ws_, core_->config);
  ws_.read_message_max(max_client_frame_bytes);
  ws_.async_accept(req, beast::bind_front_handler(&feed_session::on_accept, shared_from_this()));
}

void feed_session::on_accept(beast::error_code ec) {
  if (ec) return finish();
  accepted_ = true;
  core_->stats.console_feed_open(1);
  if (core_->draining.load()) {
    begin_close({websocket::close_code::going_away, "server shutting down"}, "drain");
  } else {
    write(std::move(out_));  // the answer that let the upgrade through
    arm_timer();
  }
  do_read();
}

// Reading keeps pings answered and notices the browser leaving; frames the
// console should not send (or too large: Beast fails the read) end the session.
void feed_session::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&feed_session::on_read, shared_from_this()));
}

void feed_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) return finish();
  buffer_.consume(buffer_.size());
  core_->stats.error(errc::invalid_argument);
  begin_close({websocket::close_code::policy_error, "the console feed takes no frames"},
              "unexpected_frame");
  do_read();  // the peer's close frame arrives here
}

void feed_session::arm_timer() {
  tick_timer_.expires_after(core_->config.console_feed_interval);
  tick_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->close_started_ || self->finished_) return;
    self->arm_timer();
    self->ask();
  });
}

void feed_session::ask() {
  // One request in flight and one frame on the wire at most: a slow handler or
  // a slow browser makes the console skip ticks, never queue them.
  if (asking_ || writing_) {
    core_->stats.console_feed_tick(false);
    return;
  }
  asking_ = true;
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto respond = [self = shared_from_this(), once](http_response r) {
    if (once->exchange(true)) return;
    net::post(self->ex_, [self, r = std::move(r)]() mutable { self->on_answer(std::move(r)); });
  };
  try {
    core_->http.handle(probe_, std::move(respond));
  } catch (const std::exception&) {
    core_->stats.error(errc::internal);
    if (!once->exchange(true)) asking_ = false;
  }
}

void feed_session::on_answer(http_response r) {
  asking_ = false;
  if (close_started_ || finished_) return;
  if (r.status != 200) {
    // 401/403: the console's session ended (expired, signed out, revoked).
    return begin_close(
        {websocket::close_code::policy_error, "feed refused: HTTP " + std::to_string(r.status)},
        "feed_refused");
  }
  write(std::move(r.body));
}

void feed_session::write(std::string text) {
  if (close_started_ || finished_) return;
  out_ = std::move(text);
  writing_ = true;
  ws_.text(true);
  ws_.async_write(net::buffer(out_),
                  beast::bind_front_handler(&feed_session::on_write, shared_from_this()));
}

void feed_session::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  out_.clear();
  if (ec) return abort_socket();  // the pending read fails and finishes the session
  core_->stats.console_feed_tick(true);
  if (close_started_) do_close();
}

void feed_session::drain() {
  net::post(ex_, [self = shared_from_this()] {
    self->begin_close({websocket::close_code::going_away, "server shutting down"}, "drain");
  });
}

void feed_session::abort() {
  net::post(ex_, [self = shared_from_this()] { self->abort_socket(); });
}

void feed_session::revoke(std::string reason) {
  net::post(ex_, [self = shared_from_this(), reason = std::move(reason)] {
    self->begin_close({websocket::close_code::policy_error, reason.substr(0, 123)}, "revoked");
  });
}

void feed_session::begin_close(websocket::close_reason reason, std::string_view metric_reason) {
  if (close_started_ || finished_) return;
  close_started_ = true;
  close_reason_ = std::move(reason);
  tick_timer_.cancel();
  core_->stats.connection_closed_by_server(metric_reason);
  // A peer that neither reads nor answers the close loses its socket.
  close_timer_.expires_after(core_->config.handshake_timeout * 2);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->abort_socket();
  });
  if (!writing_) do_close();  // else on_write closes after the frame on the wire
}

void feed_session::do_close() {
  ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
    if (ec) self->abort_socket();
  });
}

void feed_session::abort_socket() {
  tick_timer_.cancel();
  close_timer_.cancel();
  beast::get_lowest_layer(ws_).close();
}

void feed_session::finish() {
  if (finished_) return;
  finished_ = true;
  if (accepted_) core_->stats.console_feed_open(-1);
  tick_timer_.cancel();
  close_timer_.cancel();
  core_->sessions.remove(id_);
}

}  // namespace rideshard::gateway::detail
