// One simulated app connection: an async Beast WebSocket client on a single-
// threaded io_context (so no strand is needed), one write in flight, a bounded
// send queue. Driver and rider behaviour derive from it.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "rideshard/schemas/messages.hpp"
#include "sim/sim_stats.hpp"

namespace rideshard::sim {

/// Base of driver_client and rider_client. Thread-safety: every member runs on
/// the thread of the io_context it was created with; start() and close() must
/// be called there too (post them). Owned by shared_ptr (handlers hold one).
class ws_client : public std::enable_shared_from_this<ws_client> {
 public:
  ws_client(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, std::string path,
            bool binary, std::size_t max_outbox, sim_stats& stats);
  virtual ~ws_client() = default;

  /// Connects, handshakes, then calls on_open() and starts reading.
  void start();
  /// Sends a close frame once the queue drains (idempotent).
  void close();
  bool open() const { return open_; }

 protected:
  virtual void on_open() = 0;
  virtual void on_message(const schemas::server_message& m) = 0;
  /// Called once when the connection ends (or never opened).
  virtual void on_closed(bool was_open) = 0;

  /// Queues one frame; dropped (and counted) when the queue is full or closing.
  void send(schemas::client_body body);

  template <class T>
  std::shared_ptr<T> self() {
    return std::static_pointer_cast<T>(shared_from_this());
  }

  boost::asio::io_context& ioc_;
  sim_stats& stats_;

 private:
  void do_read();
  void do_write();
  void do_close();
  void finish();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::asio::ip::tcp::endpoint ep_;
  std::string path_;
  bool binary_;
  std::size_t max_outbox_;
  boost::beast::flat_buffer in_;
  std::deque<std::string> outbox_;
  std::uint64_t seq_ = 0;
  bool open_ = false, writing_ = false, closing_ = false, closed_ = false, finished_ = false;
};

}  // namespace rideshard::sim
