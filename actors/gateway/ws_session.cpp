// ws_session: the WebSocket side of a connection, after the HTTP upgrade.
#include "gateway/detail/ws_session.hpp"

#include <chrono>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "gateway/detail/ws_options.hpp"

namespace rideshard::gateway::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

constexpr std::string_view outbound_queue = "gateway_outbound";
// Frames are read in chunks of this size, so an oversized frame is noticed (and
// answered) before it is buffered whole.
constexpr std::size_t read_chunk_bytes = 64 * 1024;
// Past this a read buffer is given back after the frame: idle sessions stay small.
constexpr std::size_t keep_buffer_bytes = 16 * 1024;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A close frame's reason is at most 123 bytes; cut on a UTF-8 boundary.
std::string clip_reason(std::string reason) {
  constexpr std::size_t max = 123;
  if (reason.size() <= max) return reason;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  reason.resize(n);
  return reason;
}

}  // namespace

ws_session::ws_session(std::shared_ptr<gateway_core> core, flex_stream&& stream,
                       rideshard::gateway::endpoint ep)
    : core_(std::move(core)),
      ex_(stream.get_executor()),
      ws_(std::move(stream)),
      close_timer_(ex_),
      id_(core_->next_id.fetch_add(1)),
      endpoint_(ep),
      bucket_(ep == rideshard::gateway::endpoint::admin ? core_->config.admin_rate_per_s
                                                        : core_->config.rate_per_s,
              ep == rideshard::gateway::endpoint::admin ? core_->config.admin_burst
                                                        : core_->config.burst,
              token_bucket::clock::now()) {}

ws_session::~ws_session() { core_->sessions.remove(id_); }

