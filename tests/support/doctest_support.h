// SPDX-License-Identifier: Apache-2.0
/// \file
/// doctest printers for our types, so failed checks show values: an `Errc` by
/// name, an `Error`, a `Server` and a `Plan` field by field. tests/meson.build
/// force-includes this header into every test file, so that every test
/// executable sees the same specialisations.

#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/model.h>
#include <autoscale/provider.h>
#include <autoscale/result.h>

namespace autoscale::test {

/// A wall time as milliseconds since the epoch ("0" for the unset value).
inline std::string describeTime(WallTime t) {
    return std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

/// `text` in double quotes, with quotes, backslashes and control bytes escaped.
inline std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            static constexpr std::string_view kHex = "0123456789abcdef";
            out += "\\x";
            out += kHex[static_cast<unsigned char>(c) >> 4U];
            out += kHex[static_cast<unsigned char>(c) & 0xFU];
        } else {
            out += c;
        }
    }
    return out + '"';
}

/// `[a, b, c]` with each item quoted.
inline std::string describeList(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i == 0 ? "" : ", ") + quoted(items[i]);
    return out + "]";
}

/// Every field of an Error.
inline std::string describe(const Error& e) {
    return "Error{code=" + std::string(nameOf(e.code)) + " message=" + quoted(e.message) +
           " requestId=" + quoted(e.requestId) + " httpStatus=" + std::to_string(e.httpStatus) +
           " serviceCode=" + quoted(e.serviceCode) + "}";
}

/// Every field of a Server; the host private key is shown only as its length.
inline std::string describe(const Server& s) {
    return "Server{name=" + quoted(s.name) + " instanceId=" + quoted(s.instanceId) +
           " provider=" + quoted(s.provider) + " state=" + std::string(nameOf(s.state)) +
           " image=" + quoted(s.image) + " region=" + quoted(s.region) + " size=" + quoted(s.size) +
           " address=" + quoted(s.address) + " capacity=" + std::to_string(s.capacity) +
           " error=" + quoted(s.error) + " clientToken=" + quoted(s.clientToken) +
           " hostKey=" + quoted(s.hostKey) + " hostPrivateKey=<" +
           std::to_string(s.hostPrivateKey.size()) + " bytes>" +
           " created=" + describeTime(s.created) + " updated=" + describeTime(s.updated) +
           " started=" + describeTime(s.started) + " stopped=" + describeTime(s.stopped) +
           " lastBusy=" + describeTime(s.lastBusy) +
           " drainStarted=" + describeTime(s.drainStarted) +
           " version=" + std::to_string(s.version) + "}";
}

/// Every field of a Plan.
inline std::string describe(const Plan& p) {
    return "Plan{pool=" + quoted(p.pool) + " policy=" + std::string(nameOf(p.policy)) +
           " pending=" + std::to_string(p.pending) + " running=" + std::to_string(p.running) +
           " servers=" + std::to_string(p.servers) + " live=" + std::to_string(p.live) +
           " capacity=" + std::to_string(p.capacity) + " wanted=" + std::to_string(p.wanted) +
           " create=" + std::to_string(p.create) + " drain=" + describeList(p.drain) +
           " reasons=" + describeList(p.reasons) + "}";
}

} // namespace autoscale::test

namespace autoscale {

// doctest 2.4 prints every enum as its underlying integer and never asks
// StringMaker; these overloads, found by argument-dependent lookup, print the
// enumerator's name instead. NOLINTBEGIN(readability-identifier-naming)

/// An Errc by name ("not_found") in failed checks.
inline doctest::String toString(Errc value) {
    return doctest::String(std::string(nameOf(value)).c_str());
}

/// A ServerState by name in failed checks.
inline doctest::String toString(ServerState value) {
    return doctest::String(std::string(nameOf(value)).c_str());
}

/// An InstanceState by name in failed checks.
inline doctest::String toString(InstanceState value) {
    return doctest::String(std::string(nameOf(value)).c_str());
}

/// A Policy by name in failed checks.
inline doctest::String toString(Policy value) {
    return doctest::String(std::string(nameOf(value)).c_str());
}

// NOLINTEND(readability-identifier-naming)

} // namespace autoscale

namespace doctest {

template <>
struct StringMaker<autoscale::Errc> {
    static String convert(autoscale::Errc value) {
        return String(std::string(autoscale::nameOf(value)).c_str());
    }
};

template <>
struct StringMaker<autoscale::Error> {
    static String convert(const autoscale::Error& value) {
        return String(autoscale::test::describe(value).c_str());
    }
};

template <>
struct StringMaker<autoscale::Server> {
    static String convert(const autoscale::Server& value) {
        return String(autoscale::test::describe(value).c_str());
    }
};

template <>
struct StringMaker<autoscale::Plan> {
    static String convert(const autoscale::Plan& value) {
        return String(autoscale::test::describe(value).c_str());
    }
};

template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& value) {
        return String(autoscale::test::describeList(value).c_str());
    }
};

template <>
struct StringMaker<autoscale::ServerState> {
    static String convert(autoscale::ServerState value) {
        return String(std::string(autoscale::nameOf(value)).c_str());
    }
};

template <>
struct StringMaker<autoscale::InstanceState> {
    static String convert(autoscale::InstanceState value) {
        return String(std::string(autoscale::nameOf(value)).c_str());
    }
};

template <>
struct StringMaker<std::string_view> {
    static String convert(std::string_view value) { return String(std::string(value).c_str()); }
};

} // namespace doctest
