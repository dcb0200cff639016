// SPDX-License-Identifier: Apache-2.0
/// \file
/// Errors as values: `Error`, its kind `Errc`, and `Result<T>`, spelled like std::expected.

#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace autoscale {

/// The kind of a failure. Callers branch on it; the message is for humans.
enum class Errc {
    InvalidArgument, ///< The caller passed something malformed (bad config, bad request).
    Transport,       ///< The peer could not be reached or the connection broke.
    Timeout,         ///< A deadline passed before the peer answered.
    Unauthorized,    ///< Credentials or token rejected (HTTP 401, AuthFailure, bad signature).
    Forbidden,       ///< Authenticated but not allowed (HTTP 403, UnauthorizedOperation).
    NotFound,        ///< The named thing does not exist (or is not visible yet).
    AlreadyExists,   ///< A unique name is taken (an insert of a name that exists).
    Conflict,        ///< Someone else changed the row first: a compare-and-swap lost.
    NotLeader,       ///< This process is no longer the leader; its write is refused, never retried.
    Throttled,       ///< The peer asked us to slow down (429, 503, RequestLimitExceeded).
    Unavailable,     ///< The peer failed on its side (5xx) or is temporarily unable.
    Capacity,        ///< The cloud has no capacity or quota for this request.
    LimitReached,    ///< A pool's or the fleet's max refused a new server.
    Parse,           ///< A reply or file could not be parsed.
    Io,              ///< A local file or database operation failed.
    HostKey,         ///< An SSH host presented a key other than the one we expect.
    Unsupported,     ///< The peer does not offer this call (HTTP 501: Drone OSS builds).
    Internal,        ///< A library call failed in a way that is not the peer's fault.
};

/// Lower-case name of an Errc, e.g. "not_found".
std::string_view nameOf(Errc code);

/// An expected failure. `requestId` and `httpStatus` are kept when a remote
/// service produced the error; `serviceCode` is the service's own code
/// (e.g. "InsufficientInstanceCapacity").
struct Error {
    Errc code = Errc::Internal;
    std::string message{};
    std::string requestId{};
    int httpStatus = 0;
    std::string serviceCode{};

    /// True when the same request may succeed if sent again unchanged later
    /// (transport, timeout, throttling, 5xx). A lost compare-and-swap
    /// (Conflict) is not: the caller must re-read the row and decide again.
    [[nodiscard]] bool retryable() const;

    friend bool operator==(const Error&, const Error&) = default;
};

// NOLINTBEGIN(readability-identifier-naming): std::expected spelling on purpose.

/// A value or an Error. Ignoring one is a compile error under -Werror.
template <typename T>
class [[nodiscard]] Result {
public:
    using value_type = T;

    // NOLINTNEXTLINE(google-explicit-constructor): `return value;` must work.
    Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
    // NOLINTNEXTLINE(google-explicit-constructor): `return error;` must work.
    Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}

    [[nodiscard]] bool has_value() const { return storage_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & {
        assert(has_value() && "value() on an error Result");
        return std::get<0>(storage_);
    }
    const T& value() const& {
        assert(has_value() && "value() on an error Result");
        return std::get<0>(storage_);
    }
    T&& value() && {
        assert(has_value() && "value() on an error Result");
        return std::get<0>(std::move(storage_));
    }
    [[nodiscard]] const Error& error() const {
        assert(!has_value() && "error() on a successful Result");
        return std::get<1>(storage_);
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    template <typename U>
    T value_or(U&& fallback) const& {
        return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, Error> storage_;
};

/// Success without a value, or an Error.
template <>
class [[nodiscard]] Result<void> {
public:
    using value_type = void;

    Result() = default;
    // NOLINTNEXTLINE(google-explicit-constructor): `return error;` must work.
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    [[nodiscard]] bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    [[nodiscard]] const Error& error() const {
        assert(!ok_ && "error() on a successful Result");
        return error_;
    }

private:
    Error error_{};
    bool ok_ = true;
};

// NOLINTEND(readability-identifier-naming)

/// Shorthand for building an Error.
inline Error makeError(Errc code, std::string message) {
    return Error{.code = code, .message = std::move(message)};
}

} // namespace autoscale
