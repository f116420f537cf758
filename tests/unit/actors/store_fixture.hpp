// A RocksDB store in a temporary directory for node tests that need durability
// (dispatch_options::store): the directory is removed when the test ends.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
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

}  // namespace rideshard::test
