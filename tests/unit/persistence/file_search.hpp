// any_file_contains: does any file under a directory hold a byte string? Tests
// that prove a secret (a card number) never reached a data directory use it.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace rideshard::test {

/// True when any regular file under `dir` (recursively) contains `needle`.
inline bool any_file_contains(const std::string& dir, const std::string& needle) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace rideshard::test
