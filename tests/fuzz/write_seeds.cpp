// Writes the generated part of the fuzz seed corpora (tests/fuzz/corpus/) from
// the shared sample messages and records: `fuzz_write_seeds <corpus dir>`. Built
// on request only (cmake --build build --target fuzz_write_seeds); the text seeds
// (HTTP requests, TOML configs) are written by hand.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "../unit/schemas/sample_messages.hpp"
#include "auth/jwt.hpp"
#include "keys.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/schemas/codec.hpp"
#include "rideshard/schemas/records.hpp"

using namespace rideshard;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string with_tag(char tag, const std::vector<std::uint8_t>& bytes) {
  return std::string(1, tag) + std::string(bytes.begin(), bytes.end());
}

trip accepted_trip() {
  trip t;
  t.id = schemas::samples::trip;
  t.rider = schemas::samples::rider;
  t.pickup = schemas::samples::pickup;
  t.dropoff = schemas::samples::dropoff;
  t.pin = "4821";
  t.requested_at_ms = 1718000000000;
  const trip_rules rules;
  const driver_id d = schemas::samples::driver;
  for (const trip_event& ev :
       {trip_event{trip_event_kind::offer, 1718000001000, d, "", party::system, ""},
        trip_event{trip_event_kind::accept, 1718000002000, d, "", party::system, ""}})
    (void)apply(t, ev, rules);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_write_seeds <tests/fuzz/corpus>\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  int i = 0;
  for (const auto& m : schemas::samples::client_messages()) {
    const std::string name = "seed-" + std::string(schemas::kind_name(m.body));
    const auto bin = schemas::encode_client_binary(m);
    write(corpus / "client_binary", name, std::string(bin.begin(), bin.end()));
    write(corpus / "client_json", name, *schemas::encode_client_json(m));
    ++i;
  }
  write(corpus / "stored_record", "seed-trip",
        with_tag(0, schemas::encode_trip_record(accepted_trip())));
  write(corpus / "stored_record", "seed-driver",
        with_tag(1, schemas::encode_driver_record(
                        {schemas::samples::driver, schemas::driver_status::on_trip,
                         schemas::samples::nearby, 1718000002000, schemas::samples::trip, 12})));
  write(corpus / "stored_record", "seed-rider",
        with_tag(2, schemas::encode_rider_record(
                        {schemas::samples::rider, schemas::samples::trip, 3, 500})));
  persistence::outbox_event ev{"rideshard.trip-events.v1",
                               "t-7208245990563841",
                               "{\"event_type\":\"accepted\"}",
                               {{"ce_id", "t-7208245990563841-2"}, {"schema_version", "1"}}};
  write(corpus / "outbox_event", "seed-trip-event", persistence::keys::encode_event(ev));
  ev.headers.clear();
  write(corpus / "outbox_event", "seed-no-headers", persistence::keys::encode_event(ev));
  // Tokens for the fuzz target's authority (jwt_fuzz.cpp: 48 's', issuer rideshard,
  // now 1'750'000'000): even first byte = raw token, odd = header\nclaims to sign.
  auto a = auth::token_authority::create(std::string(48, 's'), "rideshard",
                                         [] { return std::int64_t{1'750'000'000}; });
  for (auto [name, subject, r] : {std::tuple{"rider", "r-7208245990420777", auth::role::rider},
                                  std::tuple{"driver", "d-7208245990420001", auth::role::driver},
                                  std::tuple{"admin", "ops", auth::role::admin}}) {
    const std::string token = *a->mint(subject, r, 3600);
    write(corpus / "jwt", std::string("seed-token-") + name, std::string(1, '\0') + token);
    write(corpus / "jwt", std::string("seed-bearer-") + name,
          std::string("\x02") + "Bearer " + token);
  }
  write(corpus / "jwt", "seed-claims",
        "\x01{\"typ\":\"JWT\"}\n{\"sub\":\"r-1\",\"role\":\"rider\",\"iss\":\"rideshard\","
        "\"iat\":1749999000,\"exp\":1750003600}");
  std::printf("wrote %d client messages and the record, outbox and token seeds\n", i);
  return 0;
}
