// user_store: registration rules, login, get/update/remove, concurrency.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "auth/user_store.hpp"

using namespace rideshard;
using namespace rideshard::auth;

namespace {
const password_params fast{1, 64, 1, 16, 32};

struct fixture {
  std::uint64_t next = 100;  // only touched under the store's mutex
  user_store store{[this] { return ++next; }, [] { return std::int64_t{1'700'000'000'000}; }, fast};

  user must_register(role r, std::string email, std::string password = "s3cret-pass") {
    auto u = store.register_user(registration{r, "Alex", std::move(email), std::move(password)});
    REQUIRE_MESSAGE(u.ok(), u.err().message);
    return *u;
  }
};
}  // namespace

TEST_CASE_FIXTURE(fixture, "register assigns typed ids and hashes the password") {
  const user r = must_register(role::rider, "Alex@Example.com");
  CHECK(r.id == "r-101");
  CHECK(r.r == role::rider);
  CHECK(r.email == "alex@example.com");
  CHECK(r.created_at_ms == 1'700'000'000'000);
  CHECK_FALSE(r.suspended);
  CHECK(r.password_hash.rfind("$argon2id$", 0) == 0);
  CHECK(r.password_hash.find("s3cret-pass") == std::string::npos);
  const user d = must_register(role::driver, "dana@example.com");
  CHECK(d.id == "d-102");
  CHECK(store.size() == 2);
}

TEST_CASE_FIXTURE(fixture, "registration validation") {
  auto reg = [&](role r, std::string name, std::string email, std::string pw) {
    return store.register_user(registration{r, std::move(name), std::move(email), std::move(pw)})
        .code();
  };
  CHECK(reg(role::admin, "Root", "root@example.com", "longenough") == errc::invalid_argument);
  CHECK(reg(role::rider, "", "a@example.com", "longenough") == errc::invalid_argument);
  CHECK(reg(role::rider, std::string(101, 'n'), "a@example.com", "longenough") ==
        errc::invalid_argument);
  CHECK(reg(role::rider, "Bad\nName", "a@example.com", "longenough") == errc::invalid_argument);
  for (const char* bad : {"", "a", "no-at.example.com", "@example.com", "a@", "a@b", "a@.com",
                          "a@b.", "a@b..com", "a b@example.com", "a@b@example.com"}) {
    CAPTURE(bad);
    CHECK(reg(role::rider, "Ann", bad, "longenough") == errc::invalid_argument);
  }
  CHECK(reg(role::rider, "Ann", "a@example.com", "short77") == errc::invalid_argument);
  CHECK(reg(role::rider, "Ann", "a@example.com", std::string(1025, 'p')) == errc::invalid_argument);
  CHECK(store.size() == 0);
  CHECK(reg(role::rider, "Ann", "a@example.com", "eight888") == errc::ok);
}

TEST_CASE_FIXTURE(fixture, "duplicate email, case-insensitively, across roles") {
  must_register(role::rider, "sam@example.com");
  auto dup =
      store.register_user(registration{role::driver, "Sam", "SAM@example.com", "another-pw"});
  CHECK(dup.code() == errc::duplicate_id);
  CHECK(store.size() == 1);
}

TEST_CASE_FIXTURE(fixture, "login") {
  const user u = must_register(role::driver, "dan@example.com", "right-password");
  auto ok = store.login("DAN@example.com", "right-password");
  REQUIRE(ok.ok());
  CHECK(ok->id == u.id);

  auto wrong_pw = store.login("dan@example.com", "wrong-password");
  auto unknown = store.login("nobody@example.com", "right-password");
  auto malformed = store.login("not-an-email", "right-password");
  CHECK(wrong_pw.code() == errc::unauthenticated);
  CHECK(unknown.code() == errc::unauthenticated);
  CHECK(malformed.code() == errc::unauthenticated);
  CHECK(wrong_pw.err().message == unknown.err().message);
  CHECK(store.login("dan@example.com", "").code() == errc::unauthenticated);

  REQUIRE(store.update(u.id, user_update{{}, {}, {}, true}).ok());
  CHECK(store.login("dan@example.com", "right-password").code() == errc::forbidden);
  CHECK(store.login("dan@example.com", "wrong-password").code() == errc::unauthenticated);
}

TEST_CASE_FIXTURE(fixture, "get, update, remove and their errors") {
  const user u = must_register(role::rider, "rita@example.com", "old-password");
  CHECK(store.get(u.id)->email == "rita@example.com");
  CHECK(store.get("r-999").code() == errc::unknown_rider);
  CHECK(store.get("d-999").code() == errc::unknown_driver);
  CHECK(store.get("admin").code() == errc::invalid_argument);
  CHECK(store.get("").code() == errc::invalid_argument);

  auto upd = store.update(u.id, user_update{"Rita B", "rita.b@example.com", "new-password", {}});
  REQUIRE(upd.ok());
  CHECK(upd->name == "Rita B");
  CHECK(upd->email == "rita.b@example.com");
  CHECK(store.login("rita@example.com", "old-password").code() == errc::unauthenticated);
  CHECK(store.login("rita.b@example.com", "old-password").code() == errc::unauthenticated);
  CHECK(store.login("rita.b@example.com", "new-password").ok());

  must_register(role::rider, "other@example.com");
  CHECK(store.update(u.id, user_update{{}, "OTHER@example.com", {}, {}}).code() ==
        errc::duplicate_id);
  CHECK(store.update(u.id, user_update{"", {}, {}, {}}).code() == errc::invalid_argument);
  CHECK(store.update(u.id, user_update{{}, "bad", {}, {}}).code() == errc::invalid_argument);
  CHECK(store.update(u.id, user_update{{}, {}, "short", {}}).code() == errc::invalid_argument);
  CHECK(store.update("d-5", user_update{"X", {}, {}, {}}).code() == errc::unknown_driver);
  CHECK(store.get(u.id)->name == "Rita B");  // failed updates changed nothing

  REQUIRE(store.remove(u.id).ok());
  CHECK(store.get(u.id).code() == errc::unknown_rider);
  CHECK(store.remove(u.id).code() == errc::unknown_rider);
  // The email is free again.
  CHECK(store.register_user(registration{role::rider, "Rita", "rita.b@example.com", "password1"})
            .ok());
}

