// A payment service over a real store and token vault in temporary directories,
// the sandbox PSP and an injected clock; reopen() simulates a restart. Every
// test that uses it ends with the ledger's invariants checked (Σdebits = Σcredits,
// balances = their transfers, holds resolved once).
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>

#include "../persistence/file_search.hpp"
#include "payments/payment_service.hpp"
#include "payments/sandbox_psp.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/power_loss.hpp"
#include "store_fixture.hpp"

namespace rideshard::test {

constexpr std::int64_t pay_t0_ms = 1'750'000'000'000;  // 2025-06-15
constexpr const char* test_pan = "4242424242424242";
constexpr const char* test_vault_key =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct payments_fixture {
  temp_dir store_dir;
  temp_dir vault_dir;
  std::shared_ptr<std::atomic<std::int64_t>> clock =
      std::make_shared<std::atomic<std::int64_t>>(pay_t0_ms);
  std::shared_ptr<std::atomic<std::uint64_t>> ids =
      std::make_shared<std::atomic<std::uint64_t>>(1000);
  payments::sandbox_psp psp;
  std::unique_ptr<persistence::store> store;
  std::unique_ptr<persistence::token_vault> vault;
  std::unique_ptr<payments::payment_service> service;
  payments::payment_options options;

  /// Tests only: the store's simulated disk (nullptr: the real one).
  std::shared_ptr<persistence::power_loss_disk> disk;

  /// `on_disk`: the store runs on that simulated disk (power-cut tests).
  explicit payments_fixture(std::shared_ptr<persistence::power_loss_disk> on_disk = nullptr)
      : disk(std::move(on_disk)) {
    options.now_ms = [c = clock] { return c->load(); };
    options.next_id = [i = ids] { return ++*i; };
    options.rules.tax_permille = 80;
    options.rules.commission_permille = 250;
    reopen();
  }
  ~payments_fixture() {
    if (!store) return;
    service.reset();
    auto ok = persistence::ledger(*store).check_invariants();
    CHECK_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.err().message));
  }

  /// Closes everything and opens it again on the same directories (a restart).
  void reopen() {
    service.reset();
    vault.reset();
    store.reset();
    persistence::store_options so;
    so.path = store_dir.path;
    so.power_loss = disk;
    auto opened = persistence::store::open(so);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.err().message));
    store = std::move(*opened);
    persistence::vault_options vo;
    vo.path = vault_dir.path;
    vo.key = *persistence::parse_vault_key(test_vault_key);
    auto v = persistence::token_vault::open(vo);
    REQUIRE(v.ok());
    vault = std::move(*v);
    auto s = payments::payment_service::open(*store, *vault, psp, options);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
    service = std::move(*s);
  }

  payments::method_record add_card(rider_id r, const char* number = test_pan) {
    auto m = service->add_method(r, card_input{number, 12, 2031, "123"});
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.err().message));
    return *m;
  }
};

}  // namespace rideshard::test
