// Private to the gateway: one WebSocket connection. Reads, decodes, rate-limits
// and hands frames to the ws_handler; writes one frame at a time from a bounded
// queue. Everything runs on the connection's I/O thread (the one thread running
// its io_context), except send(), which any thread may call: it hands frames
// over through `outbox_`.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "gateway/detail/flex_stream.hpp"
#include "gateway/detail/gateway_core.hpp"
#include "gateway/token_bucket.hpp"

namespace rideshard::gateway::detail {

class ws_session final : public connection,
                         public session_base,
                         public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(std::shared_ptr<gateway_core> core, flex_stream&& stream,
             rideshard::gateway::endpoint ep);
  ~ws_session() override;

  /// Registers the session and answers the upgrade request. Call once.
  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  std::uint64_t id() const noexcept override { return id_; }
  rideshard::gateway::endpoint endpoint() const noexcept override { return endpoint_; }
  bool send(schemas::server_message msg) override;
  void close(std::string reason) override;

  void drain() override;
  void abort() override;
  void revoke(std::string reason) override;

 private:
  struct frame {
    bool binary = false;
    std::vector<std::uint8_t> bytes;  // binary frames
    std::string text;                 // text frames
  };

  [[nodiscard]] bool encode(const schemas::server_message& msg, bool binary, frame& out);
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_frame(bool binary);
  /// An error frame answering the client frame `seq` (0: unknown).
  void reply_error(errc code, std::string message, std::uint64_t seq);
  /// The seq of the frame in buffer_ as far as it can be read (0: unreadable).
  std::uint64_t frame_seq(bool binary) const;
  void enqueue(frame f);
  /// On the I/O thread: moves every frame send() handed over into the write queue.
  void take_outbox();
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void begin_close(boost::beast::websocket::close_reason reason, bool flush,
                   std::string_view metric_reason);
  void do_close();
  void abort_socket();
  void finish();
  void pop_front();
  void drop_unsent();

  // core_ first: it owns the io_context, so it is destroyed after the socket.
  std::shared_ptr<gateway_core> core_;
  boost::asio::any_io_executor ex_;
  boost::beast::websocket::stream<flex_stream> ws_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer close_timer_;
  const std::uint64_t id_;
  const rideshard::gateway::endpoint endpoint_;
  token_bucket bucket_;
  std::deque<frame> queue_;
  /// Frames from send() (any thread) for the I/O thread. One posted take_outbox()
  /// carries all that arrive before it runs: one I/O-thread wake-up per burst
  /// to this connection, not one per frame. In send() order.
  std::mutex outbox_mu_;
  std::vector<frame> outbox_;        // guarded by outbox_mu_
  bool outbox_posted_ = false;       // guarded by outbox_mu_: a take_outbox() is on its way
  std::vector<frame> outbox_taken_;  // I/O thread only: outbox_'s storage, swapped back and forth
  boost::beast::websocket::close_reason close_reason_;
  std::atomic<std::size_t> queued_{0};  // frames accepted by send() and not yet written
  std::atomic<bool> last_binary_{false};
  std::atomic<bool> closing_{false};  // send() refuses once set
  bool writing_ = false;
  bool close_started_ = false;
  bool accepted_ = false;
  bool finished_ = false;
  bool discarding_ = false;  // reading past an oversized frame
};

}  // namespace rideshard::gateway::detail
