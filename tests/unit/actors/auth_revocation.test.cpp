// Revocation (issue 12 item 2): suspending or deleting an account refuses its
// tokens at once and tells the gateway (hook) to close its live sessions.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/revocation.hpp"
#include "auth/user_store.hpp"

using namespace rideshard;
using namespace rideshard::auth;

namespace {
const password_params fast{1, 64, 1, 16, 32};
constexpr std::int64_t t0_s = 1'700'000'000;

struct fixture {
  std::shared_ptr<std::atomic<std::int64_t>> now_s =
      std::make_shared<std::atomic<std::int64_t>>(t0_s);
  std::uint64_t next = 100;  // only touched under the store's mutex
  user_store store{[this] { return ++next; }, [c = now_s] { return c->load() * 1000; }, fast};
  std::shared_ptr<revocation_list> revoked = std::make_shared<revocation_list>();
  std::vector<std::string> closed;  ///< subjects the hook was called with
  std::optional<token_authority> tokens;

  fixture() {
    token_options o;
    o.revocations = revoked;
    auto c = now_s;
    auto t = token_authority::create(
        std::string(40, 'k'), "rideshard", [c] { return c->load(); }, o);
    REQUIRE(t.ok());
    tokens.emplace(std::move(*t));
    store.set_revocation(revoked, [this](const std::string& s) { closed.push_back(s); });
  }
  user must_register(role r, std::string email) {
    auto u = store.register_user(registration{r, "Alex", std::move(email), "s3cret-pass"});
    REQUIRE_MESSAGE(u.ok(), u.err().message);
    return *u;
  }
  std::string token_for(const user& u) {
    auto t = tokens->mint(u.id, u.r, 3600);
    REQUIRE(t.ok());
    return *t;
  }
};
}  // namespace

TEST_CASE_FIXTURE(fixture,
                  "suspension revokes the account's tokens at once and closes its sessions") {
  const user d = must_register(role::driver, "dana@example.com");
  const user other = must_register(role::driver, "omar@example.com");
  const auto tok = token_for(d);
  const auto other_tok = token_for(other);
  REQUIRE(tokens->verify(tok).ok());
  user_update upd;
  upd.name = "Dana";
  REQUIRE(store.update(d.id, upd).ok());
  CHECK(tokens->verify(tok).ok());  // other changes revoke nothing
  CHECK(closed.empty());

  upd = {};
  upd.suspended = true;
  REQUIRE(store.update(d.id, upd).ok());
  CHECK(tokens->verify(tok).code() == errc::unauthenticated);
  CHECK(tokens->verify(other_tok).ok());
  REQUIRE(closed.size() == 1);
  CHECK(closed[0] == d.id);

  // Unsuspended later: a new login's token works, the old one stays dead.
  now_s->fetch_add(2);
  upd.suspended = false;
  REQUIRE(store.update(d.id, upd).ok());
  CHECK(tokens->verify(token_for(d)).ok());
  CHECK(tokens->verify(tok).code() == errc::unauthenticated);
}

TEST_CASE_FIXTURE(fixture, "deletion revokes the account's tokens at once") {
  const user r = must_register(role::rider, "ann@example.com");
  const auto tok = token_for(r);
  REQUIRE(tokens->verify(tok).ok());
  REQUIRE(store.remove(r.id).ok());
  CHECK(tokens->verify(tok).code() == errc::unauthenticated);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0] == r.id);
}

TEST_CASE("accounts restored as suspended are revoked when revocation is switched on") {
  std::uint64_t next = 100;
  user_store store{[&next] { return ++next; }, [] { return t0_s * 1000; }, fast};
  user u;
  u.id = "d-7";
  u.r = role::driver;
  u.name = "Dee";
  u.email = "dee@example.com";
  u.password_hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
  u.suspended = true;
  REQUIRE(store.restore({u}).ok());
  auto revoked = std::make_shared<revocation_list>();
  store.set_revocation(revoked);
  CHECK(revoked->is_revoked("d-7", t0_s - 3600));
  CHECK_FALSE(revoked->is_revoked("d-8", t0_s - 3600));
}
