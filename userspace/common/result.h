// SPDX-License-Identifier: GPL-2.0
// Result<T> and Status: a small expected-like type for library boundaries (no
// exceptions escape dm-tier userspace libraries). g++ 12 in C++20 mode has no
// std::expected.  An Error carries a message and, where the failure came
// from the system or the kernel, its (positive) errno; 0 otherwise.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace dmtier {

struct Error {
	std::string message;
	int code = 0; // positive errno, 0 when not a system error
};

template <typename T>
class [[nodiscard]] Result {
public:
	Result(T value) : v_(std::move(value)) {}
	Result(Error e) : v_(std::move(e)) {}

	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }

	T &value() & { return std::get<0>(v_); }
	const T &value() const & { return std::get<0>(v_); }
	T &&value() && { return std::get<0>(std::move(v_)); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	T &operator*() & { return value(); }
	const T &operator*() const & { return value(); }
	T &&operator*() && { return std::move(*this).value(); }

	const std::string &error() const { return std::get<1>(v_).message; }
	int code() const { return ok() ? 0 : std::get<1>(v_).code; }
	Error take_error() && { return std::get<1>(std::move(v_)); }

private:
	std::variant<T, Error> v_;
};

// Result of an operation with no value.
class [[nodiscard]] Status {
public:
	Status() = default;
	Status(Error e) : err_(std::move(e.message)), code_(e.code), failed_(true) {}
	static Status success() { return {}; }

	bool ok() const { return !failed_; }
	explicit operator bool() const { return ok(); }
	const std::string &error() const { return err_; }
	int code() const { return code_; }

private:
	std::string err_;
	int code_ = 0;
	bool failed_ = false;
};

inline Error make_error(std::string msg, int code = 0) { return Error{std::move(msg), code}; }

} // namespace dmtier
