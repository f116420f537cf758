// Fuzz target: the node config's region list (cluster-config/*.toml, [regions]
// files), as load_node_regions reads it before loading each region file.
// Properties: never crashes or throws; every listed file resolves to a path that
// names a file (not empty, not ending in '/').
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "rideshard/engine/region.hpp"

using namespace rideshard;
using rideshard::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto files = node_region_files(text, "fuzz.toml", "/etc/rideshard");
  if (!files) {
    check(files.code() == errc::bad_config, "a refused node config is bad_config");
    return 0;
  }
  check(!files->empty(), "a node config lists at least one region file");
  for (const auto& f : *files)
    check(!f.empty() && f.back() != '/', "every region file names a file");
  return 0;
}
