// token_authority: round trip, expiry with an injected clock, tampering, alg
// confusion ("none", HS384), wrong secret/issuer/role, garbage input, secret loading.
#include <doctest/doctest.h>

#include <jwt.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwt.hpp"

using namespace rideshard;
using namespace rideshard::auth;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::int64_t t0 = 1'700'000'000;

std::string b64url(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
  }
  return out;
}

std::vector<std::string> split(const std::string& tok) {
  std::vector<std::string> parts(1);
  for (char c : tok) {
    if (c == '.')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

// Signs arbitrary claims JSON with libjwt directly, to forge tokens the
// authority itself would never mint.
std::string forge(const std::string& grants_json, jwt_alg_t alg = JWT_ALG_HS256,
                  const std::string& key = secret, std::string kid = "") {
  if (kid.empty()) kid = key_id(key);
  jwt_t* raw = nullptr;
  REQUIRE(jwt_new(&raw) == 0);
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> j(raw, jwt_free);
  REQUIRE(jwt_add_grants_json(j.get(), grants_json.c_str()) == 0);
  if (kid != "-") REQUIRE(jwt_add_header(j.get(), "kid", kid.c_str()) == 0);
  REQUIRE(jwt_set_alg(j.get(), alg, reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) == 0);
  char* s = jwt_encode_str(j.get());
  REQUIRE(s != nullptr);
  std::string out(s);
  std::free(s);
  return out;
}

std::string claims_json(const std::string& sub, const std::string& role_field,
                        const std::string& iss = "\"rideshard-test\"", std::int64_t iat = t0,
                        std::int64_t exp = t0 + 600, const std::string& aud = "\"rideshard\"") {
  std::string j = "{\"sub\":\"" + sub + "\",\"iss\":" + iss + ",\"iat\":" + std::to_string(iat) +
                  ",\"exp\":" + std::to_string(exp);
  if (!aud.empty()) j += ",\"aud\":" + aud;
  if (!role_field.empty()) j += ",\"role\":" + role_field;
  return j + "}";
}

struct fixture {
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(t0);
  token_authority auth = make(secret);

  token_authority make(const std::string& s, std::string issuer = "rideshard-test") {
    auto clock = now;
    auto a = token_authority::create(s, std::move(issuer), [clock] { return clock->load(); });
    REQUIRE(a.ok());
    return *a;
  }
};

}  // namespace

TEST_CASE_FIXTURE(fixture, "mint and verify round trip for every role") {
  const std::pair<std::string, role> cases[] = {
      {"r-42", role::rider}, {"d-7", role::driver}, {"ops-alice", role::admin}};
  for (const auto& [sub, r] : cases) {
    auto tok = auth.mint(sub, r, 600);
    REQUIRE(tok.ok());
    auto c = auth.verify(*tok);
    REQUIRE_MESSAGE(c.ok(), c.err().message);
    CHECK(c->subject == sub);
    CHECK(c->r == r);
    CHECK(c->issued_at_s == t0);
    CHECK(c->expires_at_s == t0 + 600);
    CHECK(c->issuer == "rideshard-test");
  }
}

TEST_CASE_FIXTURE(fixture, "verify_bearer strips the scheme") {
  auto tok = auth.mint("r-1", role::rider, 60);
  REQUIRE(tok.ok());
  CHECK(auth.verify_bearer("Bearer " + *tok).ok());
  CHECK(auth.verify_bearer("bearer   " + *tok + " ").ok());
  CHECK(auth.verify_bearer("").code() == errc::unauthenticated);
  CHECK(auth.verify_bearer("Bearer").code() == errc::unauthenticated);
  CHECK(auth.verify_bearer("Bearer ").code() == errc::unauthenticated);
  CHECK(auth.verify_bearer("Basic " + *tok).code() == errc::unauthenticated);
  CHECK(auth.verify_bearer(*tok).code() == errc::unauthenticated);
  CHECK(auth.verify_bearer("Bearer" + *tok).code() == errc::unauthenticated);
}

TEST_CASE_FIXTURE(fixture, "expiry honours the injected clock and the leeway") {
  auto tok = auth.mint("d-3", role::driver, 60);
  REQUIRE(tok.ok());
  now->store(t0 + 60);
  CHECK(auth.verify(*tok).ok());
  now->store(t0 + 60 + 30);  // default leeway 30 s: still accepted at the edge
  CHECK(auth.verify(*tok).ok());
  now->store(t0 + 60 + 31);
  auto r = auth.verify(*tok);
  CHECK(r.code() == errc::token_expired);

  token_options no_leeway;
  no_leeway.leeway_s = 0;
  auto strict = token_authority::create(
      secret, "rideshard-test", [this] { return now->load(); }, no_leeway);
  REQUIRE(strict.ok());
  now->store(t0 + 61);
  CHECK(strict->verify(*tok).code() == errc::token_expired);
}

TEST_CASE_FIXTURE(fixture, "a token issued in the future is refused") {
  now->store(t0 + 1000);
  auto tok = auth.mint("r-5", role::rider, 600);
  REQUIRE(tok.ok());
  now->store(t0);
  CHECK(auth.verify(*tok).code() == errc::unauthenticated);
}

TEST_CASE_FIXTURE(fixture, "tampered payload and signature are refused") {
  auto tok = auth.mint("r-42", role::rider, 600);
  REQUIRE(tok.ok());
  auto parts = split(*tok);
  REQUIRE(parts.size() == 3);

  SUBCASE("payload rewritten to another rider") {
    const std::string forged = parts[0] + "." +
                               b64url(claims_json("r-43", "\"rider\"", "\"rideshard-test\"")) +
                               "." + parts[2];
    CHECK(auth.verify(forged).code() == errc::unauthenticated);
  }
  SUBCASE("payload escalated to admin") {
    const std::string forged =
        parts[0] + "." + b64url(claims_json("r-42", "\"admin\"")) + "." + parts[2];
    CHECK(auth.verify(forged).code() == errc::unauthenticated);
  }
  SUBCASE("signature changed") {
    std::string sig = parts[2];
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    CHECK(auth.verify(parts[0] + "." + parts[1] + "." + sig).code() == errc::unauthenticated);
  }
  SUBCASE("signature dropped") {
    CHECK(auth.verify(parts[0] + "." + parts[1] + ".").code() == errc::unauthenticated);
  }
}

TEST_CASE_FIXTURE(fixture, "alg none and other algorithms are refused") {
  const std::string payload = b64url(claims_json("r-42", "\"admin\""));
  const std::string kid = ",\"kid\":\"" + key_id(secret) + "\"}";
  for (std::string header : {R"({"alg":"none")", R"({"alg":"none","typ":"JWT")",
                             R"({"alg":"None","typ":"JWT")", R"({"typ":"JWT")"}) {
    header += kid;  // the right key id: only the algorithm is wrong
    CAPTURE(header);
    const std::string h = b64url(header);
    CHECK(auth.verify(h + "." + payload + ".").code() == errc::unauthenticated);
    CHECK(auth.verify(h + "." + payload + ".c2lnbmF0dXJl").code() == errc::unauthenticated);
  }
  // A correctly signed token with the same secret but HS384/HS512.
  CHECK(auth.verify(forge(claims_json("r-42", "\"rider\""), JWT_ALG_HS384)).code() ==
        errc::unauthenticated);
  CHECK(auth.verify(forge(claims_json("r-42", "\"rider\""), JWT_ALG_HS512)).code() ==
        errc::unauthenticated);
  // Sanity: the same claims forged with HS256 and the right key do verify.
  CHECK(auth.verify(forge(claims_json("r-42", "\"rider\""))).ok());
}

TEST_CASE_FIXTURE(fixture, "wrong secret and wrong issuer are refused") {
  auto other = make("another-secret-that-is-long-enough-0123456789");
  auto tok = other.mint("r-1", role::rider, 60);
  REQUIRE(tok.ok());
  CHECK(auth.verify(*tok).code() == errc::unauthenticated);

  auto other_iss = make(secret, "someone-else");
  auto tok2 = other_iss.mint("r-1", role::rider, 60);
  REQUIRE(tok2.ok());
  CHECK(auth.verify(*tok2).code() == errc::unauthenticated);
  CHECK(auth.verify(forge(claims_json("r-1", "\"rider\"", "42"))).code() == errc::unauthenticated);
}

TEST_CASE_FIXTURE(fixture, "aud and kid are minted and required") {
  auto tok = auth.mint("r-1", role::rider, 60);
  REQUIRE(tok.ok());
  auto c = auth.verify(*tok);
  REQUIRE(c.ok());
  CHECK(c->audience == "rideshard");
  CHECK(c->key_id == key_id(secret));
  CHECK(c->key_id.size() == 17);
  // Everything right but the audience, or the key id.
  CHECK(auth.verify(forge(claims_json("r-1", "\"rider\""))).ok());
  const auto iss = std::string("\"rideshard-test\"");
  CHECK(auth.verify(forge(claims_json("r-1", "\"rider\"", iss, t0, t0 + 600, ""))).code() ==
        errc::unauthenticated);
  CHECK(
      auth.verify(forge(claims_json("r-1", "\"rider\"", iss, t0, t0 + 600, "\"other\""))).code() ==
      errc::unauthenticated);
  CHECK(auth.verify(forge(claims_json("r-1", "\"rider\""), JWT_ALG_HS256, secret, "-")).code() ==
        errc::unauthenticated);  // no kid
  CHECK(
      auth.verify(forge(claims_json("r-1", "\"rider\""), JWT_ALG_HS256, secret, "k0000")).code() ==
      errc::unauthenticated);  // unknown kid
}

TEST_CASE_FIXTURE(fixture,
                  "rotation: the previous secret verifies by its kid, only the new one mints") {
  const std::string next = "the-next-secret-rotated-in-0123456789abcdef";
  auto old_tok = auth.mint("d-9", role::driver, 600);
  REQUIRE(old_tok.ok());
  token_options o;
  o.previous_secrets = {secret};
  auto clock = now;
  auto rolled = token_authority::create(
      next, "rideshard-test", [clock] { return clock->load(); }, o);
  REQUIRE(rolled.ok());
  CHECK(rolled->verify(*old_tok).ok());  // no downtime: old tokens still work
  auto new_tok = rolled->mint("d-9", role::driver, 600);
  REQUIRE(new_tok.ok());
  auto c = rolled->verify(*new_tok);
  REQUIRE(c.ok());
  CHECK(c->key_id == key_id(next));
  CHECK(auth.verify(*new_tok).code() == errc::unauthenticated);  // the old node: unknown kid
  // Signed with the old secret but claiming the new kid: the kid selects, the signature fails.
  CHECK(rolled->verify(forge(claims_json("d-9", "\"driver\""), JWT_ALG_HS256, secret, key_id(next)))
            .code() == errc::unauthenticated);
  // Rotation finished: the old secret is gone.
  auto done = make(next);
  CHECK(done.verify(*old_tok).code() == errc::unauthenticated);
  o.previous_secrets = {"short"};
  CHECK(token_authority::create(
            next, "i", [] { return t0; }, o)
            .code() == errc::bad_config);
}

TEST_CASE_FIXTURE(fixture,
                  "a revoked subject's earlier tokens are refused at once, later ones work") {
  auto list = std::make_shared<revocation_list>();
  token_options o;
  o.revocations = list;
  auto clock = now;
  auto a = token_authority::create(
      secret, "rideshard-test", [clock] { return clock->load(); }, o);
  REQUIRE(a.ok());
  auto tok = a->mint("r-7", role::rider, 600);
  auto other = a->mint("r-8", role::rider, 600);
  REQUIRE(tok.ok());
  REQUIRE(other.ok());
  CHECK(a->verify(*tok).ok());
  list->revoke("r-7", t0);
  CHECK(a->verify(*tok).code() == errc::unauthenticated);
  CHECK(a->verify(*other).ok());  // only that subject
  now->store(t0 + 5);
  auto later = a->mint("r-7", role::rider, 600);
  REQUIRE(later.ok());
  CHECK(a->verify(*later).ok());
  list->revoke("r-7", t0 - 100);  // never moves back
  CHECK(a->verify(*tok).code() == errc::unauthenticated);
}

TEST_CASE_FIXTURE(fixture, "bad role, subject and time claims are refused") {
  const std::string bad[] = {
      claims_json("r-1", ""),               // no role
      claims_json("r-1", "\"superuser\""),  // unknown role
      claims_json("r-1", "\"Rider\""),      // case matters
      claims_json("r-1", "2"),              // role not a string
      claims_json("d-1", "\"rider\""),      // subject does not fit the role
      claims_json("r-1", "\"driver\""),
      claims_json("r-01", "\"rider\""),                               // non-canonical id
      claims_json("", "\"admin\""),                                   // empty subject
      claims_json("r-1", "\"rider\"", "\"rideshard-test\"", t0, t0),  // exp == iat
      R"({"sub":"r-1","role":"rider","iss":"rideshard-test","aud":"rideshard","iat":1700000000})",  // no exp
      R"({"sub":"r-1","role":"rider","iss":"rideshard-test","aud":"rideshard","iat":1700000000,"exp":"1800000000"})",
      R"({"sub":"r-1","role":"rider","iss":"rideshard-test","aud":"rideshard","exp":1700000600})",  // no iat
      R"({"role":"rider","iss":"rideshard-test","aud":"rideshard","iat":1700000000,"exp":1700000600})",  // no sub
  };
  for (const auto& json : bad) {
    CAPTURE(json);
    CHECK(auth.verify(forge(json)).code() == errc::unauthenticated);
  }
}

TEST_CASE_FIXTURE(fixture, "garbage strings are refused without crashing") {
  const std::string garbage[] = {
      "",
      "a",
      "a.b",
      "a.b.c",
      "..",
      "a..c",
      ".b.c",
      "a.b.c.d",
      "eyJhbGciOiJIUzI1NiJ9.e30.e30",
      "not a token at all",
      std::string("abc\0def.ghi.jkl", 15),
      "\xff\xfe.\x80.\x01",
      std::string(5000, 'A'),
      std::string(100, 'A') + "." + std::string(100, 'B') + "." + std::string(43, 'C'),
      b64url("{") + "." + b64url("{}") + ".c2ln",
      b64url(R"({"alg":"HS256"})") + "." + b64url("[1,2]") + ".c2ln"};
  for (const auto& g : garbage) {
    CAPTURE(g);
    CHECK(auth.verify(g).code() == errc::unauthenticated);
  }
}

TEST_CASE_FIXTURE(fixture, "create and mint validate their inputs") {
  auto clock = [] { return t0; };
  CHECK(token_authority::create("short", "iss", clock).code() == errc::bad_config);
  CHECK(token_authority::create(std::string(31, 'x'), "iss", clock).code() == errc::bad_config);
  CHECK(token_authority::create(std::string(32, 'x'), "iss", clock).ok());
  CHECK(token_authority::create(secret, "", clock).code() == errc::bad_config);
  CHECK(token_authority::create(secret, "iss", nullptr).code() == errc::bad_config);
  token_options negative_leeway;
  negative_leeway.leeway_s = -1;
  CHECK(token_authority::create(secret, "iss", clock, negative_leeway).code() == errc::bad_config);

  CHECK(auth.mint("x-1", role::rider, 60).code() == errc::invalid_argument);
  CHECK(auth.mint("d-1", role::rider, 60).code() == errc::invalid_argument);
  CHECK(auth.mint("admin with space", role::admin, 60).code() == errc::invalid_argument);
  CHECK(auth.mint("r-1", role::rider, 0).code() == errc::invalid_argument);
  CHECK(auth.mint("r-1", role::rider, -5).code() == errc::invalid_argument);
  CHECK(auth.mint("r-1", role::rider, 400 * 86400).code() == errc::invalid_argument);
}

TEST_CASE("load_jwt_secret prefers the environment, then the config") {
  const char* var = "RIDESHARD_AUTH_TEST_SECRET_7f3a";
  ::unsetenv(var);
  CHECK(load_jwt_secret(var, "").code() == errc::bad_config);
  CHECK(load_jwt_secret(var, "too-short").code() == errc::bad_config);
  auto from_config = load_jwt_secret(var, secret);
  REQUIRE(from_config.ok());
  CHECK(*from_config == secret);

  ::setenv(var, "env-secret-env-secret-env-secret-0001", 1);
  auto from_env = load_jwt_secret(var, secret);
  REQUIRE(from_env.ok());
  CHECK(*from_env == "env-secret-env-secret-env-secret-0001");
  ::setenv(var, "zq9xk", 1);
  auto short_env = load_jwt_secret(var, secret);
  CHECK(short_env.code() == errc::bad_config);
  CHECK(short_env.err().message.find("zq9xk") == std::string::npos);  // never echo the secret
  ::setenv(var, "", 1);                                               // empty counts as unset
  CHECK(load_jwt_secret(var, secret).ok());
  ::unsetenv(var);
}

TEST_CASE_FIXTURE(fixture, "concurrent verify from several threads") {
  auto tok = auth.mint("d-9", role::driver, 600);
  REQUIRE(tok.ok());
  auto bad = *tok;
  bad.back() = bad.back() == 'A' ? 'B' : 'A';
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (auth.verify(*tok).ok()) ++ok;
        if (!auth.verify(bad).ok()) ++refused;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(ok.load() == 800);
  CHECK(refused.load() == 800);
}
