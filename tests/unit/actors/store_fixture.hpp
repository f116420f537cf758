// A RocksDB store in a temporary directory for node tests that need durability
// (dispatch_options::store): the directory is removed when the test ends. And a
// gate that holds the store's committer inside a commit until the test opens it.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "rideshard/persistence/store.hpp"

namespace rideshard::test {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/rideshard-node-store-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// Opens (or reopens) the store in `dir` with synced commits.
inline std::unique_ptr<persistence::store> open_store(const std::string& dir) {
  persistence::store_options o;
  o.path = dir;
  auto s = persistence::store::open(o);
  REQUIRE(s.ok());
  return std::move(s).value();
}

/// Counts the store's successful commits and, while closed, holds the
/// committing thread (the node's journal) right after the first commit that
/// writes an entity (a trip transition; analytics-only batches pass) until
/// open(): whatever is sent to the journal meanwhile queues, and the trip
/// actor waiting for that commit answers nothing — decided by the test, not
/// by timing. attach() before the store is shared.
struct commit_gate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  bool holding = false;  ///< a commit waits at the gate
  std::size_t commits = 0;

  void attach(persistence::store& s) {
    s.set_commit_listener([this](const persistence::write_batch& b) {
      std::unique_lock<std::mutex> lock{mu};
      ++commits;
      cv.notify_all();
      if (!closed || b.entities().empty()) return;
      holding = true;
      cv.notify_all();
      cv.wait(lock, [this] { return !closed; });
      holding = false;
    });
  }
  /// Waits (bounded) until a commit is held at the closed gate.
  bool wait_holding() {
    std::unique_lock<std::mutex> lock{mu};
    return cv.wait_for(lock, std::chrono::seconds(10), [this] { return holding; });
  }
  /// Waits (bounded) until `n` commits succeeded in all.
  bool wait_count(std::size_t n) {
    std::unique_lock<std::mutex> lock{mu};
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return commits >= n; });
  }
  void close() {
    std::lock_guard<std::mutex> lock{mu};
    closed = true;
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock{mu};
      closed = false;
    }
    cv.notify_all();
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock{mu};
    return commits;
  }
};

}  // namespace rideshard::test
