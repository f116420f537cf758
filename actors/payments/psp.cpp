// psp: names of the PSP seam's values.
#include "payments/psp.hpp"

namespace rideshard::payments {

std::string_view to_string(intent_status s) noexcept {
  switch (s) {
    case intent_status::requires_capture:
      return "requires_capture";
    case intent_status::succeeded:
      return "succeeded";
    case intent_status::canceled:
      return "canceled";
    case intent_status::other:
      break;
  }
  return "other";
}

}  // namespace rideshard::payments
