// token_vault: a card number goes in, a token comes out; the vault's files never
// hold the number in clear; the wrong key reads nothing; erase forgets the card.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

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
    CHECK(token.find("4242") == std::string::npos);
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
