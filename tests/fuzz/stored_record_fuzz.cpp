// Fuzz target: stored records (schemas/fbs/records.fbs) as recovery reads them
// back from RocksDB: the first byte picks trip, driver or rider; the rest is the
// value. Properties: decoding never crashes; a record that decodes re-encodes
// to one that decodes again, and re-encoding that gives the same bytes.
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "rideshard/schemas/records.hpp"

using namespace rideshard;
using rideshard::fuzz::check;

namespace {

template <class Decode, class Encode>
void round_trip(const std::uint8_t* data, std::size_t size, Decode decode, Encode encode) {
  auto rec = decode(data, size);
  if (!rec) {
    check(rec.code() == errc::malformed_buffer || rec.code() == errc::invalid_coordinate,
          "a refused record is malformed_buffer or invalid_coordinate");
    return;
  }
  const std::vector<std::uint8_t> once = encode(*rec);
  auto again = decode(once.data(), once.size());
  check(again.ok(), "a decoded record re-encodes to a record that decodes");
  check(encode(*again) == once, "record re-encoding is stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  switch (data[0] % 3) {
    case 0:
      round_trip(data + 1, size - 1, schemas::decode_trip_record, schemas::encode_trip_record);
      break;
    case 1:
      round_trip(data + 1, size - 1, schemas::decode_driver_record, schemas::encode_driver_record);
      break;
    default:
      round_trip(data + 1, size - 1, schemas::decode_rider_record, schemas::encode_rider_record);
      break;
  }
  return 0;
}