void ws_session::run(beast::http::request<beast::http::string_body> req) {
  core_->sessions.add(id_, weak_from_this());
  set_server_options(ws_, core_->config);
  ws_.read_message_max(0);  // no Beast limit: on_read enforces hard_frame_limit itself
  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

void ws_session::on_accept(beast::error_code ec) {
  if (ec) return finish();
  accepted_ = true;
  core_->stats.connection_opened(endpoint_);
  core_->ws.on_open(shared_from_this());
  if (core_->draining.load()) {
    begin_close({websocket::close_code::going_away, "server shutting down"}, true, "drain");
  }
  do_read();
}

void ws_session::do_read() {
  ws_.async_read_some(buffer_, read_chunk_bytes,
                      beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) return finish();
  const bool done = ws_.is_message_done();
  if (discarding_) {  // the rest of an oversized frame: dropped unread
    buffer_.consume(buffer_.size());
    if (done) discarding_ = false;
    return do_read();
  }
  if (buffer_.size() > hard_frame_limit(core_->config, endpoint_)) {
    // The documented answer first, then close 1009; the rest is read and dropped.
    last_binary_.store(ws_.got_binary());
    core_->stats.error(errc::frame_too_large);
    if (!close_started_) {
      reply_error(errc::frame_too_large,
                  "frame exceeds " + std::to_string(hard_frame_limit(core_->config, endpoint_)) +
                      " bytes; closing",
                  0);
      begin_close({websocket::close_code::too_big, "frame_too_large"}, true, "frame_too_large");
    }
    buffer_.consume(buffer_.size());
    buffer_.shrink_to_fit();
    discarding_ = !done;
    return do_read();
  }
  if (!done) return do_read();  // more of this frame to come
  const bool binary = ws_.got_binary();
  last_binary_.store(binary);
  if (!close_started_) handle_frame(binary);
  buffer_.consume(buffer_.size());
  if (buffer_.capacity() > keep_buffer_bytes) buffer_.shrink_to_fit();
  do_read();  // keep reading while closing: the peer's close frame arrives here
}

std::uint64_t ws_session::frame_seq(bool binary) const {
  const auto data = buffer_.cdata();
  schemas::codec_limits limits;
  limits.max_frame_bytes = hard_frame_limit(core_->config, endpoint_);
  return binary ? schemas::client_frame_seq(static_cast<const std::uint8_t*>(data.data()),
                                            data.size(), limits)
                : schemas::client_frame_seq_json(
                      std::string_view(static_cast<const char*>(data.data()), data.size()), limits);
}

void ws_session::handle_frame(bool binary) {
  if (!bucket_.try_take(token_bucket::clock::now())) {
    core_->stats.error(errc::rate_limited);
    return reply_error(errc::rate_limited, "too many frames; slow down", frame_seq(binary));
  }
  const auto data = buffer_.cdata();
  const auto& limits =
      endpoint_ == rideshard::gateway::endpoint::admin ? core_->admin_limits : core_->limits;
  auto msg =
      binary ? schemas::decode_client_binary(static_cast<const std::uint8_t*>(data.data()),
                                             data.size(), limits)
             : schemas::decode_client_json(
                   std::string_view(static_cast<const char*>(data.data()), data.size()), limits);
  if (!msg) {
    core_->stats.error(msg.code());
    return reply_error(msg.code(), msg.err().message, frame_seq(binary));
  }
  core_->stats.frame_in(msg->body);
  core_->ws.on_message(shared_from_this(), std::move(*msg));
}

bool ws_session::encode(const schemas::server_message& msg, bool binary, frame& out) {
  out.binary = binary;
  if (binary) {
    out.bytes = schemas::encode_server_binary(msg);
    return true;
  }
  auto text = schemas::encode_server_json(msg);
  if (!text) {
    core_->stats.error(text.code());
    return false;
  }
  out.text = std::move(*text);
  return true;
}

bool ws_session::send(schemas::server_message msg) {
  if (closing_.load()) return false;
  frame f;
  // Encoded on the caller's thread: the actors pay for encoding, not the I/O threads.
  if (!encode(msg, last_binary_.load(), f)) return false;
  if (queued_.fetch_add(1) >= core_->config.max_queue_frames) {
    queued_.fetch_sub(1);
    net::post(ex_, [self = shared_from_this()] {
      self->begin_close({websocket::close_code::policy_error, "slow consumer"}, false,
                        "slow_consumer");
    });
    return false;
  }
  core_->stats.frame_out(msg.body);
  // The handler welcomes a session once its token is verified: from then on the
  // session belongs to that subject (revocation closes it).
  if (const auto* w = std::get_if<schemas::welcome>(&msg.body))
    core_->sessions.bind_subject(id_, w->subject);
  bool post = false;
  {
    std::lock_guard<std::mutex> lock{outbox_mu_};
    outbox_.push_back(std::move(f));
    post = !std::exchange(outbox_posted_, true);
  }
  if (post) net::post(ex_, [self = shared_from_this()] { self->take_outbox(); });
  return true;
}

void ws_session::take_outbox() {
  {
    std::lock_guard<std::mutex> lock{outbox_mu_};
    outbox_taken_.swap(outbox_);
    outbox_posted_ = false;
  }
  for (auto& f : outbox_taken_) enqueue(std::move(f));
  outbox_taken_.clear();  // keeps its capacity for the next swap
}

void ws_session::reply_error(errc code, std::string message, std::uint64_t seq) {
  schemas::server_message msg{0, seq, now_ms(),
                              schemas::error_reply{code, std::move(message), seq}};
  frame f;
  if (!encode(msg, last_binary_.load(), f)) return;
  if (queued_.fetch_add(1) >= core_->config.max_queue_frames) {
    queued_.fetch_sub(1);
    return begin_close({websocket::close_code::policy_error, "slow consumer"}, false,
                       "slow_consumer");
  }
  core_->stats.frame_out(msg.body);
  enqueue(std::move(f));
}

void ws_session::enqueue(frame f) {
  if (close_started_ || finished_) {
    queued_.fetch_sub(1);
    return;
  }
  queue_.push_back(std::move(f));
  core_->stats.add_queue_depth(outbound_queue, 1);
  if (!writing_) do_write();
}

void ws_session::do_write() {
  writing_ = true;
  const frame& f = queue_.front();
  ws_.binary(f.binary);
  const auto buf = f.binary ? net::buffer(f.bytes) : net::buffer(f.text);
  ws_.async_write(buf, beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
}

void ws_session::pop_front() {
  queue_.pop_front();
  queued_.fetch_sub(1);
  core_->stats.add_queue_depth(outbound_queue, -1);
}

// Drops queued frames except one being written: Beast still references it and
// on_write pops it.
void ws_session::drop_unsent() {
  while (queue_.size() > (writing_ ? 1u : 0u)) {
    queue_.pop_back();
    queued_.fetch_sub(1);
    core_->stats.add_queue_depth(outbound_queue, -1);
  }
}

void ws_session::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (!queue_.empty()) pop_front();
  if (ec) return abort_socket();  // the pending read fails and finishes the session
  if (!queue_.empty()) return do_write();
  if (close_started_) do_close();
}

void ws_session::close(std::string reason) {
  net::post(ex_, [self = shared_from_this(), reason = clip_reason(std::move(reason))]() mutable {
    self->begin_close({websocket::close_code::normal, reason.c_str()}, true, "handler");
  });
}

void ws_session::drain() {
  net::post(ex_, [self = shared_from_this()] {
    if (!self->accepted_) return self->abort_socket();
    self->begin_close({websocket::close_code::going_away, "server shutting down"}, true, "drain");
  });
}

void ws_session::revoke(std::string reason) {
  net::post(ex_, [self = shared_from_this(), reason = clip_reason(std::move(reason))]() mutable {
    self->begin_close({websocket::close_code::policy_error, reason.c_str()}, false, "revoked");
  });
}

void ws_session::abort() {
  net::post(ex_, [self = shared_from_this()] { self->abort_socket(); });
}

void ws_session::begin_close(websocket::close_reason reason, bool flush,
                             std::string_view metric_reason) {
  if (close_started_ || finished_) return;
  close_started_ = true;
  closing_.store(true);
  close_reason_ = std::move(reason);
  core_->stats.connection_closed_by_server(metric_reason);
  if (!flush) drop_unsent();
  // A peer that neither reads nor answers the close loses its socket.
  close_timer_.expires_after(core_->config.handshake_timeout * 2);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->abort_socket();
  });
  if (!writing_) do_close();
}

void ws_session::do_close() {
  ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
    if (ec) self->abort_socket();
  });
}

void ws_session::abort_socket() {
  close_timer_.cancel();
  beast::get_lowest_layer(ws_).close();
}

void ws_session::finish() {
  if (finished_) return;
  finished_ = true;
  closing_.store(true);
  close_timer_.cancel();
  drop_unsent();
  if (accepted_) {
    core_->stats.connection_closed(endpoint_);
    core_->ws.on_close(shared_from_this());
  }
  core_->sessions.remove(id_);
}

}  // namespace rideshard::gateway::detail
