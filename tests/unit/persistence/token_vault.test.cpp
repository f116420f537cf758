// token_vault: a card number goes in, a token comes out; the vault's files never
// hold the number in clear; the wrong key reads nothing; erase forgets the card.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "file_search.hpp"
#include "rideshard/persistence/token_vault.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

constexpr const char* pan = "4242424242424242";
constexpr const char* key_a = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* key_b = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::unique_ptr<token_vault> open_vault(const std::string& path, const char* key) {
  vault_options o;
  o.path = path;
  o.key = *parse_vault_key(key);
  auto v = token_vault::open(o);
  REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.err().message));
  return std::move(*v);
}

}  // namespace

TEST_CASE("a card is exchanged for a token and revealed only with the key") {
  test::temp_dir dir;
  std::string token;
  {
    auto v = open_vault(dir.sub("vault"), key_a);
    auto t = v->store_card(pan, 12, 2030);
    REQUIRE(t.ok());
    token = *t;
    CHECK(token.rfind("tok_", 0) == 0);
    CHECK(token.size() == 36);
    // Not derived from the number: no 10-digit window of it appears in the token.
    // (A random 32-hex-digit token holds a given 10-digit string with odds ~1e-10;
    // four digits, as this check once used, turn up about once in 2,000 runs.)
    for (std::size_t i = 0; i + 10 <= std::char_traits<char>::length(pan); ++i)
      CHECK(token.find(std::string(pan + i, 10)) == std::string::npos);
    auto again = v->store_card(pan, 12, 2030);
    REQUIRE(again.ok());
    CHECK(*again != token);  // tokens are random, not derived from the number
    auto card = v->reveal(token);
    REQUIRE(card.ok());
    CHECK(card->number == pan);
    CHECK(card->exp_month == 12);
    CHECK(card->exp_year == 2030);
  }
  // Closed (memtables flushed to SST): nothing on disk holds the number in clear.
  CHECK_FALSE(test::any_file_contains(dir.path(), pan));
  {
    auto wrong = open_vault(dir.sub("vault"), key_b);
    CHECK(wrong->reveal(token).code() == errc::storage_error);
  }
  auto v = open_vault(dir.sub("vault"), key_a);
  REQUIRE(v->reveal(token).ok());
  REQUIRE(v->erase(token).ok());
  CHECK(v->reveal(token).code() == errc::invalid_argument);
  CHECK(v->reveal("tok_nothex").code() == errc::invalid_argument);
  CHECK(v->reveal(pan).code() == errc::invalid_argument);
}

TEST_CASE("vault keys are 64 hex characters and errors never echo them") {
  CHECK(parse_vault_key(key_a).ok());
  auto short_key = parse_vault_key("abcd");
  CHECK(short_key.code() == errc::bad_config);
  auto not_hex = parse_vault_key(std::string(63, '0') + "g");
  CHECK(not_hex.code() == errc::bad_config);
  CHECK(not_hex.err().message.find("000") == std::string::npos);
}

TEST_CASE("personal data is sealed under a per-person key; shredding the key erases it") {
  test::temp_dir dir;
  const std::string secret = "Ada Lovelace <ada@example.org>";
  std::string ada, bob;
  {
    auto v = open_vault(dir.sub("vault"), key_a);
    auto a = v->seal_personal("r-1", secret);
    REQUIRE(a.ok());
    ada = *a;
    CHECK(ada.rfind("p1:", 0) == 0);
    CHECK(ada.find("Ada") == std::string::npos);
    auto b = v->seal_personal("r-2", secret);
    REQUIRE(b.ok());
    bob = *b;
    CHECK(bob != ada);
    // Bound to its subject: r-2 cannot read r-1's data, even with its own key.
    CHECK(v->open_personal("r-2", ada).code() == errc::storage_error);
    CHECK(v->open_personal("r-1", "not sealed").code() == errc::invalid_argument);
  }
  CHECK_FALSE(test::any_file_contains(dir.path(), "Ada Lovelace"));
  CHECK(test::any_file_contains(dir.path(), "pk/r-1"));  // the wrapped key's row
  {
    auto v = open_vault(dir.sub("vault"), key_a);  // keys survive a restart
    auto plain = v->open_personal("r-1", ada);
    REQUIRE(plain.ok());
    REQUIRE(plain->has_value());
    CHECK(**plain == secret);
    CHECK(*v->has_personal_key("r-1"));
    REQUIRE(v->shred_personal("r-1").ok());
    CHECK_FALSE(*v->has_personal_key("r-1"));
    auto gone = v->open_personal("r-1", ada);
    REQUIRE(gone.ok());
    CHECK_FALSE(gone->has_value());
    auto other = v->open_personal("r-2", bob);  // nobody else's data is touched
    REQUIRE(other.ok());
    REQUIRE(other->has_value());
    CHECK(**other == secret);
    CHECK(v->shred_personal("r-404").ok());
    // The key's row is gone from the vault's files, not only hidden by a
    // tombstone: no table or log holds it. (The MANIFEST keeps each table's
    // smallest and largest row name, never a value.)
    for (const auto& f : test::files_containing(dir.path(), "pk/r-1"))
      CHECK_MESSAGE(f.rfind("MANIFEST-", 0) == 0, f);
    CHECK(test::any_file_contains(dir.path(), "pk/r-2"));
  }
  auto v = open_vault(dir.sub("vault"), key_a);
  auto after = v->open_personal("r-1", ada);
  REQUIRE(after.ok());
  CHECK_FALSE(after->has_value());
}
