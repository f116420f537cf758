// Fuzz target: outbox values (persistence/src/keys.hpp) as the relay reads them
// from RocksDB before publishing to Kafka.
// Properties: decoding never crashes and never over-allocates; the format is
// canonical: a value that decodes re-encodes to exactly the same bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "keys.hpp"

using namespace rideshard::persistence;
using rideshard::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  auto ev = keys::decode_event(value);
  if (!ev) return 0;
  check(keys::encode_event(*ev) == value, "an outbox value re-encodes to the same bytes");
  return 0;
}
