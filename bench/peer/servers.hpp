// Starting and stopping the two peers under test: redis-server (persistence
// off) and a rideshard node, both on 127.0.0.1, plus the admin token.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "peer/child_process.hpp"

namespace rideshard::peer {

/// Where things are: binaries, config, scratch directory.
struct server_paths {
  std::string rideshard_bin;  ///< build/rideshard
  std::string redis_bin = "redis-server";
  std::string node_config;  ///< cluster-config/single-node.toml (or a bench copy)
  std::string scratch_dir;  ///< temp dir: data dirs and server logs
};

/// A running redis-server. Stopped by the destructor (owns the process).
struct redis_server {
  child_process process;
  boost::asio::ip::tcp::endpoint endpoint;
};

/// Starts redis-server on a free loopback port with `--save "" --appendonly no`
/// and waits (bounded, 10 s) until it answers PING. Error message on failure.
[[nodiscard]] std::optional<std::string> start_redis(const server_paths& paths, redis_server& out);

/// A running `rideshard serve`. Stopped by the destructor.
struct rideshard_server {
  child_process process;
  boost::asio::ip::tcp::endpoint endpoint;
};

/// Starts `rideshard serve --listen 127.0.0.1:0 --data-dir <fresh dir>` and reads
/// the port from its "listening on http://HOST:PORT" line (bounded, 30 s).
/// `instance` names the data dir and log file.
[[nodiscard]] std::optional<std::string> start_rideshard(const server_paths& paths, int instance,
                                                         rideshard_server& out);

/// Sets $RIDESHARD_JWT_SECRET to a fresh random secret for this process and its
/// children, then mints an admin token with `rideshard token --role admin`.
[[nodiscard]] std::optional<std::string> mint_admin_token(const server_paths& paths,
                                                          std::string& token);

/// The version line of redis-server (for the report), or "unknown".
std::string redis_version(const server_paths& paths);

}  // namespace rideshard::peer
