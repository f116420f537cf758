// The seam between the Beast gateway and the actors: the gateway decodes and
// verifies frames, then calls these interfaces; actors never see Beast types.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rideshard/schemas/messages.hpp"

namespace rideshard::gateway {

/// Which WebSocket endpoint a connection came in on.
enum class endpoint : std::uint8_t { driver, rider, admin };

/// One live WebSocket connection, as seen by the actors. Thread-safe: every
/// method may be called from any thread; the session serialises on its strand.
class connection {
 public:
  virtual ~connection() = default;
  virtual std::uint64_t id() const noexcept = 0;
  virtual gateway::endpoint endpoint() const noexcept = 0;
  /// Queues a frame, encoded like the client's most recent frame (binary
  /// FlatBuffers or JSON text). Returns false when the connection is closed or
  /// its bounded queue overflowed (then it is being closed with a reason).
  virtual bool send(schemas::server_message msg) = 0;
  /// Sends a close frame with `reason` and ends the session.
  virtual void close(std::string reason) = 0;
};
using connection_ptr = std::shared_ptr<connection>;

/// Implemented by the node. Called on gateway I/O threads: must not block.
/// Frames that fail decoding, size or rate limits never reach on_message (the
/// gateway answers them with an error_reply and counts them).
class ws_handler {
 public:
  virtual ~ws_handler() = default;
  virtual void on_open(const connection_ptr& c) = 0;
  virtual void on_message(const connection_ptr& c, schemas::client_message msg) = 0;
  virtual void on_close(const connection_ptr& c) = 0;
};

struct http_request {
  std::string method;                        ///< "GET", "POST", ...
  std::string path;                          ///< without the query string
  std::map<std::string, std::string> query;  ///< decoded query parameters
  std::string authorization;                 ///< the Authorization header, verbatim
  std::string cookie;      ///< the Cookie header, verbatim (the admin console's session)
  std::string csrf_token;  ///< the X-CSRF-Token header (double-submit check of cookie sessions)
  std::string idempotency_key;  ///< the Idempotency-Key header, verbatim (empty: none)
  std::string body;
  std::string client_address;  ///< the peer's IP address (login throttling); may be empty
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Extra response headers (e.g. Set-Cookie, Cache-Control), sent as given.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The route template the handler matched, e.g. "/api/users/{id}": the only
  /// path text that reaches metric labels. Empty (no route matched): every such
  /// request shares the label "unmatched", so hostile paths cannot grow series.
  std::string route;
};

/// Implemented by the node for /api/*, /health (and anything not built into the
/// gateway). Called on an I/O thread; `respond` may be called later from any
/// thread, exactly once.
class http_handler {
 public:
  virtual ~http_handler() = default;
  virtual void handle(http_request req, std::function<void(http_response)> respond) = 0;
};

}  // namespace rideshard::gateway
