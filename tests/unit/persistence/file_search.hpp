// any_file_contains: does any file under a directory hold a byte string? Tests
// that prove a secret (a card number) never reached a data directory use it.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace rideshard::test {

/// The names of the regular files under `dir` (recursively) that contain `needle`.
inline std::vector<std::string> files_containing(const std::string& dir,
                                                 const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.find(needle) != std::string::npos) out.push_back(e.path().filename().string());
  }
  return out;
}

/// True when any regular file under `dir` (recursively) contains `needle`.
inline bool any_file_contains(const std::string& dir, const std::string& needle) {
  return !files_containing(dir, needle).empty();
}

}  // namespace rideshard::test
