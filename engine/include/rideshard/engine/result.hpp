// result<T>: the return type of every fallible engine function — a value or an
// error (stable code + message). No exceptions cross module boundaries.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "rideshard/engine/errc.hpp"

namespace rideshard {

/// Holds either a T or an error. Cheap to move; not thread-safe (a value type).
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  result(error err) : v_(std::move(err)) {}  // NOLINT: implicit by design
  result(errc code, std::string message) : v_(error{code, std::move(message)}) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  errc code() const noexcept { return ok() ? errc::ok : std::get<1>(v_).code; }

 private:
  std::variant<T, error> v_;
};

/// result<void>: success or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error err) : err_(std::move(err)), ok_(false) {}  // NOLINT: implicit by design
  result(errc code, std::string message) : err_{code, std::move(message)}, ok_(false) {}

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const error& err() const {
    assert(!ok_);
    return err_;
  }
  errc code() const noexcept { return ok_ ? errc::ok : err_.code; }

 private:
  error err_;
  bool ok_ = true;
};

}  // namespace rideshard
