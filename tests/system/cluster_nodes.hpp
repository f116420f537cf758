// Helpers for system tests that start several `rideshard serve` processes as a
// cluster (free ports: node_process.hpp): addresses, certificates, a node
// config derived from single-node.toml, bounded waits on the nodes' state.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "node_process.hpp"

namespace rideshard::system_test {

inline std::string address(unsigned short port) { return "127.0.0.1:" + std::to_string(port); }

/// make-certs.sh into `dir`: ca.pem and NAME.pem/NAME.key for each name.
inline void make_certs(const std::string& dir, const std::string& names) {
  const std::string cmd = std::string(RIDESHARD_SOURCE_DIR) +
                          "/cluster-config/three-node/make-certs.sh " + dir + " " + names +
                          " >/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

/// cluster-config/single-node.toml with [node] id = `id` and the region file
/// by absolute path (the caller appends its [cluster] section).
inline std::string node_config_text(int id) {
  const std::string src = RIDESHARD_SOURCE_DIR;
  std::ifstream in(src + "/cluster-config/single-node.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  const auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = config.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "single-node.toml lacks: ", from);
    config.replace(at, from.size(), to);
  };
  replace("id = 1", "id = " + std::to_string(id));
  replace("\"regions/nyc.toml\"", "\"" + src + "/cluster-config/regions/nyc.toml\"");
  return config;
}

/// A fresh directory under /tmp for a test's configs, certificates and logs,
/// removed at the end.
struct test_dir {
  std::string path = node_process::fresh_data_dir();
  ~test_dir() { std::system(("rm -rf " + path).c_str()); }
};

/// Polls `cond` until it holds or `deadline` passes (each poll is an HTTP round
/// trip to a node: the wait is on the node's observable state, not a sleep).
inline bool wait_until(std::chrono::steady_clock::time_point deadline,
                       const std::function<bool()>& cond) {
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    usleep(50'000);  // between polls only; the outcome is decided by cond()
  }
  return cond();
}

}  // namespace rideshard::system_test
