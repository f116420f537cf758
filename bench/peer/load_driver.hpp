// The one load generator both peers are driven by: N connections on a single
// io_context thread, each keeping up to `depth` pre-encoded requests in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace rideshard::peer {

using steady_clock = std::chrono::steady_clock;

/// One request, encoded before the clock starts. `items` = updates or queries in it.
struct wire_request {
  std::string bytes;
  std::uint64_t id = 0;  ///< unique within a phase (RESP: FIFO order; WebSocket: seq)
  std::uint32_t items = 1;
  std::uint32_t first_query = 0;  ///< index of its first query (nearby phases)
  std::uint32_t replies = 1;      ///< RESP replies that complete it (pipelined commands)
};

/// What one phase measured, over every connection.
struct phase_result {
  double seconds = 0;                ///< first send to last reply
  std::uint64_t requests = 0;        ///< answered requests
  std::uint64_t items = 0;           ///< updates or queries in answered requests
  std::uint64_t errors = 0;          ///< error replies
  std::uint64_t unanswered = 0;      ///< sent but not answered by the hard time limit
  std::uint64_t unsent = 0;          ///< planned but not sent (issuing stopped on time)
  std::vector<double> latencies_us;  ///< one per answered request (send -> reply)
  bool aborted = false;              ///< hard time limit hit or a connection failed
  std::string failure;
  double items_per_s() const { return seconds > 0 ? static_cast<double>(items) / seconds : 0; }
};

/// Base of the Redis and rideshard connections: window bookkeeping and stats.
/// Derived classes write request bytes and report replies. Single-threaded:
/// every call happens on the io_context thread.
class pipelined_connection : public std::enable_shared_from_this<pipelined_connection> {
 public:
  virtual ~pipelined_connection() = default;

  /// Starts a phase: send `work` keeping <= depth in flight; stop issuing at
  /// `stop_issuing`. Calls `done` once everything sent was answered.
  void begin(std::vector<wire_request> work, std::size_t depth,
             steady_clock::time_point stop_issuing, std::function<void()> done);
  /// Moves this phase's numbers into `into` (latencies appended).
  void collect(phase_result& into);
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }

  /// Replies to nearby queries, indexed by query number (only when collecting).
  std::vector<std::vector<std::uint64_t>>* results = nullptr;

 protected:
  /// Writes requests [first, last) of the current work (in order).
  virtual void write_requests(std::size_t first, std::size_t last) = 0;
  /// A reply to request `id` (RESP: the oldest in flight). Refills the window.
  void on_reply(std::uint64_t id, bool ok);
  /// The oldest request in flight, for in-order protocols (0 when none).
  std::uint64_t oldest_in_flight() const;
  const wire_request* request_by_id(std::uint64_t id) const;
  void fail(std::string why);
  std::vector<wire_request> work_;

 private:
  void pump();
  struct pending {
    std::uint64_t id;
    std::size_t index;
    steady_clock::time_point sent;
  };
  std::vector<pending> in_flight_;
  std::size_t next_ = 0, depth_ = 1;
  steady_clock::time_point stop_issuing_;
  std::function<void()> done_;
  std::uint64_t requests_ = 0, items_ = 0, errors_ = 0;
  std::vector<double> latencies_us_;
  std::string failure_;
  bool finished_ = true;
};

/// Runs one phase over `conns` (work[i] goes to conns[i]) on `ioc`'s calling
/// thread. Issuing stops after `issue_for`; the phase is abandoned (aborted)
/// if replies are still missing `grace` later.
phase_result run_phase(boost::asio::io_context& ioc,
                       const std::vector<std::shared_ptr<pipelined_connection>>& conns,
                       std::vector<std::vector<wire_request>> work, std::size_t depth,
                       std::chrono::milliseconds issue_for, std::chrono::milliseconds grace);

/// Median and percentiles of a sample (p in [0, 100]); 0 for an empty sample.
double percentile(std::vector<double> v, double p);

}  // namespace rideshard::peer
