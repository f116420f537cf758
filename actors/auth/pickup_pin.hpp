// Pickup PINs: the 4 digits a rider shows the driver to prove they are present.
// Drawn from OpenSSL's CSPRNG, never from anything the driver can see (trip id).
#pragma once

#include <string>

namespace rideshard::auth {

/// A fresh 4-digit PIN ("1000".."9999") from OpenSSL's RAND_bytes, uniform
/// (rejection sampling). Thread-safe. Aborts if the CSPRNG fails: a guessable
/// PIN is worse than no trip.
std::string new_pickup_pin();

}  // namespace rideshard::auth
