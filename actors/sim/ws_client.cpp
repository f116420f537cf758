// ws_client: connect → handshake → read loop, with a single-writer send queue,
// and redials to the next node after a drop when the run allows it.
#include "sim/ws_client.hpp"

#include <chrono>

#include <boost/beast/websocket.hpp>

#include "rideshard/schemas/codec.hpp"

namespace rideshard::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {
/// Pause between redials: the dead node refuses at once, the survivors need a
/// moment to take its shards over. None after a close 1001 (going away): the
/// node is draining and its shard groups are served elsewhere already.
constexpr auto redial_pause = std::chrono::milliseconds(250);
}  // namespace

ws_client::ws_client(net::io_context& ioc, ws_target target, std::string path, bool binary,
                     std::size_t max_outbox, sim_stats& stats)
    : ioc_(ioc),
      stats_(stats),
      target_(std::move(target)),
      path_(std::move(path)),
      binary_(binary),
      max_outbox_(max_outbox),
      retry_timer_(ioc) {
  node_ = target_.nodes.empty() ? 0 : target_.first % target_.nodes.size();
}

void ws_client::start() {
  if (target_.nodes.empty()) {
    ++stats_.connect_failures;
    return finish();
  }
  dial();
}

void ws_client::dial() {
  const std::uint64_t gen = ++gen_;
  ws_ = std::make_shared<stream>(ioc_);
  in_.clear();
  outbox_.clear();
  writing_ = closed_ = open_ = false;
  auto s = ws_;
  const auto ep = target_.nodes[node_];
  beast::get_lowest_layer(*s).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(*s).async_connect(
      ep, [self = shared_from_this(), s, gen, ep](beast::error_code ec) {
        if (gen != self->gen_) return;
        if (ec || self->closing_) {
          if (ec) ++self->stats_.connect_failures;
          return self->lost(gen, false);
        }
        s->async_handshake(
            ep.address().to_string(), self->path_, [self, s, gen](beast::error_code hec) {
              if (gen != self->gen_) return;
              if (hec) {
                ++self->stats_.connect_failures;
                return self->lost(gen, false);
              }
              beast::get_lowest_layer(*s).expires_never();
              websocket::stream_base::timeout t{};
              t.handshake_timeout = std::chrono::seconds(5);
              t.idle_timeout = websocket::stream_base::none();
              t.keep_alive_pings = false;
              s->set_option(t);
              s->binary(self->binary_);
              self->open_ = true;
              self->ever_open_ = true;
              ++self->stats_.connects;
              if (self->reconnecting_) {
                self->reconnecting_ = false;
                ++self->reconnects_;
                ++self->stats_.reconnects;
                self->stats_.reconnect_s(std::chrono::duration<double>(
                                             std::chrono::steady_clock::now() - self->dropped_at_)
                                             .count());
              }
              self->on_open();
              self->do_read();
              if (self->closing_) self->do_close();
            });
      });
}

void ws_client::send(schemas::client_body body) {
  if (!open_ || closing_) return;
  if (outbox_.size() >= max_outbox_) {
    ++stats_.outbox_drops;
    return;
  }
  schemas::client_message m{++seq_, std::move(body)};
  if (binary_) {
    auto buf = schemas::encode_client_binary(m);
    outbox_.emplace_back(reinterpret_cast<const char*>(buf.data()), buf.size());
  } else {
    auto text = schemas::encode_client_json(m);
    if (!text) return stats_.error(text.code());
    outbox_.push_back(std::move(*text));
  }
  if (!writing_) do_write();
}

void ws_client::do_write() {
  writing_ = true;
  // The frame in flight belongs to the handler: a redial clears outbox_ while
  // the old connection's write may still be pending.
  auto frame = std::make_shared<std::string>(std::move(outbox_.front()));
  outbox_.pop_front();
  auto s = ws_;
  const std::uint64_t gen = gen_;
  s->async_write(net::buffer(*frame),
                 [self = shared_from_this(), s, gen, frame](beast::error_code ec, std::size_t) {
                   if (gen != self->gen_) return;
                   self->writing_ = false;
                   if (ec) {
                     self->outbox_.clear();
                     return;  // the read loop sees the failure
                   }
                   ++self->stats_.frames_sent;
                   if (!self->outbox_.empty())
                     self->do_write();
                   else if (self->closing_)
                     self->do_close();
                 });
}

void ws_client::do_read() {
  auto s = ws_;
  const std::uint64_t gen = gen_;
  s->async_read(in_, [self = shared_from_this(), s, gen](beast::error_code ec, std::size_t) {
    if (gen != self->gen_) return;
    if (ec)
      return self->lost(
          gen, true,
          ec == websocket::error::closed && s->reason().code == websocket::close_code::going_away);
    ++self->stats_.frames_received;
    const auto* data = static_cast<const std::uint8_t*>(self->in_.data().data());
    const auto size = self->in_.size();
    auto m = s->got_binary() ? schemas::decode_server_binary(data, size)
                             : schemas::decode_server_json(
                                   std::string_view(reinterpret_cast<const char*>(data), size));
    self->in_.consume(size);
    if (!m)
      self->stats_.error(m.code());
    else
      self->on_message(*m);
    if (gen == self->gen_) self->do_read();
  });
}

void ws_client::close() {
  if (closing_) return;
  closing_ = true;
  if (!open_) {
    // Dialling, or waiting between redials: stop the dial and the timer; their
    // handlers finish (an idle timer's cancel is a no-op).
    retry_timer_.cancel();
    beast::error_code ec;
    if (ws_) beast::get_lowest_layer(*ws_).socket().cancel(ec);
    return;
  }
  if (!writing_) do_close();
}

void ws_client::do_close() {
  if (closed_ || !open_) return;
  closed_ = true;
  outbox_.clear();
  // Bounded: the lowest layer's timer aborts a peer that never answers the close.
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(3));
  ws_->async_close(websocket::close_code::normal,
                   [self = shared_from_this(), s = ws_](beast::error_code) {});
}

void ws_client::lost(std::uint64_t gen, bool was_open, bool going_away) {
  if (gen != gen_ || finished_) return;
  open_ = false;
  if (was_open) ++stats_.disconnects;
  const bool may_redial =
      !closing_ && ever_open_ && target_.reconnect_s > 0;  // start() refused an empty list
  if (may_redial) {
    const auto now = std::chrono::steady_clock::now();
    if (!reconnecting_) {
      reconnecting_ = true;
      dropped_at_ = now;
      on_dropped();
      if (closing_) return finish();  // on_dropped may give up
    }
    if (std::chrono::duration<double>(now - dropped_at_).count() < target_.reconnect_s) {
      node_ = (node_ + 1) % target_.nodes.size();
      // A going-away close is redialled at once (see redial_pause); a failed
      // redial waits.
      retry_timer_.expires_after(going_away ? std::chrono::milliseconds(0) : redial_pause);
      retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closing_) return self->finish();
        self->dial();
      });
      return;
    }
    ++stats_.reconnect_failures;
  }
  finish();
}

void ws_client::finish() {
  if (finished_) return;
  finished_ = true;
  open_ = false;
  on_closed(ever_open_);
}

}  // namespace rideshard::sim
