// A node config for a system test: cluster-config/single-node.toml with some of
// its text replaced, its region paths made absolute (they are relative to the
// config's own directory), written where the test says.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace rideshard::system_test {

/// Each `from` must occur in single-node.toml (the test fails otherwise); its
/// first occurrence becomes `to`. Returns `path`.
inline std::string write_node_config(
    const std::string& path, const std::vector<std::pair<std::string, std::string>>& edits) {
  std::ifstream in(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string c = text.str();
  auto edits_and_paths = edits;
  edits_and_paths.emplace_back(
      "\"regions/", "\"" + std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/");
  for (const auto& [from, to] : edits_and_paths) {
    const auto at = c.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "single-node.toml lacks ", from);
    c.replace(at, from.size(), to);
  }
  std::ofstream(path) << c;
  return path;
}

}  // namespace rideshard::system_test
