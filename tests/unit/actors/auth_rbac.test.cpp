// RBAC policy matrix and subject <-> id mapping.
#include <doctest/doctest.h>

#include "auth/rbac.hpp"

using namespace rideshard;
using namespace rideshard::auth;

namespace {
claims who(std::string sub, role r) {
  claims c;
  c.subject = std::move(sub);
  c.r = r;
  c.expires_at_s = 1;
  c.issuer = "iss";
  return c;
}
const rider_id owner{42};
const rider_id other_rider{43};
const driver_id assigned{7};
const driver_id other_driver{8};
const trip_event_kind all_actions[] = {
    trip_event_kind::offer,    trip_event_kind::decline, trip_event_kind::offer_timeout,
    trip_event_kind::accept,   trip_event_kind::arrive,  trip_event_kind::start,
    trip_event_kind::complete, trip_event_kind::cancel,  trip_event_kind::expire};
}  // namespace

TEST_CASE("subjects map to typed ids and back") {
  CHECK(subject_of(rider_id{42}) == "r-42");
  CHECK(subject_of(driver_id{7}) == "d-7");
  CHECK(subject_of(rider_id{42}) == to_string(rider_id{42}));
  REQUIRE(parse_rider_subject("r-42").ok());
  CHECK(*parse_rider_subject("r-42") == rider_id{42});
  CHECK(*parse_driver_subject("d-7") == driver_id{7});
  CHECK(*parse_rider_subject("r-18446744073709551615") == rider_id{18446744073709551615ULL});
  for (const char* bad : {"", "r", "r-", "r-0", "r-01", "r--1", "r-+1", "r-1x", "R-1", "d-1",
                          " r-1", "r-1 ", "r-18446744073709551616", "r-99999999999999999999"}) {
    CAPTURE(bad);
    CHECK(parse_rider_subject(bad).code() == errc::invalid_argument);
  }
  CHECK(parse_driver_subject("r-7").code() == errc::invalid_argument);
  CHECK(parse_driver_subject("d-0").code() == errc::invalid_argument);
}

TEST_CASE("role names are stable") {
  CHECK(to_string(role::rider) == "rider");
  CHECK(to_string(role::driver) == "driver");
  CHECK(to_string(role::admin) == "admin");
  for (role r : {role::rider, role::driver, role::admin})
    CHECK(*role_from_string(to_string(r)) == r);
  CHECK(role_from_string("Admin").code() == errc::invalid_argument);
  CHECK(role_from_string("").code() == errc::invalid_argument);
  CHECK(validate_subject(role::admin, "ops").ok());
  CHECK(validate_subject(role::admin, "").code() == errc::invalid_argument);
  CHECK(validate_subject(role::admin, std::string(129, 'a')).code() == errc::invalid_argument);
  CHECK(validate_subject(role::rider, "d-1").code() == errc::invalid_argument);
}

TEST_CASE("view trip: riders own, drivers assigned, admins all") {
  CHECK(can_view_trip(who("r-42", role::rider), owner, assigned).ok());
  CHECK(can_view_trip(who("r-43", role::rider), owner, assigned).code() == errc::forbidden);
  CHECK(can_view_trip(who("d-7", role::driver), owner, assigned).ok());
  CHECK(can_view_trip(who("d-8", role::driver), owner, assigned).code() == errc::forbidden);
  CHECK(can_view_trip(who("ops", role::admin), owner, assigned).ok());
  // No driver yet: no driver may look, the rider still may.
  CHECK(can_view_trip(who("d-7", role::driver), owner, driver_id{}).code() == errc::forbidden);
  CHECK(can_view_trip(who("r-42", role::rider), owner, driver_id{}).ok());
  // Ids of the other kind never match: rider 7 is not driver 7.
  CHECK(can_view_trip(who("r-7", role::rider), other_rider, assigned).code() == errc::forbidden);
  CHECK(can_view_trip(who("d-42", role::driver), owner, other_driver).code() == errc::forbidden);
  // A hand-built claim whose subject does not fit its role matches nothing.
  CHECK(can_view_trip(who("d-7", role::rider), owner, assigned).code() == errc::forbidden);
  auto refused = can_view_trip(who("r-43", role::rider), owner, assigned);
  CHECK(refused.err().message.find("r-43") != std::string::npos);
}

TEST_CASE("act on trip: the action matrix") {
  for (trip_event_kind a : all_actions) {
    CAPTURE(to_string(a));
    CHECK(can_act_on_trip(who("admin", role::admin), owner, assigned, a).ok());
    const bool rider_may = a == trip_event_kind::cancel;
    CHECK(can_act_on_trip(who("r-42", role::rider), owner, assigned, a).ok() == rider_may);
    CHECK(can_act_on_trip(who("r-43", role::rider), owner, assigned, a).code() == errc::forbidden);
    const bool driver_may = a != trip_event_kind::offer && a != trip_event_kind::offer_timeout &&
                            a != trip_event_kind::expire;
    CHECK(can_act_on_trip(who("d-7", role::driver), owner, assigned, a).ok() == driver_may);
    CHECK(can_act_on_trip(who("d-8", role::driver), owner, assigned, a).code() == errc::forbidden);
  }
  auto r = can_act_on_trip(who("r-42", role::rider), owner, assigned, trip_event_kind::complete);
  CHECK(r.code() == errc::forbidden);
  CHECK(r.err().message == "riders may not complete a trip");
}

TEST_CASE("manage user: self or admin") {
  CHECK(can_manage_user(who("r-42", role::rider), "r-42").ok());
  CHECK(can_manage_user(who("r-42", role::rider), "r-43").code() == errc::forbidden);
  CHECK(can_manage_user(who("d-7", role::driver), "d-7").ok());
  CHECK(can_manage_user(who("d-7", role::driver), "r-7").code() == errc::forbidden);
  CHECK(can_manage_user(who("ops", role::admin), "r-1").ok());
  CHECK(can_manage_user(who("r-42", role::rider), "").code() == errc::forbidden);
}

TEST_CASE("require_role") {
  CHECK(require_role(who("d-1", role::driver), role::driver).ok());
  CHECK(require_role(who("r-1", role::rider), role::driver).code() == errc::forbidden);
  CHECK(require_role(who("d-1", role::driver), role::admin).code() == errc::forbidden);
  CHECK(require_role(who("ops", role::admin), role::rider).ok());
}
