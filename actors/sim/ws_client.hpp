// One simulated app connection: an async Beast WebSocket client on a single-
// threaded io_context (so no strand is needed), one write in flight, a bounded
// send queue. When the node drops the connection it can reconnect to the next
// node of the run (a cluster: apps reconnect elsewhere and resume). Driver and
// rider behaviour derive from it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "rideshard/schemas/messages.hpp"
#include "sim/sim_stats.hpp"

namespace rideshard::sim {

/// Where a client connects and what it does when the connection drops.
struct ws_target {
  std::vector<boost::asio::ip::tcp::endpoint> nodes;  ///< at least one
  std::size_t first = 0;                              ///< index of the first node to dial
  /// >0: after a drop, redial the next nodes for this long (at once after a
  /// close 1001 going-away, else after a short pause).
  double reconnect_s = 0;
};

/// Base of driver_client and rider_client. Thread-safety: every member runs on
/// the thread of the io_context it was created with; start() and close() must
/// be called there too (post them). Owned by shared_ptr (handlers hold one).
class ws_client : public std::enable_shared_from_this<ws_client> {
 public:
  ws_client(boost::asio::io_context& ioc, ws_target target, std::string path, bool binary,
            std::size_t max_outbox, sim_stats& stats);
  virtual ~ws_client() = default;

  /// Connects, handshakes, then calls on_open() and starts reading.
  void start();
  /// Sends a close frame once the queue drains (idempotent); no reconnect after it.
  void close();
  bool open() const { return open_; }

 protected:
  /// Every time a connection is up (the first and each reconnect: see resuming()).
  virtual void on_open() = 0;
  virtual void on_message(const schemas::server_message& m) = 0;
  /// The connection dropped and a reconnect to another node is under way.
  virtual void on_dropped() {}
  /// Called once when the client is done: closed, never opened, or out of
  /// reconnect time (was_open: a connection was up at some point).
  virtual void on_closed(bool was_open) = 0;
  /// True in on_open() after a drop: the app says hello with resume.
  bool resuming() const { return reconnects_ > 0; }
  /// The node of the current (or last) connection.
  const boost::asio::ip::tcp::endpoint& current_node() const { return target_.nodes[node_]; }

  /// Queues one frame; dropped (and counted) when the queue is full or closing.
  void send(schemas::client_body body);

  template <class T>
  std::shared_ptr<T> self() {
    return std::static_pointer_cast<T>(shared_from_this());
  }

  boost::asio::io_context& ioc_;
  sim_stats& stats_;

 private:
  using stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  void dial();
  void do_read();
  void do_write();
  void do_close();
  /// The current connection ended (gen: which one): reconnect or finish.
  /// `going_away`: the node closed it with 1001 (draining): redial at once.
  void lost(std::uint64_t gen, bool was_open, bool going_away = false);
  void finish();

  ws_target target_;
  std::size_t node_ = 0;  ///< index into target_.nodes of the current connection
  // One stream per connection; handlers keep theirs alive and ignore results of
  // an older connection (gen_ moved on).
  std::shared_ptr<stream> ws_;
  std::uint64_t gen_ = 0;
  std::string path_;
  bool binary_;
  std::size_t max_outbox_;
  boost::beast::flat_buffer in_;
  std::deque<std::string> outbox_;
  std::uint64_t seq_ = 0;
  boost::asio::steady_timer retry_timer_;
  std::chrono::steady_clock::time_point dropped_at_;
  int reconnects_ = 0;  ///< connections opened after a drop
  bool ever_open_ = false, reconnecting_ = false;
  bool open_ = false, writing_ = false, closing_ = false, closed_ = false, finished_ = false;
};

}  // namespace rideshard::sim
