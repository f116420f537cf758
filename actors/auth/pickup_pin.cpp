// new_pickup_pin(): OpenSSL RAND_bytes with rejection sampling (no modulo bias).
#include "auth/pickup_pin.hpp"

#include <openssl/rand.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace rideshard::auth {

std::string new_pickup_pin() {
  constexpr std::uint32_t span = 9000;  // PINs 1000..9999
  constexpr std::uint32_t limit = UINT32_MAX - UINT32_MAX % span;
  for (;;) {
    unsigned char bytes[4];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      std::fputs("rideshard: OpenSSL RAND_bytes failed; refusing to make a guessable PIN\n",
                 stderr);
      std::abort();
    }
    std::uint32_t v = 0;
    std::memcpy(&v, bytes, sizeof v);
    if (v < limit) return std::to_string(1000 + v % span);
  }
}

}  // namespace rideshard::auth