TEST_CASE("a repeated id from the id source is an internal error, not an overwrite") {
  user_store store([] { return std::uint64_t{5}; }, [] { return std::int64_t{0}; }, fast);
  REQUIRE(store.register_user(registration{role::rider, "A", "a@example.com", "password1"}).ok());
  CHECK(store.register_user(registration{role::rider, "B", "b@example.com", "password1"}).code() ==
        errc::internal);
  CHECK(store.get("r-5")->email == "a@example.com");
}

TEST_CASE_FIXTURE(fixture, "concurrent registrations get unique ids") {
  constexpr int threads = 4;
  constexpr int per_thread = 25;
  std::vector<std::vector<std::string>> ids(threads);
  std::atomic<int> duplicates{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const role r = i % 2 ? role::driver : role::rider;
        auto u = store.register_user(
            registration{r, "U", "u" + std::to_string(t) + "-" + std::to_string(i) + "@example.com",
                         "password-" + std::to_string(i)});
        if (u.ok()) ids[t].push_back(u->id);
        // Every thread also races on one shared email: exactly one may win.
        auto shared = store.register_user(registration{r, "S", "shared@example.com", "password1"});
        if (shared.code() == errc::duplicate_id) ++duplicates;
      }
    });
  for (auto& th : pool) th.join();
  std::set<std::string> unique;
  std::size_t total = 0;
  for (auto& v : ids) {
    total += v.size();
    unique.insert(v.begin(), v.end());
  }
  CHECK(total == threads * per_thread);
  CHECK(unique.size() == total);
  CHECK(duplicates.load() == threads * per_thread - 1);
  CHECK(store.size() == total + 1);
}

TEST_CASE(
    "durability hooks: a change is acknowledged only once written; restore brings accounts back") {
  std::vector<auth::user> disk;
  bool fail = false;
  auth::account_durability hooks;
  hooks.put = [&](const auth::user& u) -> result<void> {
    if (fail) return error{errc::storage_error, "disk full"};
    disk.erase(
        std::remove_if(disk.begin(), disk.end(), [&](const auth::user& x) { return x.id == u.id; }),
        disk.end());
    disk.push_back(u);
    return {};
  };
  hooks.erase = [&](const auth::user& u) -> result<void> {
    if (fail) return error{errc::storage_error, "disk full"};
    disk.erase(
        std::remove_if(disk.begin(), disk.end(), [&](const auth::user& x) { return x.id == u.id; }),
        disk.end());
    return {};
  };
  std::uint64_t next = 0;
  auth::user_store a([&] { return ++next; }, [] { return std::int64_t{1000}; }, fast);
  a.set_durability(hooks);
  auto u = a.register_user({auth::role::rider, "Ann", "ann@example.com", "correct horse"});
  REQUIRE(u.ok());
  REQUIRE(disk.size() == 1);
  CHECK(disk.front().email == "ann@example.com");

  fail = true;  // nothing changes when the write fails
  auto bad = a.update(u->id, {std::string("Anna"), std::nullopt, std::nullopt, std::nullopt});
  CHECK(bad.code() == errc::storage_error);
  CHECK(a.get(u->id)->name == "Ann");
  CHECK(a.register_user({auth::role::driver, "Bo", "bo@example.com", "correct horse"}).code() ==
        errc::storage_error);
  CHECK(a.size() == 1);
  CHECK(a.remove(u->id).code() == errc::storage_error);
  fail = false;
  REQUIRE(a.update(u->id, {std::string("Anna"), std::nullopt, std::nullopt, std::nullopt}).ok());
  CHECK(disk.front().name == "Anna");

  // A new process: the accounts come back, login works with the stored hash.
  auth::user_store b([&] { return ++next; }, [] { return std::int64_t{2000}; }, fast);
  REQUIRE(b.restore(disk).ok());
  auto in = b.login("ann@example.com", "correct horse");
  REQUIRE(in.ok());
  CHECK(in->id == u->id);
  CHECK(in->name == "Anna");
  CHECK(b.restore(disk).code() == errc::duplicate_id);  // already present
}

TEST_CASE_FIXTURE(fixture, "admin accounts: a-<n> ids, argon2, emails unique across roles") {
  must_register(role::rider, "taken@example.com");
  auto a = store.create_admin(registration{role::rider, "Ops", "Ops@Example.com", "console-pass"});
  REQUIRE(a.ok());
  CHECK(a->id == "a-102");
  CHECK(a->r == role::admin);  // whatever the registration said
  CHECK(a->password_hash.rfind("$argon2id$", 0) == 0);
  CHECK(store.login("ops@example.com", "console-pass").ok());
  CHECK(store.create_admin(registration{role::admin, "X", "taken@example.com", "console-pass"})
            .code() == errc::duplicate_id);
  CHECK(store.create_admin(registration{role::admin, "X", "x@example.com", "short"}).code() ==
        errc::invalid_argument);
  // Self-registration still never makes an admin; an unknown admin is unauthenticated.
  CHECK(
      store.register_user(registration{role::admin, "X", "y@example.com", "console-pass"}).code() ==
      errc::invalid_argument);
  CHECK(store.get("a-999").code() == errc::unauthenticated);
  CHECK(store.get(a->id).ok());
}
